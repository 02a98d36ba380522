"""After ACK, as the field lives it: duties recorded by SMS and the API, chased up the ladder when
missed, a named worker, a closure the district checks, and a case reopened by a new report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from gateway.infra import keys
from gateway.infra.clock import as_datetime
from gateway.record.models import CaseDuty, CaseEvent
from gateway.web.auth import create_token
from gateway.web.console.users import create_user

AMTOLA, KANKE, RANCHI = 9001111, 90011, 9001
PURULIA_VILLAGE, PURULIA = 9101111, 9101
KANKE_PS = 7001


def api(field, role: str = "district", district: int | None = RANCHI, name: str = "Meera (DCPO)") -> dict[str, str]:
    token = create_token(field.services.engine, role=role, district_lgd=district if role == "district" else None,
                         name=name)
    return {"Authorization": f"Bearer {token}"}


def duties(field, ref: str) -> dict[str, CaseDuty]:
    case = field.case(ref)
    with Session(field.services.engine) as session:
        return {d.key: d for d in session.exec(select(CaseDuty).where(CaseDuty.case_id == case.id))}


def kinds(field, ref: str) -> list[str]:
    case = field.case(ref)
    with Session(field.services.engine) as session:
        return [e.kind for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def drain(field) -> None:
    """Mark every SMS sent so far as seen (the alerts of the report itself)."""
    field.seen.update(s.message_id for s in field.stub.sent)


def test_pocso_fir_by_sms_then_a_missed_cwc_duty_climbs_to_the_dcpo(field):
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    sjpu, station = field.contacts("SJPU", RANCHI)[0], field.contacts("POLICE_STATION", KANKE_PS)[0]
    dcpo = field.contacts("DCPO", RANCHI)
    drain(field)
    field.reply(sjpu, f"ACK {ref}")
    field.expect_sms(sjpu, ref)
    owed = duties(field, ref)
    assert {"fir", "cwc_court_informed", "medical", "home_visit", "social_investigation"} <= set(owed)
    assert owed["fir"].due_at.replace(tzinfo=None) == field.case(ref).created_at.replace(tzinfo=None) + timedelta(hours=24)

    field.reply(station, f"एफआईआर {ref} 45/2026 कांके थाना")  # the police station records the FIR, in Hindi
    assert "दर्ज" in field.expect_sms(station, ref)  # "… एफआईआर दर्ज हो गया"
    fir = duties(field, ref)["fir"]
    assert (fir.status, fir.details) == ("done", "45/2026 कांके थाना") and "SMS" in (fir.done_by or "")
    field.reply(sjpu, f"MEDICAL {ref}")  # the SJPU owes the medical too
    field.expect_sms(sjpu, ref)

    field.advance(hours=25)  # the CWC and the Special Court were not told within 24 hours (POCSO s.19(6))
    for phone in (sjpu, station):
        text = field.expect_sms(phone, ref, "INFORMED")  # its owners are reminded, with the word to send
        assert "45/2026" not in text
    assert duties(field, ref)["cwc_court_informed"].overdue
    listed = field.client.get("/api/v1/cases?duty_overdue=true", headers=api(field)).json()
    assert [c["ref"] for c in listed] == [ref]
    late = next(d for d in listed[0]["duties"] if d["key"] == "cwc_court_informed")
    assert late["overdue"] and late["owner"] == ["POLICE_STATION", "SJPU"] and late["done_at"] is None

    field.advance(hours=12)  # still not done: one step up the ladder, the DCPO in person
    for phone in dcpo:
        field.expect_sms(phone, ref)
    assert "duty_overdue" in kinds(field, ref)
    field.reply(station, f"informed {ref} CWC Ranchi and POCSO court, GD 17")
    field.expect_sms(station, ref)
    assert not field.client.get("/api/v1/cases?duty_overdue=true", headers=api(field)).json()


def test_a_stranger_or_another_unit_cannot_record_a_duty_and_a_re_post_has_one_effect(field):
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    sjpu, cwc = field.contacts("SJPU", RANCHI)[0], field.contacts("CWC", RANCHI)[0]
    drain(field)
    field.reply(sjpu, f"ACK {ref}")
    field.expect_sms(sjpu, ref)
    field.reply("+919899999999", f"FIR {ref} 1/2026")  # a stranger: a villager's channel, learns nothing
    assert ref not in field.expect_sms("+919899999999")  # the villagers' menu, nothing about the case
    field.reply(cwc, f"FIR {ref} 1/2026")  # the CWC does not register FIRs
    assert "एफआईआर दूसरी इकाई" in field.expect_sms(cwc, ref)  # "… is another unit's duty", in Hindi
    assert duties(field, ref)["fir"].status == "open"
    field.reply(sjpu, f"FIR {ref} 2/2026", sms_id="at-repost-1")
    field.reply(sjpu, f"FIR {ref} 2/2026", sms_id="at-repost-1")  # Africa's Talking posts it again
    field.expect_sms(sjpu, ref)
    assert kinds(field, ref).count("duty_done") == 1
    field.assert_quiet()


def test_bengali_keywords_and_replies(field):
    ref = field.report(village=PURULIA_VILLAGE, concern="missing_child", urgent=True, callback=False)
    police = field.contacts("SJPU", PURULIA)[0]
    drain(field)
    field.reply(police, f"ACK {ref}")
    field.expect_sms(police, ref)
    field.reply(police, f"এফআইআর {ref} ১২/২০২৬")
    assert "নথিভুক্ত" in field.expect_sms(police, ref)
    assert duties(field, ref)["fir"].details == "12/2026"  # Bengali digits read as digits


def test_api_records_marks_not_applicable_and_moves_a_date(field):
    ref = field.report(village=AMTOLA, concern="child_marriage", urgent=False, callback=False)
    staff = api(field)
    assert field.client.post(f"/api/v1/cases/{ref}/duties/marriage_stopped", json={"details": "x"},
                             headers=staff).status_code == 409  # nobody took it up yet
    field.client.post(f"/api/v1/cases/{ref}/acknowledge", json={"unit": "DCPU"}, headers=staff)
    wedding = as_datetime(field.clock.now()) + timedelta(days=9)
    moved = field.client.post(f"/api/v1/cases/{ref}/duties/marriage_stopped", headers=staff,
                              json={"due_at": wedding.isoformat()})
    stop = next(d for d in moved.json()["duties"] if d["key"] == "marriage_stopped")
    assert stop["due_at"].startswith(wedding.strftime("%Y-%m-%dT%H:%M"))
    naive = field.client.post(f"/api/v1/cases/{ref}/duties/marriage_stopped", headers=staff,
                              json={"due_at": "2026-12-20T10:00:00"})
    assert naive.status_code == 400 and "time zone" in naive.json()["detail"]
    assert field.client.post(f"/api/v1/cases/{ref}/duties/social_investigation", json={"not_applicable": True},
                             headers=staff).status_code == 400  # a reason is needed
    body = field.client.post(f"/api/v1/cases/{ref}/duties/social_investigation", headers=staff,
                             json={"not_applicable": True, "reason": "the CWC closed it at the first sitting"}).json()
    na = next(d for d in body["duties"] if d["key"] == "social_investigation")
    assert na["status"] == "not_applicable" and na["done_by"] == "Meera (DCPO)"
    assert na["details"] == "the CWC closed it at the first sitting"  # the contract's `reason`
    assert field.client.post(f"/api/v1/cases/{ref}/duties/fir", json={"details": "1"},
                             headers=staff).status_code == 404  # a child marriage owes no FIR here
    done = field.client.post(f"/api/v1/cases/{ref}/duties/marriage_stopped", headers=staff,
                             json={"details": "CMPO stopped it; families signed an undertaking"}).json()
    assert next(d for d in done["duties"] if d["key"] == "marriage_stopped")["status"] == "done"


def test_closure_proposed_by_sms_confirmed_by_the_district_then_reopened_by_a_new_report(field):
    reporter = "+919811100077"
    ref = field.report(village=AMTOLA, concern="other", phone=reporter, callback=False)
    vcpc = field.contacts("VCPC", AMTOLA)
    drain(field)
    field.reply(vcpc[0], f"ACK {ref}")
    field.expect_sms(vcpc[0], ref)
    field.reply(vcpc[0], f"DONE {ref} the child is back home")
    field.expect_sms(vcpc[0], ref)
    assert field.case(ref).status == "closure_proposed"
    staff = api(field)
    assert field.client.post(f"/api/v1/cases/{ref}/confirm-closure", json={"outcome": "no_concern_found"},
                             headers=staff).status_code == 400  # the home visit is still owed: say why
    back = field.client.post(f"/api/v1/cases/{ref}/send-back", json={"note": "visit the family first"}, headers=staff)
    assert back.json()["status"] == "acknowledged"
    assert field.client.post(f"/api/v1/cases/{ref}/confirm-closure", json={"outcome": "no_concern_found"},
                             headers=staff).status_code == 409  # nothing proposed now
    field.run()
    field.expect_sms(vcpc[0], ref)  # the village committee hears its closure was not accepted
    field.reply(vcpc[0], f"VISIT {ref} met the mother, all well")
    field.expect_sms(vcpc[0], ref)
    field.reply(vcpc[0], f"DONE {ref}")
    field.expect_sms(vcpc[0], ref)
    confirmed = field.client.post(f"/api/v1/cases/{ref}/confirm-closure", json={"outcome": "no_concern_found"},
                                  headers=staff)
    assert confirmed.json()["status"] == "resolved"

    again = field.report(village=AMTOLA, concern="other", phone=reporter, callback=False)
    assert again == ref  # the same phone, village and concern: the resolved case comes back
    case = field.case(ref)
    assert (case.status, case.acknowledged_unit) == ("acknowledged", "VCPC")
    field.expect_sms(vcpc[0], ref)  # the last owner is told
    assert duties(field, ref)["home_visit"].status == "open"  # and owes a visit again
    assert field.client.post(f"/api/v1/cases/{ref}/reopen", json={"reason": "x"},
                             headers=staff).status_code == 409  # it is open already
    assert {"closure_proposed", "closure_sent_back", "resolved", "duplicate_report", "reopened"} <= set(kinds(field, ref))


def test_staff_reopen_needs_a_reason_and_a_district_role(field):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    staff = api(field)
    field.client.post(f"/api/v1/cases/{ref}/acknowledge", json={"unit": "VCPC"}, headers=staff)
    field.client.post(f"/api/v1/cases/{ref}/resolve", json={"outcome": "other", "note": "resolved at the meeting"},
                      headers=staff)
    viewer = api(field, role="viewer")
    assert field.client.post(f"/api/v1/cases/{ref}/reopen", json={"reason": "again"}, headers=viewer).status_code == 403
    assert field.client.post(f"/api/v1/cases/{ref}/reopen", json={"reason": ""}, headers=staff).status_code == 422
    drain(field)
    reopened = field.client.post(f"/api/v1/cases/{ref}/reopen", json={"reason": "the father came back"}, headers=staff)
    assert reopened.json()["status"] == "acknowledged"
    field.run()
    for phone in field.contacts("VCPC", AMTOLA):
        field.expect_sms(phone, ref)


def test_a_named_worker_hears_of_their_case_and_of_its_overdue_duties(field):
    engine = field.services.engine
    create_user(engine, username="po.kanke", password="a long enough password", role="district", district_lgd=RANCHI,
                name="Sunita (Protection Officer)", phone="+919876500001")
    create_user(engine, username="po.purulia", password="a long enough password", role="district",
                district_lgd=PURULIA, name="Other district")
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    staff = api(field)
    assert field.client.post(f"/api/v1/cases/{ref}/assign", json={"username": "po.purulia"},
                             headers=staff).status_code == 400
    assert field.client.post(f"/api/v1/cases/{ref}/assign", json={"username": "nobody"},
                             headers=staff).status_code == 400
    body = field.client.post(f"/api/v1/cases/{ref}/assign", json={"username": "po.kanke"}, headers=staff).json()
    assert body["assigned_to"] == "po.kanke"
    field.run()
    field.expect_sms("+919876500001", ref)
    mine = field.client.get("/api/v1/cases?assigned_to=po.kanke", headers=staff).json()
    assert [c["ref"] for c in mine] == [ref]
    drain(field)
    field.reply(field.contacts("VCPC", AMTOLA)[0], f"ACK {ref}")
    field.advance(hours=73)  # the home visit is overdue: the committee and the named worker hear
    field.expect_sms("+919876500001", ref, "VISIT")


def test_redis_lost_mid_duty_is_rebuilt_from_sql(field):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    vcpc = field.contacts("VCPC", AMTOLA)[0]
    drain(field)
    field.reply(vcpc, f"ACK {ref}")
    field.expect_sms(vcpc, ref)
    duty = duties(field, ref)["home_visit"]
    member = keys.duty_member(duty.id or 0, 0)
    assert field.services.redis.zscore(keys.DUTY_DEADLINES, member) is not None
    field.services.redis.flushall()  # a Redis restart without persistence
    report = field.worker().audit()  # what `cpgw reconcile` and every worker's audit run
    assert report["duties"] == 1 and field.worker().audit()["duties"] == 0
    field.advance(hours=73)
    field.expect_sms(vcpc, ref, "VISIT")


@pytest.mark.parametrize("lang_phone", ["+917000000166"])  # a Bengali-speaking member in Purulia's demo
def test_the_sms_help_for_a_keyword_without_a_case_number(field, lang_phone):
    field.reply(lang_phone, "FIR")
    assert "FIR" in field.expect_sms(lang_phone)
