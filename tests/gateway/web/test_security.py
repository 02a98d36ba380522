"""The security review's requests (issue 13), replayed against a gateway in production mode.

Each test is a request the review made as an outsider, a committee member or a district user,
and asserts that it is now refused or harmless (docs/security.md lists them).
"""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from gateway.infra.settings import load_settings
from gateway.record.models import Contact, Message
from routing.ladder import Ladder
from tests.conftest import WEBHOOK_TOKEN

AMTOLA, RANCHI = 9001111, 9001
PRODUCTION = {"CPGW_ENV": "production", "CPGW_SECRET_KEY": "s" * 40, "AT_USERNAME": "cpgw", "AT_API_KEY": "k"}


def post_sms(field, phone: str, text: str, **kwargs):  # type: ignore[no-untyped-def]
    return field.client.post("/webhooks/at/sms", data={
        "id": str(uuid.uuid4()), "from": phone, "to": "1098", "text": text, "date": "2026-12-06 10:00:00"}, **kwargs)


# --- 1. webhooks in production -----------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "short-token", "changeme"])
def test_production_refuses_to_start_without_a_long_webhook_token(token):
    environ = {**PRODUCTION, **({"CPGW_WEBHOOK_TOKEN": token} if token is not None else {})}
    with pytest.raises(ValueError, match="CPGW_WEBHOOK_TOKEN"):
        load_settings(environ)
    assert load_settings({**PRODUCTION, "CPGW_WEBHOOK_TOKEN": WEBHOOK_TOKEN}).webhook_token == WEBHOOK_TOKEN


def test_a_spoofed_done_without_the_token_changes_nothing(production_field):
    field = production_field
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    sjpu = field.contacts("SJPU", RANCHI)[0]
    field.expect_sms(sjpu, ref)
    for kwargs in ({}, {"params": {"token": "wrong"}}, {"headers": {"X-Webhook-Token": WEBHOOK_TOKEN[:-1]}}):
        refused = post_sms(field, sjpu, f"DONE {ref}", **kwargs)
        assert refused.status_code == 403
        assert sjpu not in refused.text and ref not in refused.text
    field.run()
    assert field.case(ref).status == "open"
    field.expect_no_sms(sjpu)


def test_a_ussd_report_without_the_token_is_refused(production_field):
    response = production_field.client.post("/webhooks/at/ussd", data={
        "sessionId": "ATUid_x", "phoneNumber": "+919800000001", "networkCode": "1", "serviceCode": "*1#", "text": ""})
    assert response.status_code == 403 and response.text.startswith("END")


def test_the_query_token_works_for_africas_talking_and_never_reaches_a_log(production_field, caplog):
    field = production_field
    caplog.set_level(logging.DEBUG)
    answer = field.client.post("/webhooks/at/ussd", params={"token": WEBHOOK_TOKEN}, data={
        "sessionId": "ATUid_q", "phoneNumber": "+919800000001", "networkCode": "1", "serviceCode": "*1#", "text": ""})
    assert answer.status_code == 200 and answer.text.startswith("CON")
    assert post_sms(field, "+919800000002", "HELP", params={"token": WEBHOOK_TOKEN}).status_code == 200
    assert post_sms(field, "+919800000002", "HELP", params={"token": "wrong-" + WEBHOOK_TOKEN}).status_code == 403
    ours = [record for record in caplog.records if not record.name.startswith("httpx")]  # not the test's client
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in ours)
    assert WEBHOOK_TOKEN not in logged
    field.stub.clear()


def test_the_sms_webhook_answers_the_same_bare_200_to_everyone(production_field):
    """The old JSON answer (`not_alerted`, `resolved`, `villager …`) told a caller who is a committee contact."""
    field = production_field
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    vcpc = field.contacts("VCPC", AMTOLA)[0]
    outsider = field.contacts("DCPU", 9101)[0]
    answers = {(r.status_code, r.content, r.headers.get("content-type")) for r in (
        post_sms(field, vcpc, f"STATUS {ref}", headers={"X-Webhook-Token": WEBHOOK_TOKEN}),
        post_sms(field, outsider, f"ACK {ref}", headers={"X-Webhook-Token": WEBHOOK_TOKEN}),
        post_sms(field, "+919812345678", f"ACK {ref}", headers={"X-Webhook-Token": WEBHOOK_TOKEN}),
        field.client.post("/webhooks/at/sms/delivery", headers={"X-Webhook-Token": WEBHOOK_TOKEN},
                          data={"id": "ATXid_unknown", "status": "Success"}),
    )}
    assert answers == {(200, b"", None)}
    field.stub.clear()


