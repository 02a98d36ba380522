"""What the fault suite found in the gateway, pinned down in-process (fast, deterministic).

Each test reproduces one finding of `test_faults.py` with the field harness (real Redis, SQL, the
SDK against the AT stub, a manual clock); they failed before the fixes described in
docs/reliability.md and now guard against the same faults coming back.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from gateway.infra import keys
from gateway.record.models import Case, Message, utcnow

pytestmark = pytest.mark.chaos
AMTOLA = 9001111


def _post_sms(field, phone: str, text: str, sms_id: str):  # type: ignore[no-untyped-def]
    return field.client.post("/webhooks/at/sms", data={
        "id": sms_id, "from": phone, "to": "1098", "text": text, "date": "2026-11-24 10:00:00"})


def _fail_once(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> None:
    """`target.name` raises a Redis connection error the first time it is called, then works."""
    original = getattr(target, name)
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise redis.ConnectionError("Redis went away (injected)")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)


def test_an_sms_report_answered_503_is_handled_when_the_provider_posts_it_again(field, monkeypatch):
    """Finding 1: the inbound row `in:<id>` is committed before the SMS is handled. If handling then
    fails (Redis down), the gateway answers 503 so that Africa's Talking posts it again, but the
    re-post hits the unique `in:<id>` row and is dropped as a "repeat": the report is lost, and the
    villager, who never got a reply, is not told so either."""
    villager = "+919712345678"
    _fail_once(monkeypatch, field.services.sms.villagers.limiter, "allow")
    first = _post_sms(field, villager, f"REPORT {AMTOLA} 12", "ATXid_lost-1")
    assert first.status_code == 503  # "temporarily unavailable": AT will post it again
    again = _post_sms(field, villager, f"REPORT {AMTOLA} 12", "ATXid_lost-1")
    assert again.status_code == 200
    assert again.content == b"", "the webhook's answer must reveal nothing"
    with Session(field.services.engine) as session:
        assert session.exec(select(Case).where(Case.source_key == "sms:ATXid_lost-1")).first() is not None
    field.run()
    assert any("Report sent" in text for text in field.stub.messages_to(villager))


def test_an_ack_answered_503_is_confirmed_when_the_provider_posts_it_again(field, monkeypatch):
    """Finding 1, committee side: the ACK is applied in SQL, then Redis fails before the confirmation
    is queued; 503, the re-post is a "repeat", and the member never hears the case is theirs."""
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    member = field.contacts("VCPC", AMTOLA)[0]
    _fail_once(monkeypatch, field.services.referrals.outbox, "publish")
    first = _post_sms(field, member, f"ACK {ref}", "ATXid_ack-1")
    assert first.status_code == 503
    again = _post_sms(field, member, f"ACK {ref}", "ATXid_ack-1")
    assert again.status_code == 200
    assert again.content == b"", "the webhook's answer must reveal nothing"
    field.run()
    assert any(ref in text for text in field.stub.messages_to(member)), "no answer ever reached the member"


def test_a_send_stuck_mid_way_is_sent_again_by_one_audit(field):
    """Finding 2: `Outbox.rebuild` turns sends stuck in 'sending' back to 'queued' with
    `updated_at = now`, then publishes only queued rows untouched for 30 s, so the rows it has just
    requeued wait for the next audit (60 s later): a worker killed mid-send delays that alert by
    2 minutes + up to two audit periods instead of 2 minutes + one."""
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    engine = field.services.engine
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        alert = session.exec(select(Message).where(Message.case_id == case.id, Message.kind == "alert")).first()
        assert alert is not None
        alert_id, phone = alert.id, alert.to_phone or ""
        # As a worker SIGKILLed while the provider held its request leaves it: 'sending', 3 minutes ago.
        session.execute(update(Message).where(col(Message.id) == alert_id).values(
            status="sending", updated_at=utcnow() - timedelta(minutes=3)))
        session.commit()
    field.services.redis.delete(keys.OUTBOX_ALERTS, keys.OUTBOX_BULK)
    field.stub.clear()
    field.worker().audit()
    field.run()
    with Session(engine) as session:
        status = session.get(Message, alert_id).status  # type: ignore[union-attr]
    assert status == "sent", f"requeued by the audit but still {status!r}: it waits for the next audit"
    assert field.stub.messages_to(phone)


def test_an_sms_whose_handling_met_an_sql_outage_is_handled_when_posted_again(field, monkeypatch):
    """Finding 3 (fixed), left open by the fix of finding 1: when SQL itself fails after the inbound row
    `in:<id>` was written, `SmsService._forget` cannot delete that row either (SQL is down), so the
    re-post Africa's Talking sends a minute later is still dropped as a "repeat": the report is lost."""
    engine = field.services.engine
    down = {"sql": False}

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        if down["sql"]:
            raise OperationalError("(injected)", {}, Exception("database is locked"))

    event.listen(engine, "before_cursor_execute", refuse)
    limiter = field.services.sms.villagers.limiter
    allow = limiter.allow

    def allow_then_sql_goes_down(*args):  # type: ignore[no-untyped-def]
        down["sql"] = True  # the inbound row is written; SQL becomes unavailable now
        return allow(*args)

    monkeypatch.setattr(limiter, "allow", allow_then_sql_goes_down)
    try:
        first = _post_sms(field, "+919712345679", f"REPORT {AMTOLA} 12", "ATXid_lost-2")
    finally:
        down["sql"] = False
        monkeypatch.setattr(limiter, "allow", allow)
    assert first.status_code == 503
    with Session(engine) as session:  # Africa's Talking posts it again a minute later
        session.execute(update(Message).where(col(Message.dedupe_key) == "in:ATXid_lost-2").values(
            created_at=utcnow() - timedelta(minutes=1), updated_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    again = _post_sms(field, "+919712345679", f"REPORT {AMTOLA} 12", "ATXid_lost-2")
    event.remove(engine, "before_cursor_execute", refuse)
    assert again.status_code == 200
    assert again.content == b"", "the webhook's answer must reveal nothing"
