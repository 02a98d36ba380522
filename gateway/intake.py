"""Taking a report in, whatever the channel: store it once, route it, and link repeats.

The same phone reporting the same village and concern again within a few hours is most often the
same child (a villager who was not sure the first report went through): the repeat is recorded on
the open case, which the DCPU sees, instead of alerting the committee a second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from gateway import keys
from gateway.cases import NewReport, create_case
from gateway.crypto import PhoneCipher
from gateway.db import is_locked
from gateway.metrics import Metrics
from gateway.models import Case, CaseEvent
from gateway.outbox import Queued
from gateway.redis_direct import Command, DirectRedis, queued_commands
from gateway.redis_loop import LoopRedis
from gateway.referrals import Referrals
from gateway.sqlite_direct import DirectSqlite

log = logging.getLogger("cpgw.intake")


class MustWait(Exception):
    """This report cannot be stored on the event loop without waiting; nothing was written."""


@dataclass(frozen=True)
class Taken:
    case: Case
    duplicate: bool  # True: linked to an earlier open case, no new alerts


@dataclass
class Intake:
    engine: Engine
    redis: redis.Redis
    cipher: PhoneCipher
    referrals: Referrals | None
    metrics: Metrics
    direct: DirectRedis  # Redis for `submit`, which runs on threads (the event loop's is `LoopRedis`)
    _inline: DirectSqlite | None = field(init=False)  # SQLite: reports stored on the event loop

    def __post_init__(self) -> None:
        self._inline = DirectSqlite(self.engine) if self.engine.dialect.name == "sqlite" else None

    def close(self) -> None:
        if self._inline is not None:
            self._inline.close()

    def submit(self, report: NewReport, sender: str) -> Taken:
        """Store (or link) a report from the phone `sender`; the case is committed on return."""
        dup_key = self._repeat_key(report, sender)
        earlier = self._open_case(self.direct.execute(("GET", dup_key))[0])
        if earlier is not None:
            self._link(earlier, report)
            return Taken(earlier, duplicate=True)
        case, alerts = self._create(report, writer=None)
        try:
            self.direct.execute(*self._publication(case, alerts, dup_key))
        except redis.RedisError:
            unpublished(case.ref)
        return Taken(case, duplicate=False)

    async def submit_inline(self, report: NewReport, sender: str, loop_redis: LoopRedis) -> tuple[Taken, list[Command]]:
        """`submit` on the event loop (SQLite): Redis awaited, the transaction on the loop's own connection.

        Returns the case and its publication (alerts, deadline, repeat marker), which the caller
        sends in the round trip that closes its hop: a round trip less, on the hop a villager
        waits for most. If that send fails, `unpublished(ref)` says what the audit will redo.

        Nothing here waits: when another writer holds SQLite's lock, or the report repeats an
        earlier one (linking it reads and writes through the engine, which may wait; rare), it
        raises `MustWait` before anything is written, and the caller runs `submit` on a thread.
        """
        if self._inline is None:
            raise MustWait("not SQLite")
        dup_key = self._repeat_key(report, sender)
        if (await loop_redis.execute(("GET", dup_key)))[0] is not None:
            raise MustWait("a repeat report")
        try:
            case, alerts = self._create(report, writer=self._inline)
        except OperationalError as exc:
            if is_locked(exc):
                raise MustWait("another writer holds the lock") from exc
            raise
        await self._inline.synced()  # on disk before the villager is told "sent"
        return Taken(case, duplicate=False), self._publication(case, alerts, dup_key)

    def _repeat_key(self, report: NewReport, sender: str) -> str:
        return keys.REPORT_DUPLICATE.format(
            phone=self.cipher.tag(sender), village=report.village_lgd, concern=report.concern)

    def _create(self, report: NewReport, writer: DirectSqlite | None) -> tuple[Case, list[Queued]]:
        case, alerts = create_case(engine=self.engine, cipher=self.cipher, report=report, referrals=self.referrals,
                                   writer=writer)
        log.info("case reported", extra={"ref": case.ref, "channel": report.channel})
        self.metrics.cases_created.labels(report.channel).inc()
        return case, alerts

    def _open_case(self, case_id: str | None) -> Case | None:
        if not case_id:
            return None
        with Session(self.engine) as session:
            case = session.get(Case, int(case_id))
        return case if case is not None and case.status != "resolved" else None

    def _link(self, case: Case, report: NewReport) -> None:
        with Session(self.engine) as session:
            session.add(CaseEvent(case_id=case.id, kind="duplicate_report", actor="reporter", detail={
                "channel": report.channel, "concern": report.concern, "urgent": report.urgent}))
            session.commit()
        self.metrics.cases_created.labels("duplicate").inc()

    def _publication(self, case: Case, alerts: list[Queued], dup_key: str) -> list[Command]:
        """Alerts, deadline and the repeat marker: the commands to send in one round trip after the commit."""
        pipe = self.redis.pipeline(transaction=False)  # only collects commands (`queued_commands`)
        if self.referrals is not None:
            self.referrals.after_commit(case, alerts, pipe)
        pipe.set(dup_key, case.id or 0, ex=keys.REPORT_DUPLICATE_TTL_S)
        return queued_commands(pipe)


def unpublished(ref: str) -> None:
    """A committed case whose publication Redis did not take.

    The case is stored: a Redis hiccup now must not turn "sent" into "not sent". What it loses,
    the worker's audit rebuilds from SQL (alerts, deadline); only the link of a repeat report to
    this case would be missed.
    """
    log.error("alerts not published; the worker's audit will", extra={"ref": ref})
