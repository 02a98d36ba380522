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
from sqlmodel import Session

from gateway import keys
from gateway.cases import NewReport, create_case
from gateway.crypto import PhoneCipher
from gateway.db import NO_WAIT
from gateway.metrics import Metrics
from gateway.models import Case, CaseEvent
from gateway.outbox import Queued
from gateway.redis_direct import DirectRedis
from gateway.referrals import Referrals

log = logging.getLogger("cpgw.intake")


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
    direct: DirectRedis  # the USSD hot path's connections: a report is stored on that path
    _no_wait_engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        # The same pool, with SQLite's write lock taken at once or not at all (`gateway.db.NO_WAIT`).
        self._no_wait_engine = self.engine.execution_options(**{NO_WAIT: True})

    def submit(self, report: NewReport, sender: str, *, wait: bool = True) -> Taken:
        """Store (or link) a report from the phone `sender`; the case is committed on return.

        `wait=False` (SQLite only): raise `OperationalError` ("database is locked") at once
        rather than wait for another writer; nothing has been written then.
        """
        dup_key = keys.REPORT_DUPLICATE.format(
            phone=self.cipher.tag(sender), village=report.village_lgd, concern=report.concern)
        earlier = self._open_case(self.direct.execute(("GET", dup_key))[0])
        if earlier is not None:
            self._link(earlier, report)
            return Taken(earlier, duplicate=True)
        engine = self.engine if wait else self._no_wait_engine
        case, alerts = create_case(engine=engine, cipher=self.cipher, report=report, referrals=self.referrals)
        self._publish(case, alerts, dup_key)
        log.info("case reported", extra={"ref": case.ref, "channel": report.channel})
        self.metrics.cases_created.labels(report.channel).inc()
        return Taken(case, duplicate=False)

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

    def _publish(self, case: Case, alerts: list[Queued], dup_key: str) -> None:
        """Alerts, deadline and the repeat marker in one round trip, after the commit.

        The case is stored: a Redis hiccup now must not turn "sent" into "not sent". What it
        loses, the worker's audit rebuilds from SQL (alerts, deadline); only the link of a
        repeat report to this case would be missed.
        """
        pipe = self.redis.pipeline(transaction=False)
        if self.referrals is not None:
            self.referrals.after_commit(case, alerts, pipe)
        pipe.set(dup_key, case.id or 0, ex=keys.REPORT_DUPLICATE_TTL_S)
        try:
            self.direct.send(pipe)
        except redis.RedisError:
            log.error("alerts not published; the worker's audit will", extra={"ref": case.ref})
