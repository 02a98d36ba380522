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
from sqlalchemy import Engine, bindparam, insert, update
from sqlmodel import Session, col, select

from gateway.infra import keys
from gateway.infra.clock import Clock
from gateway.infra.crypto import PhoneCipher
from gateway.infra.metrics import Metrics
from gateway.record.db import read_session
from gateway.record.models import CaseEvent, Message, ReporterContact, event_row, utcnow
from gateway.referrals.transport import SendResult, Transport

log = logging.getLogger("cpgw.outbox")
MAX_ATTEMPTS = 5
BACKOFF_S = (5, 30, 120, 600)  # before the 2nd, 3rd, 4th and 5th try
STUCK_SENDING = timedelta(minutes=2)

_MESSAGE = Message.__table__  # type: ignore[attr-defined]
# Only from `sending`: a delivery report that came back before the send's answer was recorded
# (Kannel reports the SMSC's refusal at once) is not overwritten.
_SENT = update(_MESSAGE).where(_MESSAGE.c.id == bindparam("mid"), _MESSAGE.c.status == "sending").values(
    status="sent", provider_id=bindparam("provider_id"), provider_status=bindparam("provider_status"),
    updated_at=bindparam("now"))
_RETRY = update(_MESSAGE).where(_MESSAGE.c.id == bindparam("mid")).values(
    status="queued", failure_reason=bindparam("reason"), updated_at=bindparam("now"))
_FAILED = update(_MESSAGE).where(_MESSAGE.c.id == bindparam("mid")).values(
    status="failed", failure_reason=bindparam("reason"), updated_at=bindparam("now"))
_INSERT_EVENT = insert(CaseEvent.__table__)  # type: ignore[attr-defined]

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
        batch = [(stream, entry_id, (fields or {}).get("id", "")) for stream, items in entries
                 for entry_id, fields in items]
        self._handle(batch)
        return len(batch)

    def take_over(self, consumer: str, count: int = 50) -> int:
        """Entries read by a worker that died without acknowledging them."""
        handled = 0
        for stream in (keys.OUTBOX_ALERTS, keys.OUTBOX_BULK):
            _, items, *_ = self.redis.xautoclaim(
                stream, keys.OUTBOX_GROUP, consumer, keys.OUTBOX_CLAIM_IDLE_MS, "0-0", count=count
            )
            self._handle([(stream, entry_id, (fields or {}).get("id", "")) for entry_id, fields in items])
            handled += len(items)
        return handled

    def _handle(self, batch: list[tuple[str, str, str]]) -> None:
        """Send a batch of stream entries' messages, then acknowledge the entries."""
        if not batch:
            return
        self.send_all([message_id for _, _, message_id in batch if message_id])
        pipe = self.redis.pipeline(transaction=False)
        for stream, entry_id, _ in batch:
            pipe.xack(stream, keys.OUTBOX_GROUP, entry_id)
            pipe.xdel(stream, entry_id)
        pipe.execute()

    def send(self, message_id: str) -> None:
        """Send one queued message, unless another worker already has (or is doing so)."""
        self.send_all([message_id])

    def send_all(self, message_ids: list[str]) -> None:
        """Send the queued messages among `message_ids` that no other worker has claimed.

        One write transaction claims the whole batch (`queued` → `sending`, guarded, so a message
        claimed elsewhere is skipped), not one per message: on SQLite every write transaction
        takes the one write lock, and under a burst of alerts the worker's per-message claims kept
        the reports villagers were waiting on queued behind them. Each send's outcome is recorded
        as soon as the provider answers (one short statement), so a worker killed mid-batch leaves
        at most the message in flight to be sent twice, never the batch.
        """
        for message, to in self._claim(message_ids):
            if to is None:
                self._settle(message, SendResult("permanent", detail="recipient no longer known"))
                continue
            self._wait_for_rate()
            result = self.transport.send(to, message.body, message_id=message.id, template=message.template,
                                         dlt_template_id=message.dlt_template_id)
            self.metrics.sms_sent.labels(result.outcome).inc()
            self._settle(message, result)

    def _claim(self, message_ids: list[str]) -> list[tuple[Message, str | None]]:
        if not message_ids:
            return []
        with Session(self.engine, expire_on_commit=False) as session:
            won = session.execute(
                update(Message)
                .where(col(Message.id).in_(message_ids), col(Message.status) == "queued")
                .values(status="sending", attempts=Message.attempts + 1, updated_at=utcnow())
                .returning(col(Message.id))
            ).scalars().all()
            session.commit()
        if not won:
            return []
        with read_session(self.engine) as session:
            messages = session.exec(select(Message).where(col(Message.id).in_(won))).all()
            order = {message_id: index for index, message_id in enumerate(message_ids)}
            return [(message, self._recipient(session, message))
                    for message in sorted(messages, key=lambda message: order.get(message.id, 0))]

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
        """Record a send's outcome in one short transaction; a dead letter goes to the escalation hook.

        The decision is made before the transaction opens (the claim read the message's attempts)
        and the write is a Core statement: on SQLite the write lock is held for the statement
        alone, not for ORM work, so a villager's report waiting for it is not kept.
        """
        now = utcnow()
        temporary = result.outcome == "temporary" and message.attempts < MAX_ATTEMPTS
        with self.engine.begin() as connection:
            if result.outcome == "accepted":
                connection.execute(_SENT, {"mid": message.id, "provider_id": result.provider_id,
                                           "provider_status": result.detail[:40], "now": now})
                return
            if temporary:
                connection.execute(_RETRY, {"mid": message.id, "reason": result.detail[:200], "now": now})
            else:
                message.status, message.failure_reason = "failed", result.detail[:200] or "failed"
                connection.execute(_FAILED, {"mid": message.id, "reason": message.failure_reason, "now": now})
                if message.case_id is not None:
                    connection.execute(_INSERT_EVENT, event_row(message.case_id, "failed", {
                        "message": message.id, "unit": message.unit, "contact": message.contact_name,
                        "step": message.step, "reason": message.failure_reason, "attempts": message.attempts},
                        at=now))
        if temporary:
            delay = BACKOFF_S[min(message.attempts - 1, len(BACKOFF_S) - 1)]
            self.redis.zadd(keys.OUTBOX_RETRY, {message.id: self.clock.now() + delay})
            return
        log.warning("message dead-lettered", extra={"message_id": message.id, "reason": message.failure_reason[:80]})
        self.metrics.sms_dead_letters.inc()
        self.on_final_failure(message)

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
