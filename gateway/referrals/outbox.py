"""The outbox: every SMS leaves through a Redis Stream, sent by whichever worker reads it first.

The message is a SQL row written in the same transaction as the change that caused it; the stream
entry only carries its id. A worker claims a message in SQL (`queued` → `sending`, one UPDATE),
so two entries for the same message, or two workers, cannot send it twice; a worker killed
mid-send leaves the entry pending in the consumer group and the row in `sending`, and both are
taken over after a while (at-least-once: the provider may then see the message twice, never zero
times). Temporary provider errors are retried with backoff; after `MAX_ATTEMPTS` the message is
dead-lettered: marked failed, recorded on the case, and reported to the escalation hook.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple, Protocol

import redis
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from gateway.infra import keys
from gateway.infra.clock import Clock
from gateway.infra.crypto import PhoneCipher
from gateway.infra.metrics import Metrics
from gateway.record.models import CaseEvent, Message, ReporterContact, utcnow
from gateway.referrals.transport import SendResult, Transport

log = logging.getLogger("cpgw.outbox")
MAX_ATTEMPTS = 5
BACKOFF_S = (5, 30, 120, 600)  # before the 2nd, 3rd, 4th and 5th try
STUCK_SENDING = timedelta(minutes=2)

_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""


class Publishable(Protocol):
    """What a stream entry needs of a committed message: its id, and its lane."""

    @property
    def id(self) -> str: ...

    @property
    def priority(self) -> str: ...


class Queued(NamedTuple):
    """A message written with a Core insert (no ORM object was built for it)."""

    id: str
    priority: str


@dataclass
class Outbox:
    redis: redis.Redis
    engine: Engine
    transport: Transport
    clock: Clock
    cipher: PhoneCipher
    metrics: Metrics
    rate_per_second: int = 20
    on_final_failure: Callable[[Message], None] = lambda message: None
    _pop_due: object = field(init=False)

    def __post_init__(self) -> None:
        self._pop_due = self.redis.register_script(_POP_DUE)
        self.ensure_groups()

    def ensure_groups(self) -> None:
        for stream in (keys.OUTBOX_ALERTS, keys.OUTBOX_BULK):
            try:
                self.redis.xgroup_create(stream, keys.OUTBOX_GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def publish(self, messages: Iterable[Publishable], pipe: redis.client.Pipeline | None = None) -> None:
        """Put committed messages on their stream (call after the SQL commit).

        Given a pipeline, only queue the commands on it: the caller sends them together with its own.
        """
        own = pipe is None
        pipe = self.redis.pipeline(transaction=False) if pipe is None else pipe
        for message in messages:
            stream = keys.OUTBOX_ALERTS if message.priority == "alert" else keys.OUTBOX_BULK
            pipe.xadd(stream, {"id": message.id})
        if own:
            pipe.execute()

    # --- sending -----------------------------------------------------------------------------------

    def process(self, consumer: str, count: int = 50, block_ms: int | None = None) -> int:
        """Send what is waiting, alerts first; returns how many entries were handled.

        Reads alerts, then bulk, without waiting; only when both are empty does it block (on both
        streams at once, up to `block_ms`), so follow-ups never wait behind an idle alert stream.
        """
        for stream in (keys.OUTBOX_ALERTS, keys.OUTBOX_BULK):
            entries = self.redis.xreadgroup(keys.OUTBOX_GROUP, consumer, {stream: ">"}, count=count)
            if entries:
                return self._handle_all(entries)
        if not block_ms:
            return 0
        entries = self.redis.xreadgroup(
            keys.OUTBOX_GROUP, consumer, {keys.OUTBOX_ALERTS: ">", keys.OUTBOX_BULK: ">"}, count=count, block=block_ms
        )
        return self._handle_all(sorted(entries or [], key=lambda item: item[0] != keys.OUTBOX_ALERTS))

    def _handle_all(self, entries: list) -> int:  # type: ignore[type-arg]
        handled = 0
        for stream, items in entries:
            for entry_id, fields in items:
                self._handle(stream, entry_id, fields.get("id", ""))
                handled += 1
        return handled

    def take_over(self, consumer: str, count: int = 50) -> int:
        """Entries read by a worker that died without acknowledging them."""
        handled = 0
        for stream in (keys.OUTBOX_ALERTS, keys.OUTBOX_BULK):
            _, items, *_ = self.redis.xautoclaim(
                stream, keys.OUTBOX_GROUP, consumer, keys.OUTBOX_CLAIM_IDLE_MS, "0-0", count=count
            )
            for entry_id, fields in items:
                self._handle(stream, entry_id, (fields or {}).get("id", ""))
                handled += 1
        return handled

    def _handle(self, stream: str, entry_id: str, message_id: str) -> None:
        if message_id:
            self.send(message_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(stream, keys.OUTBOX_GROUP, entry_id)
        pipe.xdel(stream, entry_id)
        pipe.execute()

    def send(self, message_id: str) -> None:
        """Send one queued message, unless another worker already has (or is doing so)."""
        with Session(self.engine) as session:
            claimed = session.execute(
                update(Message)
                .where(col(Message.id) == message_id, col(Message.status) == "queued")
                .values(status="sending", attempts=Message.attempts + 1, updated_at=utcnow())
            )
            session.commit()
            if claimed.rowcount != 1:
                return
            message = session.get(Message, message_id)
            assert message is not None
            to = self._recipient(session, message)
        if to is None:
            self._settle(message, SendResult("permanent", detail="recipient no longer known"))
            return
        self._wait_for_rate()
        result = self.transport.send(to, message.body)
        self.metrics.sms_sent.labels(result.outcome).inc()
        self._settle(message, result)

    def _recipient(self, session: Session, message: Message) -> str | None:
        if message.to_phone:
            return message.to_phone
        if message.to_encrypted:
            return self.cipher.decrypt(message.to_encrypted)
        if message.case_id is None:
            return None
        contact = session.get(ReporterContact, message.case_id)
        return self.cipher.decrypt(contact.phone_encrypted) if contact else None

    def _settle(self, message: Message, result: SendResult) -> None:
        with Session(self.engine) as session:
            row = session.get(Message, message.id)
            assert row is not None
            row.updated_at = utcnow()
            if result.outcome == "accepted":
                row.status, row.provider_id, row.provider_status = "sent", result.provider_id, result.detail[:40]
            elif result.outcome == "temporary" and row.attempts < MAX_ATTEMPTS:
                row.status, row.failure_reason = "queued", result.detail[:200]
                delay = BACKOFF_S[min(row.attempts - 1, len(BACKOFF_S) - 1)]
                self.redis.zadd(keys.OUTBOX_RETRY, {row.id: self.clock.now() + delay})
            else:
                row.status, row.failure_reason = "failed", result.detail[:200] or "failed"
                if row.case_id is not None:
                    session.add(CaseEvent(case_id=row.case_id, kind="failed", detail={
                        "message": row.id, "unit": row.unit, "contact": row.contact_name, "step": row.step,
                        "reason": row.failure_reason, "attempts": row.attempts}))
            session.add(row)
            session.commit()
            final_failure = row.status == "failed"
        if final_failure:
            log.warning("message dead-lettered", extra={"message_id": message.id, "reason": result.detail[:80]})
            self.metrics.sms_dead_letters.inc()
            self.on_final_failure(row)

    def _wait_for_rate(self) -> None:
        """A per-provider budget of sends per second, shared by every worker through Redis."""
        for _ in range(200):
            second = int(time.time())
            key = keys.SMS_RATE.format(provider=self.transport.name, second=second)
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 2)
            used, _ = pipe.execute()
            if used <= self.rate_per_second:
                return
            time.sleep(max(0.01, second + 1 - time.time()))

    # --- retries and repair ------------------------------------------------------------------------

    def requeue_due_retries(self, limit: int = 500) -> int:
        due = self._pop_due(keys=[keys.OUTBOX_RETRY], args=[self.clock.now(), limit])  # type: ignore[operator]
        if due:
            with Session(self.engine) as session:
                rows = session.exec(select(Message).where(col(Message.id).in_(due))).all()
            self.publish(rows)
        return len(due)

    def rebuild(self, settle: timedelta = timedelta(seconds=30)) -> int:
        """Requeue from SQL what Redis may have lost: queued messages and sends stuck mid-way.

        Only rows untouched for `settle` count, so a message published a moment ago is not
        published twice (twice would be harmless: the SQL claim sends it once).
        """
        cutoff = utcnow() - STUCK_SENDING
        with Session(self.engine) as session:
            stuck = list(session.exec(select(Message.id).where(
                col(Message.status) == "sending", col(Message.updated_at) < cutoff)))
            session.execute(
                update(Message).where(col(Message.id).in_(stuck), col(Message.status) == "sending")
                .values(status="queued", updated_at=utcnow())
            )
            session.commit()
            # What was stuck goes out now, not at the next audit; other queued rows once they settled.
            queued = session.exec(select(Message).where(
                col(Message.status) == "queued", col(Message.direction) == "out",
                (col(Message.updated_at) <= utcnow() - settle) | col(Message.id).in_(stuck),
            )).all()
        retrying = set(self.redis.zrange(keys.OUTBOX_RETRY, 0, -1))
        ready = [message for message in queued if message.id not in retrying]
        self.publish(ready)
        return len(ready)
