"""The directory page: scope, contact edits (audited), deactivation, CSV import with a preview,
failing phones and coverage gaps."""

from __future__ import annotations

import io
import re
import uuid

from sqlmodel import Session, select

from gateway.infra.phones import to_e164
from gateway.record.models import ConsoleAudit, Contact, Message

PLACES_HEADER = "lgd_code,level,name,parent_lgd_code\n"
CONTACTS_HEADER = "name,phone,unit,place_lgd_code,role,language,active\n"


def contact_id(engine, phone: str, unit: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.exec(select(Contact).where(Contact.phone == phone, Contact.unit == unit)).one().id


def test_a_district_user_sees_and_edits_only_their_district(browser, engine):
    meera = browser("ranchi")
    page = meera.get("/console/directory?district=9101").text  # asking for Purulia changes nothing
    assert "DEMO DCPO Ranchi" in page and "Purulia" not in page.split("<h2>Contacts</h2>")[1]
    purulia_dcpo = _any(engine, 9101)
    assert meera.get(f"/console/directory/contacts/{purulia_dcpo}").status_code == 404
    assert meera.post(f"/console/directory/contacts/{purulia_dcpo}", {"name": "x", "phone": "+917999000999"}).status_code == 404
    assert meera.post(f"/console/directory/contacts/{purulia_dcpo}/deactivate").status_code == 404


def _exists(engine, phone: str) -> bool:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.exec(select(Contact).where(Contact.phone == phone)).first() is not None


def _any(engine, district: int) -> int:  # type: ignore[no-untyped-def]
    from gateway.record.models import Place

    with Session(engine) as session:
        return session.exec(select(Contact).join(Place, Place.lgd_code == Contact.place_lgd_code)
                            .where(Place.district_lgd == district)).first().id


def test_editing_a_contact_is_audited_and_routes_new_alerts_at_once(browser, engine, client):
    meera = browser("ranchi")
    dcpo = contact_id(engine, "+917000000101", "DCPU")
    meera.get(f"/console/directory/contacts/{dcpo}")
    saved = meera.post(f"/console/directory/contacts/{dcpo}", {
        "name": "DEMO DCPO Ranchi", "phone": "07999000199", "role": "DCPO", "language": "bn", "active": "yes"})
    assert saved.status_code == 303
    with Session(engine) as session:
        row = session.get(Contact, dcpo)
        audit = session.exec(select(ConsoleAudit)).all()
    assert (row.phone, row.language) == ("+917999000199", "bn")
    assert audit[-1].actor == "Meera Devi (meera)" and audit[-1].detail["changes"]["phone"] == ["+917000000101", "+917999000199"]
    ladder = client.app.state.services.referrals.plan(9001111, "sexual_abuse", True)
    assert "+917999000199" in {c.phone for c in ladder.steps[0].contacts}


def test_a_bad_phone_or_a_duplicate_is_refused(browser, engine):
    admin = browser("admin")
    dcpo = contact_id(engine, "+917000000101", "DCPU")
    admin.get(f"/console/directory/contacts/{dcpo}")
    bad = admin.post(f"/console/directory/contacts/{dcpo}", {"name": "x", "phone": "12", "active": "yes"})
    assert bad.status_code == 400 and "not a phone number" in bad.text
    duplicate = admin.post(f"/console/directory/contacts/{dcpo}", {"name": "x", "phone": "+917000000102", "active": "yes"})
    assert duplicate.status_code == 400 and "already has that phone" in duplicate.text
    with Session(engine) as session:
        assert session.get(Contact, dcpo).phone == "+917000000101"


def test_deactivating_a_contact_stops_its_alerts(browser, engine, client):
    meera = browser("ranchi")
    officer = contact_id(engine, "+917000000102", "DCPU")
    meera.get("/console/directory")
    assert meera.post(f"/console/directory/contacts/{officer}/deactivate").status_code == 303
    with Session(engine) as session:
        assert session.get(Contact, officer).active is False
    ladder = client.app.state.services.referrals.plan(9001111, "sexual_abuse", True)
    assert "+917000000102" not in {c.phone for c in ladder.steps[0].contacts}


def test_the_viewer_cannot_edit_the_directory(browser, engine):
    viewer = browser("viewer")
    page = viewer.get("/console/directory?district=9001").text
    assert "Import CSV" not in page and "deactivate</button>" not in page
    dcpo = contact_id(engine, "+917000000101", "DCPU")
    assert viewer.post(f"/console/directory/contacts/{dcpo}/deactivate").status_code == 403


def _upload(person, places: str | None = None, contacts: str | None = None, **form):  # type: ignore[no-untyped-def]
    files = {}
    if places is not None:
        files["places"] = ("places.csv", io.BytesIO(places.encode()), "text/csv")
    if contacts is not None:
        files["contacts"] = ("contacts.csv", io.BytesIO(contacts.encode()), "text/csv")
    return person.client.post("/console/directory/import", data={"csrf_token": person.csrf, "action": "preview", **form},
                              files=files, follow_redirects=False)


def test_an_import_is_previewed_then_applied(browser, engine):
    meera = browser("ranchi")
    meera.get("/console/directory")
    places = PLACES_HEADER + "9001114,village,Dhurwa,900111\n9001111,village,Amtola Basti,900111\n"
    contacts = CONTACTS_HEADER + "DEMO Anganwadi worker Dhurwa,+917999000191,VCPC,9001114,member-secretary,hi,yes\n"
    preview = _upload(meera, places, contacts)
    assert preview.status_code == 200
    text = preview.text
    assert "Places: 1 new, 1 changed, 0 unchanged" in text and "Contacts: 1 new, 0 changed" in text
    assert "Amtola Basti" in text
    assert not _exists(engine, "+917999000191")  # a preview writes nothing
    kept = {name: re.search(rf'name="{name}" value="([^"]*)"', text).group(1) for name in ("places_b64", "contacts_b64")}
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    applied = meera.client.post("/console/directory/import", data={"csrf_token": token, "action": "apply", **kept})
    assert applied.status_code == 200 and "Imported" in applied.text
    assert _exists(engine, "+917999000191")
    with Session(engine) as session:
        assert session.exec(select(ConsoleAudit).where(ConsoleAudit.action == "directory_import")).one().actor == "Meera Devi (meera)"


def test_an_import_with_a_bad_row_shows_its_line_and_writes_nothing(browser, engine):
    meera = browser("ranchi")
    meera.get("/console/directory")
    contacts = CONTACTS_HEADER + ("DEMO new,+917999000192,VCPC,9001111,member,hi,yes\n"
                                  "DEMO bad,not-a-phone,VCPC,9001111,member,hi,yes\n")
    refused = _upload(meera, contacts=contacts)
    assert refused.status_code == 400 and "contacts.csv line 3" in refused.text and "Nothing was imported" in refused.text
    assert not _exists(engine, "+917999000192")


def test_a_district_user_cannot_import_into_another_district(browser, engine):
    meera = browser("ranchi")
    meera.get("/console/directory")
    contacts = CONTACTS_HEADER + "DEMO intruder,+917999000193,DCPU,9101,DCPO,bn,yes\n"
    refused = _upload(meera, contacts=contacts)
    assert refused.status_code == 400 and "outside your district" in refused.text
    forced = _upload(meera, contacts=contacts, action="apply")
    assert forced.status_code == 400 and not _exists(engine, "+917999000193")
    admin = browser("admin")
    admin.get("/console/directory")
    assert _upload(admin, contacts=contacts, action="apply").status_code == 200 and _exists(engine, "+917999000193")


def test_phones_whose_sms_keep_failing_are_listed_in_scope(browser, engine, cases):
    from gateway.record.models import Case

    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == cases["ranchi"])).one()
        for _ in range(3):
            session.add(Message(id=uuid.uuid4().hex, dedupe_key=uuid.uuid4().hex, case_id=case.id, direction="out",
                                kind="alert", to_phone="+917000000105", unit="BCPC", body="x", status="failed",
                                failure_reason="AbsentSubscriber"))
        session.commit()
    ranchi = browser("ranchi").get("/console/directory").text.split("Phones whose SMS keep failing")[1]
    assert "+917000000105" in ranchi and "AbsentSubscriber" in ranchi and "DEMO BCPC Kanke" in ranchi
    purulia = browser("purulia").get("/console/directory").text.split("Phones whose SMS keep failing")[1]
    assert "+917000000105" not in purulia.split("Coverage gaps")[0]


def test_places_of_the_district_with_their_villages(browser):
    page = browser("ranchi").get("/console/directory").text.split("<h2>Places</h2>")[1].split("<h2>")[0]
    assert "Kanke" in page and "Ormanjhi" in page and "Villages of Kanke (7)" in page and "9001199" in page


def test_coverage_gaps_of_the_district(browser):
    page = browser("ranchi").get("/console/directory").text.split("<h2>Coverage gaps</h2>")[1]
    assert "VCPC" in page and "Tilaiya" in page


def test_the_phone_helper_agrees_with_the_import(engine):
    assert to_e164("07999000199") == "+917999000199"
