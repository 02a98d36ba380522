"""The JSON API: bearer tokens, roles and district scope; never the reporter's number."""

from __future__ import annotations

import pytest

from gateway.devtools.simulate import Phone
from gateway.web.auth import TokenError, create_token


@pytest.fixture
def reported(client):
    """One case in Ranchi (district 9001) and one in Purulia (9101)."""
    refs = {}
    for number, village in (("+919812300001", "9001111"), ("+919812300002", "9101111")):
        phone = Phone(client, number=number).dial().press("1", "1", "1", village, "2", "1", "1", "1")
        refs[village] = next(word for word in phone.screen.replace(".", " ").split() if word.isdigit() and len(word) == 9)
    return refs


def auth(engine, role: str, district: int | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(engine, role=role, district_lgd=district, name=role)}"}


def test_no_token_or_a_wrong_one_is_401(client):
    assert client.get("/api/v1/cases").status_code == 401
    assert client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"Authorization": "Basic abc"}).status_code == 401


def test_admin_lists_newest_first_and_filters(client, engine, reported):
    headers = auth(engine, "admin")
    listed = client.get("/api/v1/cases", headers=headers).json()
    assert [case["ref"] for case in listed] == [reported["9101111"], reported["9001111"]]
    assert [c["ref"] for c in client.get("/api/v1/cases?district=9001", headers=headers).json()] == [reported["9001111"]]
    assert client.get("/api/v1/cases?status=resolved", headers=headers).json() == []
    assert len(client.get("/api/v1/cases?overdue=false", headers=headers).json()) == 2
    assert client.get("/api/v1/cases?status=bogus", headers=headers).status_code == 400


def test_case_detail_has_the_contract_fields_and_no_phone(client, engine, reported):
    body = client.get(f"/api/v1/cases/{reported['9001111']}", headers=auth(engine, "viewer")).json()
    assert body["village"] == {"lgd_code": 9001111, "level": "village", "name": "Amtola"}
    assert body["block"]["lgd_code"] == 90011 and body["district"]["lgd_code"] == 9001
    assert (body["status"], body["concern"], body["urgent"], body["acknowledged_by"]) == ("open", "child_marriage", True, None)
    assert body["events"][0]["kind"] == "reported" and "created_at" in body and "step" in body
    assert "9812300001" not in str(body)


def test_a_district_token_sees_only_its_district(client, engine, reported):
    headers = auth(engine, "district", 9001)
    assert [c["ref"] for c in client.get("/api/v1/cases", headers=headers).json()] == [reported["9001111"]]
    assert client.get("/api/v1/cases?district=9101", headers=headers).json() == []
    assert client.get(f"/api/v1/cases/{reported['9101111']}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/cases/{reported['9001111']}", headers=headers).status_code == 200


def test_bad_and_unknown_references(client, engine, reported):
    headers = auth(engine, "admin")
    ref = reported["9001111"]
    wrong = ref[:-1] + str((int(ref[-1]) + 1) % 10)
    assert client.get(f"/api/v1/cases/{wrong}", headers=headers).status_code == 400
    assert client.get("/api/v1/cases/12", headers=headers).status_code == 400
    assert client.get("/api/v1/cases/100000007", headers=headers).status_code in (400, 404)


def test_token_requests_that_make_no_sense(engine):
    with pytest.raises(TokenError):
        create_token(engine, role="root", district_lgd=None, name="")
    with pytest.raises(TokenError):
        create_token(engine, role="district", district_lgd=None, name="")


def test_staff_actions_are_audited_with_the_callers_name(client, engine, reported):
    ref = reported["9001111"]
    admin = {"Authorization": f"Bearer {create_token(engine, role='admin', district_lgd=None, name='Meera (DCPO)')}"}
    body = client.post(f"/api/v1/cases/{ref}/notes", json={"text": "called the anganwadi worker"}, headers=admin).json()
    assert body["events"][-1] == {**body["events"][-1], "kind": "note", "actor": "Meera (DCPO)"}
    escalated = client.post(f"/api/v1/cases/{ref}/escalate", json={"reason": "no answer"}, headers=admin).json()
    assert escalated["status"] == "open" and escalated["step"]["index"] == 1  # the next step: the DCPO in person
    acked = client.post(f"/api/v1/cases/{ref}/acknowledge", json={"unit": "DCPU"}, headers=admin).json()
    assert acked["acknowledged_by"] == {"unit": "DCPU", "name": "Meera (DCPO)"}
    assert client.post(f"/api/v1/cases/{ref}/acknowledge", json={}, headers=admin).status_code == 409
    owed = client.post(f"/api/v1/cases/{ref}/resolve", json={"outcome": "produced_before_cwc"}, headers=admin)
    assert owed.status_code == 400 and "duties" in owed.json()["detail"]  # the home visit is still owed
    resolved = client.post(f"/api/v1/cases/{ref}/resolve", headers=admin,
                           json={"outcome": "produced_before_cwc", "note": "the CWC saw the family itself"})
    assert resolved.json()["status"] == "resolved"
    assert client.post(f"/api/v1/cases/{ref}/resolve", json={"outcome": "rescued"}, headers=admin).status_code == 409
    kinds = [event["kind"] for event in resolved.json()["events"]]
    assert kinds[0] == "reported" and {"note", "acknowledged", "resolved"} <= set(kinds)


def test_actions_respect_roles_and_districts(client, engine, reported):
    viewer = auth(engine, "viewer")
    assert client.post(f"/api/v1/cases/{reported['9001111']}/notes", json={"text": "x"}, headers=viewer).status_code == 403
    other = auth(engine, "district", 9101)
    assert client.post(f"/api/v1/cases/{reported['9001111']}/resolve", json={"outcome": "x"}, headers=other).status_code == 404
    admin = auth(engine, "admin")
    assert client.post(f"/api/v1/cases/{reported['9001111']}/acknowledge", json={"unit": "POLICE"}, headers=admin).status_code == 400
    assert client.post(f"/api/v1/cases/{reported['9001111']}/notes", json={"text": ""}, headers=admin).status_code == 422


def test_messages_of_a_case_never_show_the_reporters_number(client, engine, reported):
    ref = reported["9001111"]
    admin = auth(engine, "admin")
    client.post(f"/api/v1/cases/{ref}/acknowledge", json={"unit": "DCPU"}, headers=admin)
    messages = client.get(f"/api/v1/messages?case={ref}", headers=admin).json()
    assert {m["kind"] for m in messages} == {"alert", "follow_up"}
    assert all(m["direction"] == "out" and m["status"] == "queued" for m in messages)
    follow_up = next(m for m in messages if m["kind"] == "follow_up")
    assert follow_up["to"] == "reporter" and "9812300001" not in str(messages)
    assert client.get(f"/api/v1/messages?case={ref}", headers=auth(engine, "district", 9101)).status_code == 404