# --- 4. deactivated contacts ---------------------------------------------------------------------------


def test_a_deactivated_contact_cannot_acknowledge(production_field):
    field = production_field
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    first, second = field.contacts("VCPC", AMTOLA)
    field.expect_sms(first, ref)
    field.expect_sms(second, ref)
    with Session(field.services.engine) as session:
        session.execute(update(Contact).where(col(Contact.phone) == first).values(active=False))
        session.commit()
    field.reply(first, f"ACK {ref}")  # a recycled SIM, or a member who left
    assert field.case(ref).status == "open"
    answer = field.expect_sms(first)  # the villagers' menu: nothing about the case
    assert ref not in answer
    field.reply(second, f"ACK {ref}")
    assert field.case(ref).status == "acknowledged"
    field.expect_sms(second, ref)
    field.assert_quiet()


# --- 5. closing and re-paging ----------------------------------------------------------------------


def test_only_the_unit_that_acknowledged_can_close_a_case(production_field):
    field = production_field
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    dcpu, sjpu = field.contacts("DCPU", RANCHI)[0], field.contacts("SJPU", RANCHI)[0]
    field.stub.clear()
    field.reply(sjpu, f"DONE {ref} handled")  # the SJPU's DONE closed a POCSO case outright
    assert field.case(ref).status == "open"
    assert "ACK" in field.stub.messages_to(sjpu)[-1]
    field.reply(dcpu, f"ACK {ref}")
    field.reply(sjpu, f"DONE {ref}")
    assert field.case(ref).status == "acknowledged"
    field.reply(dcpu, f"DONE {ref} child safe with relatives")
    assert field.case(ref).status == "closure_proposed"  # the district checks before it closes


def test_esc_cannot_be_used_to_page_a_step_again_and_again(production_field):
    field = production_field
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    ladder = Ladder.from_dict(field.case(ref).ladder)
    first = sorted({c.phone for c in ladder.steps[0].contacts})
    dcpu = field.contacts("DCPU", RANCHI)[0]
    assert dcpu in first
    for phone in first:
        field.expect_sms(phone, ref)
    field.reply(dcpu, f"ACK {ref}")
    field.expect_sms(dcpu, ref)
    for _ in range(3):  # three ESC re-opened the case and paged three steps
        field.reply(dcpu, f"ESC {ref} need the police")
    alerts = [m for m in field.messages(ref) if m.kind in ("alert", "reminder")]
    assert len(alerts) == len(first) + len(ladder.steps[1].contacts)  # the first alerts, and one step for the one ESC
    assert field.case(ref).status == "open" and field.case(ref).step == 1
    field.stub.clear()


def test_esc_at_the_top_before_its_deadline_pages_nobody_again(production_field):
    field = production_field
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    ladder = Ladder.from_dict(field.case(ref).ladder)
    for step in ladder.steps[:-1]:  # let every step's deadline pass: the case climbs to the top
        field.advance(minutes=step.ack_within / 60 + 1)
    top = ladder.steps[-1]
    assert field.case(ref).step == top.index
    member = top.contacts[0].phone
    before = len([m for m in field.messages(ref) if m.kind in ("alert", "reminder")])
    field.reply(member, f"ESC {ref}")
    field.expect_sms(member, ref)  # the reply, and no second round of the top step
    assert len([m for m in field.messages(ref) if m.kind in ("alert", "reminder")]) == before
    field.stub.clear()


def test_esc_on_a_case_another_unit_took_up_changes_nothing(production_field):
    field = production_field
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    dcpu, cwc = field.contacts("DCPU", RANCHI)[0], field.contacts("CWC", RANCHI)[0]
    field.reply(dcpu, f"ACK {ref}")
    field.reply(cwc, f"ESC {ref}")
    assert field.case(ref).status == "acknowledged"
    with Session(field.services.engine) as session:
        reminders = session.exec(select(Message).where(col(Message.kind) == "reminder")).all()
    assert reminders == []
    field.stub.clear()


# --- 2. directory imports across districts ------------------------------------------------------------


