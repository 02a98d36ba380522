"""The queue and the case page for every role and scope; staff actions audited by name; the
reporter's number shown only to those who may see it, only with consent, and every view logged."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from gateway.record.models import Case, CaseEvent, Message
from tests.console.conftest import AMTOLA, report


def events(engine, ref: str) -> list[CaseEvent]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        return list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))))


def refs_in(page: str, cases: dict[str, str]) -> set[str]:
    return {name for name, ref in cases.items() if f'data-ref="{ref}"' in page}


@pytest.mark.parametrize(("who", "sees"), [
    ("admin", {"ranchi", "purulia"}), ("viewer", {"ranchi", "purulia"}), ("ranchi", {"ranchi"}), ("purulia", {"purulia"}),
])
def test_the_queue_shows_each_role_its_scope(browser, cases, who, sees):
    person = browser(who)
    assert refs_in(person.get("/console").text, cases) == sees
    assert refs_in(person.get("/console/queue/rows").text, cases) == sees
    # A district user asking for another district's queue still gets only their own.
    assert refs_in(person.get("/console?district=9101").text, cases) == sees & ({"purulia"} if who != "ranchi" else {"ranchi"})


@pytest.mark.parametrize(("who", "other"), [("ranchi", "purulia"), ("purulia", "ranchi")])
def test_a_district_user_probing_another_districts_case_gets_404(browser, cases, who, other):
    person = browser(who)
    assert person.get(f"/console/cases/{cases[who]}").status_code == 200
    assert person.get(f"/console/cases/{cases[other]}").status_code == 404
    for action, data in (("notes", {"text": "x"}), ("escalate", {}), ("acknowledge", {"unit": "DCPU"}),
                         ("resolve", {"outcome": "rescued"}), ("reassign", {"to_step": "2", "reason": "x"}),
                         ("reporter-number", {})):
        assert person.post(f"/console/cases/{cases[other]}/{action}", data).status_code == 404, action
    # A reference that does not exist, or with a wrong check digit, looks the same.
    assert person.get("/console/cases/100000007").status_code == 404
    assert person.get("/console/cases/12").status_code == 404


def test_the_viewer_reads_but_cannot_act(browser, cases, engine):
    viewer = browser("viewer")
    page = viewer.get(f"/console/cases/{cases['ranchi']}")
    assert page.status_code == 200 and "Escalate now" not in page.text and "Show number" not in page.text
    for action, data in (("notes", {"text": "x"}), ("escalate", {}), ("acknowledge", {"unit": "DCPU"}),
                         ("resolve", {"outcome": "rescued"}), ("reporter-number", {})):
        assert viewer.post(f"/console/cases/{cases['ranchi']}/{action}", data).status_code == 403, action
    assert [e.kind for e in events(engine, cases["ranchi"])] == ["reported", "alerted"]


def test_each_action_is_audited_with_the_staff_members_name(browser, cases, engine):
    ref = cases["ranchi"]
    meera = browser("ranchi")
    meera.get(f"/console/cases/{ref}")
    assert meera.post(f"/console/cases/{ref}/notes", {"text": "called the anganwadi worker"}).status_code == 303
    assert meera.post(f"/console/cases/{ref}/escalate", {"reason": "no answer"}).status_code == 303
    assert meera.post(f"/console/cases/{ref}/acknowledge", {"unit": "BCPC", "name": "Ravi (BCPC Kanke)"}).status_code == 303
    second = meera.post(f"/console/cases/{ref}/acknowledge", {"unit": "BCPC"})
    assert second.status_code == 409 and "not open" in second.text
    assert meera.post(f"/console/cases/{ref}/resolve", {"outcome": "produced_before_cwc", "note": "CWC order 12"}).status_code == 303
    assert meera.post(f"/console/cases/{ref}/resolve", {"outcome": "rescued"}).status_code == 409
    audit = [(e.kind, e.actor) for e in events(engine, ref) if e.actor != "system"]
    assert audit[0] == ("reported", "reporter")
    assert {("note", "Meera Devi (meera)"), ("acknowledged", "Meera Devi (meera)"),
            ("resolved", "Meera Devi (meera)")} <= set(audit)
    last = events(engine, ref)
    assert next(e for e in last if e.kind == "acknowledged").detail["name"] == "Ravi (BCPC Kanke)"
    assert next(e for e in last if e.kind == "resolved").detail == {"outcome": "produced_before_cwc", "note": "CWC order 12"}
    page = meera.get(f"/console/cases/{ref}").text
    assert "Produced before the CWC" in page and "Ravi (BCPC Kanke)" in page


def test_bad_action_values_are_refused(browser, cases):
    ref = cases["ranchi"]
    admin = browser("admin")
    admin.get(f"/console/cases/{ref}")
    assert admin.post(f"/console/cases/{ref}/acknowledge", {"unit": "POLICE"}).status_code == 400
    assert admin.post(f"/console/cases/{ref}/resolve", {"outcome": "vanished"}).status_code == 400
    assert admin.post(f"/console/cases/{ref}/resolve", {"outcome": "other"}).status_code == 400  # needs a note
    assert admin.post(f"/console/cases/{ref}/notes", {"text": "   "}).status_code == 400


def test_reassign_moves_to_a_later_step_and_alerts_it(browser, client, engine):
    # not urgent: VCPC; BCPC, BEO; DCPU, CWC; DCPO; DM, SCPS
    ref = report(client, AMTOLA, number="+919812300031", concern="neglect_dropout", callback=False)
    admin = browser("admin")
    admin.get(f"/console/cases/{ref}")
    assert admin.post(f"/console/cases/{ref}/reassign", {"to_step": "1", "reason": "back"}).status_code == 400
    assert admin.post(f"/console/cases/{ref}/reassign", {"to_step": "3", "reason": ""}).status_code == 400
    assert admin.post(f"/console/cases/{ref}/reassign", {"to_step": "3", "reason": "school says the family moved"}).status_code == 303
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        alerts = session.exec(select(Message).where(Message.case_id == case.id, Message.step == 2)).all()
    assert (case.step, case.round, case.status) == (2, 0, "open")
    assert alerts and {m.unit for m in alerts} == {"DCPU", "CWC"}  # step 3 now, never the BCPC in between
    kinds = [(e.kind, e.actor) for e in events(engine, ref)]
    assert ("reassigned", "system") in kinds and ("note", "Asha Admin (admin)") in kinds
    # Nothing earlier nor the same, and nothing past the last step, to reassign to.
    assert admin.post(f"/console/cases/{ref}/reassign", {"to_step": "3", "reason": "again"}).status_code == 400
    assert admin.post(f"/console/cases/{ref}/reassign", {"to_step": "9", "reason": "again"}).status_code == 400


def test_the_reporters_number_needs_consent_a_role_and_leaves_a_trace(browser, cases, engine):
    ranchi, purulia = cases["ranchi"], cases["purulia"]
    meera = browser("ranchi")
    page = meera.get(f"/console/cases/{ranchi}")
    assert "9812300001" not in page.text and "Show number" in page.text
    shown = meera.post(f"/console/cases/{ranchi}/reporter-number")
    assert shown.status_code == 200 and "+919812300001" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    meera.post(f"/console/cases/{ranchi}/reporter-number")  # every view is logged, not only the first
    views = [e for e in events(engine, ranchi) if e.kind == "reporter_number_viewed"]
    assert [e.actor for e in views] == ["Meera Devi (meera)"] * 2
    # The number is not on the page after that, nor in the timeline.
    assert "9812300001" not in meera.get(f"/console/cases/{ranchi}").text
    # An anonymous reporter: nothing to show, and nothing logged.
    sourav = browser("purulia")
    page = sourav.get(f"/console/cases/{purulia}")
    assert "Show number" not in page.text and "anonymous" in page.text
    assert sourav.post(f"/console/cases/{purulia}/reporter-number").status_code == 404
    assert not [e for e in events(engine, purulia) if e.kind == "reporter_number_viewed"]
    # The admin may see it too; the viewer never.
    assert "+919812300001" in browser("admin").post(f"/console/cases/{ranchi}/reporter-number").text
    viewer = browser("viewer")
    viewer.get(f"/console/cases/{ranchi}")
    assert viewer.post(f"/console/cases/{ranchi}/reporter-number").status_code == 403
    assert [e.actor for e in events(engine, ranchi) if e.kind == "reporter_number_viewed"][-1] == "Asha Admin (admin)"
    assert len([e for e in events(engine, ranchi) if e.kind == "reporter_number_viewed"]) == 3


def test_the_queue_filters(browser, client, cases):
    emergency = report(client, AMTOLA, number="+919812300041", concern="sexual_abuse", urgent=True, callback=False)
    admin = browser("admin")
    page = admin.get("/console").text
    assert page.index(emergency) < page.index(cases["ranchi"])  # emergencies first
    assert refs_in(admin.get("/console?concern=sexual_abuse").text, {**cases, "e": emergency}) == {"e"}
    assert refs_in(admin.get("/console?district=9001&block=90012").text, {**cases, "e": emergency}) == set()
    assert refs_in(admin.get("/console?district=9001&block=90011").text, {**cases, "e": emergency}) == {"ranchi", "e"}
    assert refs_in(admin.get("/console?late=1").text, {**cases, "e": emergency}) == set()
    assert refs_in(admin.get("/console?status=resolved").text, {**cases, "e": emergency}) == set()
    assert admin.get("/console?status=bogus&block=abc&district=").status_code == 200  # odd values are ignored


def test_the_case_page_shows_the_timeline_with_delivery_states(browser, cases, client):
    page = browser("ranchi").get(f"/console/cases/{cases['ranchi']}").text
    assert "SMS out (alert)" in page and "queued" in page and "DEMO BCPC Kanke" in page
    assert "Reported" in page and "Alerted" in page


def test_what_staff_and_files_type_is_shown_as_text_never_run(browser, cases):
    meera = browser("ranchi")
    meera.get(f"/console/cases/{cases['ranchi']}")
    meera.post(f"/console/cases/{cases['ranchi']}/notes", {"text": "<script>alert('x')</script>"})
    page = meera.get(f"/console/cases/{cases['ranchi']}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_the_case_page_says_why_each_step_is_alerted(browser, client):
    ref = report(client, AMTOLA, number="+919812300041", concern="child_marriage", callback=False)
    page = browser("ranchi").get(f"/console/cases/{ref}").text.split('id="ladder"')[1].split("</section>")[0]
    assert "Rule: default" in page and "Why: " in page and "PCMA 2006" in page
