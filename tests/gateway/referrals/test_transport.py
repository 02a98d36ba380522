"""SMS through the real `africastalking` SDK to the local stub of AT's API (gateway.referrals.transport)."""

from __future__ import annotations

from gateway.referrals.transport import AfricasTalkingTransport


def _transport(settings, stub) -> AfricasTalkingTransport:  # type: ignore[no-untyped-def]
    return AfricasTalkingTransport(settings.model_copy(update={
        "at_username": "cpgw-test", "at_api_key": "test-key", "at_api_url": stub.url, "sms_timeout_s": 2.0}))


def test_messages_go_out_on_one_kept_alive_connection(settings, at_stub):
    """Against the real API every new connection is a TLS handshake, several round trips from India."""
    transport = _transport(settings, at_stub)
    results = [transport.send(f"+91980000{i:04d}", f"alert {i}") for i in range(5)]
    assert [r.outcome for r in results] == ["accepted"] * 5 and all(r.provider_id for r in results)
    assert [s.message for s in at_stub.sent] == [f"alert {i}" for i in range(5)]
    assert at_stub.connections == 1


def test_a_connection_the_provider_closed_is_replaced(settings, at_stub):
    transport = _transport(settings, at_stub)
    at_stub.close_after_next = True
    first = transport.send("+919800000001", "one")
    second = transport.send("+919800000002", "two")
    assert (first.outcome, second.outcome) == ("accepted", "accepted")
    assert at_stub.connections == 2 and len(at_stub.sent) == 2


def test_provider_errors_keep_their_meaning(settings, at_stub):
    transport = _transport(settings, at_stub)
    at_stub.fail_next("500", "empty")
    at_stub.number_status["+919800000009"] = 403
    assert transport.send("+919800000003", "x").outcome == "temporary"
    assert transport.send("+919800000004", "x").outcome == "permanent"
    assert transport.send("+919800000009", "x").outcome == "permanent"
    assert transport.send("+919800000005", "x").outcome == "accepted"