def _token(engine, role: str, district: int | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from gateway.web.auth import create_token

    return {"Authorization": f"Bearer {create_token(engine, role=role, district_lgd=district, name=role)}"}


def _place(engine, code: int, level: str = "village"):  # type: ignore[no-untyped-def]
    from gateway.record.models import Place

    with Session(engine) as session:
        return session.get(Place, {"level": level, "lgd_code": code})


def test_a_district_cannot_re_home_another_districts_village(client, engine):
    """The Ranchi token imported `9101111,village,Amtola,900111` and the Purulia village sat in Ranchi."""
    ranchi = _token(engine, "district", RANCHI)
    files = {"places": ("places.csv", b"lgd_code,level,name,parent_lgd_code\n9101111,village,Amtola,900111\n", "text/csv")}
    for dry_run in ("true", "false"):
        refused = client.post(f"/api/v1/directory/import?dry_run={dry_run}", files=files, headers=ranchi)
        assert refused.status_code == 400 and refused.json()["applied"] is False
        assert "9101111" in refused.json()["problems"][0] and "another district" in refused.json()["problems"][0]
    village = _place(engine, 9101111)
    assert (village.parent_lgd_code, village.district_lgd) == (910111, 9101)
    assert village.names == {"hi": "आमतोला", "bn": "আমতলা"}


def test_a_district_cannot_move_its_own_village_out(client, engine):
    ranchi = _token(engine, "district", RANCHI)
    files = {"places": ("places.csv", b"lgd_code,level,name,parent_lgd_code\n9001111,village,Amtola,910111\n", "text/csv")}
    refused = client.post("/api/v1/directory/import?dry_run=false", files=files, headers=ranchi)
    assert refused.status_code == 400 and "would be outside your district" in refused.json()["problems"][0]
    assert _place(engine, 9001111).district_lgd == RANCHI


def test_a_partial_import_never_blanks_what_it_does_not_carry(client, engine):
    from gateway.record.models import Contact

    admin = _token(engine, "admin")
    places = {"places": ("places.csv", "lgd_code,level,name,parent_lgd_code,name_hi\n"
                         "9001111,village,Amtola,900111,अमतोला\n".encode(), "text/csv")}
    assert client.post("/api/v1/directory/import?dry_run=false", files=places, headers=admin).status_code == 200
    assert _place(engine, 9001111).names == {"hi": "अमतोला", "bn": "আমতলা"}  # Bengali kept, Hindi corrected
    with Session(engine) as session:
        before = session.exec(select(Contact).where(Contact.place_lgd_code == 9101111)).first()
    line = f"name,phone,unit,place_lgd_code\nRenamed,{before.phone},{before.unit},9101111\n".encode()
    contacts = {"contacts": ("contacts.csv", line, "text/csv")}
    assert client.post("/api/v1/directory/import?dry_run=false", files=contacts, headers=admin).status_code == 200
    with Session(engine) as session:
        after = session.get(Contact, before.id)
    assert (after.name, after.language, after.role, after.active) == ("Renamed", before.language, before.role, True)
    assert before.language == "bn" and before.role


def test_a_moved_panchayat_takes_its_villages_along(client, engine):
    """An admin moving a gram panchayat to another block: its villages' block must follow (routing reads it)."""
    admin = _token(engine, "admin")
    files = {"places": ("places.csv", b"lgd_code,level,name,parent_lgd_code\n900111,gram_panchayat,Pipra,90012\n",
                        "text/csv")}
    assert client.post("/api/v1/directory/import?dry_run=false", files=files, headers=admin).status_code == 200
    assert _place(engine, 900111, "gram_panchayat").block_lgd == 90012
    assert [_place(engine, code).block_lgd for code in (9001111, 9001112, 9001113)] == [90012] * 3
    assert _place(engine, 9001121).block_lgd == 90011  # the other panchayat's villages stay


# --- 7. per-phone limits on USSD ---------------------------------------------------------------------


def test_ussd_has_the_same_per_phone_limits_as_sms(production_field):
    """One phone made 7 cases and 20 alerts in seconds over USSD, and 30 status look-ups."""
    from gateway.devtools.simulate import Phone

    field = production_field
    phone = "+919833300001"
    refs = [field.report(village=AMTOLA, concern="other", callback=False, phone=phone) for _ in range(3)]
    fourth = Phone(field.client, number=phone, token=field.token).dial().press("1", "1", str(AMTOLA), "2", "2", "2", "1")
    assert fourth.ended and "limit" in fourth.screen and "112" in fourth.screen
    assert len({field.case(ref).id for ref in refs}) == 1  # repeats from one phone link to its open case
    def check() -> str:
        handset = Phone(field.client, number="+919833300002", token=field.token).dial()
        if handset.screen.startswith("CON Language"):
            handset.press("1")
        return handset.press("2", refs[0]).screen

    for _ in range(5):
        assert refs[0] in check()
    limited = check()
    assert "limit" in limited and refs[0] not in limited
    field.stub.clear()


# --- 12. the API's resolve ---------------------------------------------------------------------------


def test_the_api_resolves_only_with_a_known_outcome(client, engine):
    from gateway.devtools.simulate import Phone

    admin = _token(engine, "admin")
    handset = Phone(client, number="+919833300003").dial().press("1", "1", "1", str(AMTOLA), "2", "2", "2", "1")
    ref = next(word for word in handset.screen.replace(".", " ").split() if word.isdigit() and len(word) >= 6)
    for outcome, note in (("x", ""), ("closed by hacker", "x"), ("other", "")):
        refused = client.post(f"/api/v1/cases/{ref}/resolve", json={"outcome": outcome, "note": note}, headers=admin)
        assert refused.status_code == 400 and ("outcome" in refused.text or "note" in refused.text)
    assert client.get(f"/api/v1/cases/{ref}", headers=admin).json()["status"] == "open"
    done = client.post(f"/api/v1/cases/{ref}/resolve", json={"outcome": "rescued"}, headers=admin)
    assert done.status_code == 200 and done.json()["status"] == "resolved"


# --- 9 and 14. cookies, docs and metrics in production -------------------------------------------------


@pytest.fixture
def production_client(settings, demo):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from gateway.web.app import create_app
    environ = {**settings.as_environ(), **PRODUCTION, "CPGW_WEBHOOK_TOKEN": WEBHOOK_TOKEN}
    with TestClient(create_app(load_settings(environ))) as client:
        yield client


def test_the_session_cookie_is_secure_in_production_even_behind_an_untrusted_proxy(production_client, engine):
    from gateway.web.console.users import create_user

    create_user(engine, username="meera", password="correct horse battery", role="district", district_lgd=RANCHI)
    form = production_client.get("/console/login")  # plain http, as from a proxy not in CPGW_TRUSTED_PROXIES
    assert "Secure" in form.headers["set-cookie"]
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    cookie = form.headers["set-cookie"].split(";")[0]  # a browser would not send a Secure cookie over http
    production_client.cookies.clear()
    signed_in = production_client.post("/console/login", data={"username": "meera", "password": "correct horse battery",
                                                               "csrf_token": csrf}, headers={"cookie": cookie},
                                       follow_redirects=False)
    assert signed_in.status_code == 303 and "Secure" in signed_in.headers["set-cookie"]


def test_trusted_proxies_reach_uvicorn():
    settings = load_settings({"CPGW_TRUSTED_PROXIES": " 10.0.0.5, 172.16.0.0/12 "})
    assert settings.forwarded_allow_ips == "10.0.0.5,172.16.0.0/12"
    assert load_settings({}).forwarded_allow_ips == "127.0.0.1"


def test_docs_and_openapi_are_off_and_metrics_need_a_token_in_production(production_client, engine):
    assert production_client.get("/docs").status_code == 404
    assert production_client.get("/openapi.json").status_code == 404
    assert production_client.get("/metrics").status_code == 401
    assert production_client.get("/metrics", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    viewer = _token(engine, "viewer")
    metrics = production_client.get("/metrics", headers=viewer)
    assert metrics.status_code == 200 and "cpgw_" in metrics.text


def test_docs_in_development_load_nothing_from_the_internet(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text and "https://" not in page.text.replace("https://fastapi.tiangolo.com", "")
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/static/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").json()["paths"]


# --- 8. the SMS transport ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", [{}, {"CPGW_SMS_TRANSPORT": "console"}, {"AT_API_KEY": ""}])
def test_production_refuses_the_console_transport(transport):
    environ = {**PRODUCTION, "CPGW_WEBHOOK_TOKEN": WEBHOOK_TOKEN, **transport}
    if not transport:
        environ = {k: v for k, v in environ.items() if not k.startswith("AT_")}
    with pytest.raises(ValueError, match="transport|AT_API_KEY"):
        load_settings(environ)


def test_the_console_transport_masks_numbers():
    import io

    from gateway.referrals.transport import ConsoleTransport

    out = io.StringIO()
    ConsoleTransport(out).send("+919876543210", "Report 123456782 sent")
    assert "9876543210" not in out.getvalue() and "123456782" in out.getvalue() and "+9198" in out.getvalue()
