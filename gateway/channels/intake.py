"""Taking a report in, whatever the channel: store it once, route it, and link repeats.

The same phone reporting the same village and concern again within a few hours is most often the
same child (a villager who was not sure the first report went through): the repeat is recorded on
the earlier case, which the DCPU sees, instead of alerting the committee a second time. An earlier
case already resolved is reopened by it: back to the unit that had it, told by SMS.

Runs on a thread (the USSD endpoint hands it to one; SMS webhooks are threaded routes): SQL
through the engine, Redis through the blocking redis-py client's pipelines.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway.infra import keys
from gateway.infra.crypto import PhoneCipher
from gateway.infra.metrics import Metrics
from gateway.record.db import read_session
from gateway.record.models import Case, CaseEvent
from gateway.referrals.cases import NewReport, create_cases
from gateway.referrals.loop import CaseNotOpen, Referrals
from gateway.referrals.outbox import Queued

log = logging.getLogger("cpgw.intake")


class Unread:
    """`Intake.submit` reads the repeat marker itself (the caller did not)."""


UNREAD = Unread()


@dataclass(frozen=True)
class Taken:
    case: Case
    duplicate: bool  # True: linked to an earlier case (reopened if it was resolved), no new alerts
    opens: str | None = None  # "10:00": not urgent, and the office it goes to opens then


@dataclass
class Intake:
    engine: Engine
    redis: redis.Redis
    cipher: PhoneCipher
    referrals: Referrals | None
    metrics: Metrics

    def repeat_key(self, report: NewReport, sender: str) -> str:
        """The Redis key marking the case this phone last reported for this place and concern."""
        return keys.REPORT_DUPLICATE.format(phone=self.cipher.tag(sender), village=_place(report), concern=report.concern)

    def submit(self, report: NewReport, sender: str, *, earlier: str | None | Unread = UNREAD) -> Taken:
        """Store (or link) a report from the phone `sender`; the case is committed (and, on
        SQLite, synced to disk) on return, before anyone tells the villager "sent". `earlier`: the
        repeat marker's value, when the caller read it with its own round trip (`repeat_key`)."""
        [taken] = self.submit_many([(report, sender, earlier)])
        if isinstance(taken, BaseException):
            raise taken
        return taken

    def submit_many(self, reports: list[tuple[NewReport, str, str | None | Unread]]) -> list[Taken | BaseException]:
        """`submit` for reports that arrived together: the new ones stored in one write transaction
        and published in one Redis round trip; for each, what became of it or what failed it."""
        unread = [i for i, (_, _, earlier) in enumerate(reports) if isinstance(earlier, Unread)]
        markers = self.redis.mget([self.repeat_key(*reports[i][:2]) for i in unread]) if unread else []
        earliers: list[str | None] = [None if isinstance(e, Unread) else e for _, _, e in reports]
        for i, marker in zip(unread, markers, strict=True):
            earliers[i] = marker
        taken: list[Taken | BaseException | None] = [None] * len(reports)
        new: list[int] = []
        for i, ((report, _, _), case_id) in enumerate(zip(reports, earliers, strict=True)):
            try:
                before = self._earlier_case(case_id)
                if before is not None:
                    taken[i] = self._repeat(before, report)
                    continue
            except SQLAlchemyError as exc:  # this report's villager is told to call; the others are stored
                taken[i] = exc
                continue
            new.append(i)
        stored = create_cases(engine=self.engine, cipher=self.cipher, reports=[reports[i][0] for i in new],
                              referrals=self.referrals)
        committed = [(i, outcome) for i, outcome in zip(new, stored, strict=True) if not isinstance(outcome, BaseException)]
        try:
            self._publish(committed, reports)
        except redis.RedisError:
            for _, (case, _) in committed:
                unpublished(case.ref)
        for i, outcome in zip(new, stored, strict=True):
            taken[i] = outcome if isinstance(outcome, BaseException) else self._taken(reports[i][0], outcome[0])
        assert all(item is not None for item in taken), "every report has an outcome"
        return taken  # type: ignore[return-value]

    def _repeat(self, before: Case, report: NewReport) -> Taken:
        self._link(before, report)
        if before.status == "resolved" and self.referrals is not None:
            # Closed too soon: the case comes back to the unit that had it, which is told.
            with suppress(CaseNotOpen):  # reopened meanwhile by another report or a person
                before = self.referrals.reopen(before, reason=f"new {report.channel} report", actor="reporter")
        return Taken(before, duplicate=True)

    def _taken(self, report: NewReport, case: Case) -> Taken:
        log.info("case reported", extra={"ref": case.ref, "channel": report.channel})
        self.metrics.cases_created.labels(report.channel).inc()
        return Taken(case, duplicate=False, opens=self.referrals.opens(case) if self.referrals else None)

    def _earlier_case(self, case_id: str | None) -> Case | None:
        if not case_id:
            return None
        with read_session(self.engine) as session:  # a read: never a turn at SQLite's writer
            return session.get(Case, int(case_id))

    def _link(self, case: Case, report: NewReport) -> None:
        with Session(self.engine) as session:
            session.add(CaseEvent(case_id=case.id, kind="duplicate_report", actor="reporter", detail={
                "channel": report.channel, "concern": report.concern, "urgent": report.urgent}))
            session.commit()
        self.metrics.cases_created.labels("duplicate").inc()

    def _publish(self, stored: list[tuple[int, tuple[Case, list[Queued]]]],
                 reports: list[tuple[NewReport, str, str | None | Unread]]) -> None:
        """Alerts, deadlines and the repeat markers of cases just committed, in one round trip."""
        if not stored:
            return
        pipe = self.redis.pipeline(transaction=False)
        for i, (case, alerts) in stored:
            if self.referrals is not None:
                self.referrals.after_commit(case, alerts, pipe)
            pipe.set(self.repeat_key(*reports[i][:2]), case.id or 0, ex=keys.REPORT_DUPLICATE_TTL_S)
        pipe.execute()


def _place(report: NewReport) -> str:
    """The reported place in the repeat marker's key: a village by its code (as before levels), a
    ward by level and code (LGD may number a ward as it numbers some village)."""
    level = report.village_level
    return str(report.village_lgd) if level == "village" else f"{level}-{report.village_lgd}"


def unpublished(ref: str) -> None:
    """A committed case whose publication Redis did not take.

    The case is stored: a Redis hiccup now must not turn "sent" into "not sent". What it loses,
    the worker's audit rebuilds from SQL (alerts, deadline); only the link of a repeat report to
    this case would be missed.
    """
    log.error("alerts not published; the worker's audit will", extra={"ref": ref})
