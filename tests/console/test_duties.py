"""The case page after ACK: duties recorded, marked not applicable or moved; a named worker and
"my cases"; a proposed closure confirmed or sent back; a resolved case reopened."""

from __future__ import annotations

from sqlmodel import Session, select

from gateway.record.models import Case, CaseDuty
from gateway.referrals import actions
from gateway.web.auth import create_token
from tests.console.conftest import AMTOLA, report


def duty(engine, ref: str, key: str) -> CaseDuty:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        return session.exec(select(CaseDuty).where(CaseDuty.case_id == case.id, CaseDuty.key == key)).one()


def status(engine, ref: str) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.exec(select(Case).where(Case.ref == ref)).one().status


def test_duties_are_recorded_from_the_case_page(browser, client, engine):
    ref = report(client, AMTOLA, number="+919812300041", concern="child_marriage", callback=False)
    meera = browser("ranchi")
    assert "Duties after the acknowledgement" not in meera.get(f"/console/cases/{ref}").text  # none before an ACK
    assert meera.post(f"/console/cases/{ref}/acknowledge", {"unit": "CMPO", "name": "Rekha (CMPO)"}).status_code == 303
    page = meera.get(f"/console/cases/{ref}").text
    assert 'id="duty-marriage_stopped"' in page and "PCMA s.16" in page and "STOPPED" in page
    assert meera.post(f"/console/cases/{ref}/duties/home_visit", {"action": "na"}).status_code == 400  # say why
    assert meera.post(f"/console/cases/{ref}/duties/home_visit", {"action": "move", "due": "soon"}).status_code == 400
    assert meera.post(f"/console/cases/{ref}/duties/marriage_stopped",
                      {"action": "move", "due": "2027-02-14T09:00"}).status_code == 303
    moved = duty(engine, ref, "marriage_stopped").due_at
    assert (moved.month, moved.day, moved.hour, moved.minute) == (2, 14, 3, 30)  # 09:00 IST
    assert meera.post(f"/console/cases/{ref}/duties/marriage_stopped",
                      {"action": "done", "details": "CMPO stopped it on the 12th"}).status_code == 303
    stopped = duty(engine, ref, "marriage_stopped")
    assert (stopped.status, stopped.details, stopped.done_by) == ("done", "CMPO stopped it on the 12th",
                                                                   "Meera Devi (meera)")
    assert "CMPO stopped it on the 12th" in meera.get(f"/console/cases/{ref}").text
    other = browser("purulia")
    assert other.post(f"/console/cases/{ref}/duties/home_visit", {"action": "done"}).status_code == 404


def test_a_named_worker_finds_the_case_under_my_cases(browser, client, engine):
    ref = report(client, AMTOLA, number="+919812300042", concern="other", callback=False)
    meera, admin = browser("ranchi"), browser("admin")
    page = admin.get(f"/console/cases/{ref}").text
    assert 'value="meera"' in page and 'value="sourav"' not in page  # only the case's district, and admins
    assert admin.post(f"/console/cases/{ref}/assign", {"username": "sourav"}).status_code == 400
    assert admin.post(f"/console/cases/{ref}/assign", {"username": "meera"}).status_code == 303
    assert f'data-ref="{ref}"' in meera.get("/console?mine=1").text
    assert f'data-ref="{ref}"' not in admin.get("/console?mine=1").text
    assert "followed by meera" in meera.get("/console/queue/rows?mine=1").text


def test_a_closure_is_confirmed_or_sent_back_and_a_resolved_case_reopened(browser, client, engine):
    ref = report(client, AMTOLA, number="+919812300043", concern="other", callback=False)
    referrals = client.app.state.services.referrals
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
    member = actions.committee("Asha", "VCPC")
    case = actions.acknowledge(referrals, case, unit="VCPC", name="Asha", who=member)
    actions.propose_closure(referrals, case, note="back in school", who=member)
    meera = browser("ranchi")
    page = meera.get(f"/console/cases/{ref}").text
    assert "Confirm closure" in page and "Send back" in page and "back in school" in page
    assert meera.post(f"/console/cases/{ref}/send-back", {"note": ""}).status_code == 400
    assert meera.post(f"/console/cases/{ref}/send-back", {"note": "visit first"}).status_code == 303
    assert status(engine, ref) == "acknowledged"
    assert meera.post(f"/console/cases/{ref}/resolve", {"outcome": "no_concern_found"}).status_code == 400  # visit owed
    assert meera.post(f"/console/cases/{ref}/resolve",
                      {"outcome": "no_concern_found", "note": "visited by phone"}).status_code == 303
    assert status(engine, ref) == "resolved"
    viewer = browser("viewer")
    assert viewer.post(f"/console/cases/{ref}/reopen", {"reason": "again"}).status_code == 403
    assert 'id="reopen"' in meera.get(f"/console/cases/{ref}").text
    assert meera.post(f"/console/cases/{ref}/reopen", {"reason": ""}).status_code == 400
    assert meera.post(f"/console/cases/{ref}/reopen", {"reason": "the child left school again"}).status_code == 303
    assert status(engine, ref) == "acknowledged"
    assert duty(engine, ref, "home_visit").status == "open"


def test_the_dashboard_shows_duty_compliance_time_to_closure_and_outcomes(browser, client, engine):
    ref = report(client, AMTOLA, number="+919812300044", concern="sexual_abuse", urgent=True, callback=False)
    referrals = client.app.state.services.referrals
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
    police = actions.committee("SI Kumar", "SJPU")
    case = actions.acknowledge(referrals, case, unit="SJPU", name="SI Kumar", who=police)
    actions.record_duty(referrals, case, "fir", details="45/2026", who=police)
    meera = browser("ranchi")
    meera.post(f"/console/cases/{ref}/resolve", {"outcome": "rescued", "note": "other duties by the court"})
    page = meera.get("/console/dashboard").text
    assert 'id="duty-compliance"' in page and "FIR · Kanke" in page
    token = create_token(engine, role="district", district_lgd=9001, name="Meera (API)")
    board = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"}).json()
    fir = next(row for row in board["duty_compliance"] if row["duty"] == "fir")
    assert (fir["owed"], fir["done"], fir["within_24h"], fir["share_within_24h"]) == (1, 1, 1, 100.0)
    assert {"concern": "sexual_abuse", "outcome": "rescued", "cases": 1} in board["outcomes"]
    assert any(row["concern"] == "sexual_abuse" for row in board["median_hours_to_closure"])
    csv = meera.get("/console/dashboard/duties.csv").text
    assert csv.splitlines()[0] == "district,block,duty,owed,done,done_within_24h,percent_within_24h"
    assert "Kanke,fir,1,1,1,100.0" in csv
    assert "outcome,sexual_abuse,rescued,1" in meera.get("/console/dashboard/closure.csv").text
