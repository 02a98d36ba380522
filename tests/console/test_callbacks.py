"""Missed calls (issue 19): every provider's callback shape, once per call, rate-limited per phone,
the number encrypted; the console's call-back list scoped to the DCPU's district."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from gateway.infra.settings import Settings
from gateway.record.models import ConsoleAudit, Message, MissedCall
from gateway.web.app import create_app

RANCHI_NUMBER, PURULIA_NUMBER = "+918000000001", "+918000000002"


@pytest.fixture
def client(settings: Settings, demo) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    wired = settings.model_copy(update={
        "missed_call_numbers": f"{RANCHI_NUMBER}=9001:hi,{PURULIA_NUMBER}=9101:bn", "sms_number": "+919000012345"})
    with TestClient(create_app(wired)) as test_client:
        yield test_client


def calls(client: TestClient) -> list[MissedCall]:
    with Session(client.app.state.services.engine) as session:
        return list(session.exec(select(MissedCall).order_by(col(MissedCall.id))).all())


def reply_to(client: TestClient, call: MissedCall) -> Message:
    with Session(client.app.state.services.engine) as session:
        message = session.get(Message, call.reply_message_id)
        assert message is not None
        return message


def test_each_providers_shape_is_answered_with_the_reporting_sms_in_the_numbers_language(client):
    generic = client.post("/webhooks/missed-call", data={"from": "9800000071", "to": RANCHI_NUMBER, "id": "g-1"})
    exotel = client.get("/webhooks/missed-call", params={"CallSid": "ex-1", "CallFrom": "09800000072",
                                                         "CallTo": PURULIA_NUMBER, "Direction": "incoming"})
    at = client.post("/webhooks/missed-call", data={"sessionId": "ATVId_1", "isActive": "1", "direction": "Inbound",
                                                    "callerNumber": "+919800000073", "destinationNumber": RANCHI_NUMBER})
    at_ended = client.post("/webhooks/missed-call", data={"sessionId": "ATVId_1", "isActive": "0",
                                                          "callerNumber": "+919800000073"})
    assert [r.status_code for r in (generic, exotel, at, at_ended)] == [200, 200, 200, 200]
    assert "<Reject/>" in at.text and at.headers["content-type"].startswith("application/xml")
    found = calls(client)
    assert [(c.provider, c.district_lgd, c.language) for c in found] == [
        ("generic", 9001, "hi"), ("exotel", 9101, "bn"), ("africastalking", 9001, "hi")]
    cipher = client.app.state.services.cipher
    assert [cipher.decrypt(c.phone_encrypted) for c in found] == ["+919800000071", "+919800000072", "+919800000073"]
    assert all("98000000" not in c.phone_encrypted for c in found)
    hindi = reply_to(client, found[0])
    assert hindi.template == "sms.missed_call" and "REPORT" in hindi.body and "+919000012345" in hindi.body
    assert "बाल" in hindi.body and hindi.to_encrypted and hindi.to_phone is None
    assert "শিশু" in reply_to(client, found[1]).body


def test_a_remembered_language_wins_and_a_repost_of_the_same_call_is_one_request(client):
    client.post("/webhooks/at/sms", data={"id": "sms-1", "from": "+919800000074", "text": "HELP", "to": "1"})
    client.post("/webhooks/at/sms", data={"id": "sms-2", "from": "+919800000074", "text": "1", "to": "1"})  # English
    for _ in range(2):
        assert client.post("/webhooks/missed-call", data={"from": "+919800000074", "to": RANCHI_NUMBER,
                                                          "id": "same"}).status_code == 200
    (call,) = calls(client)
    assert call.language == "en" and "Child protection" in reply_to(client, call).body


def test_missed_calls_are_rate_limited_per_phone(client):
    for index in range(5):
        client.post("/webhooks/missed-call", data={"from": "+919800000075", "id": f"c-{index}"})
    assert len(calls(client)) == 3  # gateway.infra.limits: missed_call
    client.post("/webhooks/missed-call", data={"from": "+919800000076", "id": "other-phone"})
    assert len(calls(client)) == 4


def test_no_caller_is_a_400_and_a_bad_number_changes_nothing(client):
    assert client.post("/webhooks/missed-call", data={"to": RANCHI_NUMBER}).status_code == 400
    assert client.post("/webhooks/missed-call", data={"from": "not a number"}).status_code == 200
    assert calls(client) == []


def test_the_console_lists_a_districts_call_backs_and_its_officer_calls_back(client, browser):
    client.post("/webhooks/missed-call", data={"from": "+919800000077", "to": RANCHI_NUMBER, "id": "r-1"})
    client.post("/webhooks/missed-call", data={"from": "+919800000078", "to": PURULIA_NUMBER, "id": "p-1"})
    ranchi_call, purulia_call = calls(client)
    meera, sourav, viewer = browser("ranchi"), browser("purulia"), browser("viewer")

    page = meera.get("/console/callbacks")
    assert page.status_code == 200 and f"callback-{ranchi_call.id}" in page.text
    assert f"callback-{purulia_call.id}" not in page.text and "+919800000077" not in page.text
    # Another district's request is as good as missing; a viewer reads and never acts.
    assert sourav.post(f"/console/callbacks/{ranchi_call.id}/number").status_code == 404
    assert sourav.post(f"/console/callbacks/{ranchi_call.id}/called-back").status_code == 404
    viewer.get("/console/callbacks")
    assert viewer.post(f"/console/callbacks/{ranchi_call.id}/called-back").status_code == 403

    shown = meera.post(f"/console/callbacks/{ranchi_call.id}/number")
    assert shown.status_code == 200 and "+919800000077" in shown.text
    with Session(client.app.state.services.engine) as session:
        audit = session.exec(select(ConsoleAudit).where(ConsoleAudit.action == "callback_number_viewed")).one()
    assert audit.detail == {"missed_call": ranchi_call.id} and "meera" in audit.actor

    assert meera.post(f"/console/callbacks/{ranchi_call.id}/called-back").status_code == 303
    (done, waiting) = calls(client)
    assert done.status == "called_back" and done.called_back_by and waiting.status == "open"
    assert f"callback-{ranchi_call.id}" not in meera.get("/console/callbacks").text
    assert "called back" in meera.get("/console/callbacks?all=1").text
