"""Cases: created once per report, whatever the provider retries, and read back for the API."""

from __future__ import annotations

import logging
import threading
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Row, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gateway.infra.clock import as_datetime
from gateway.infra.crypto import PhoneCipher
from gateway.record.db import read_session
from gateway.record.models import Case, ReporterContact, event_row
from gateway.record.routing_directory import SqlDirectory
from gateway.referrals.loop import Rows
from gateway.referrals.outbox import Queued
from menus.refs import new_reference
from routing.units import REPORTABLE_LEVELS

if TYPE_CHECKING:
    from gateway.referrals.loop import Referrals
    from routing.ladder import Ladder

log = logging.getLogger("cpgw.cases")
REFERENCE_ATTEMPTS = 8
_CASE = Case.__table__  # type: ignore[attr-defined]
# Built once: a statement object made per call costs more than its execution (parameters vary).
# RETURNING makes SQLAlchemy send a batch as one multi-row INSERT ("insertmanyvalues"), where a
# plain executemany is one statement per row; a case's id comes back with its source key.
_INSERT_CASES = insert(_CASE).returning(_CASE.c.id, _CASE.c.source_key)
_REPORTER = ReporterContact.__table__  # type: ignore[attr-defined]
_INSERT_REPORTERS = insert(_REPORTER).returning(_REPORTER.c.case_id)


class UnknownVillage(ValueError):
    """The report names a village that is not (or no longer) in the directory."""


@dataclass(frozen=True)
class NewReport:
    source_key: str  # "ussd:<sessionId>" or "sms:<id>": one case per key, ever
    village_lgd: int
    concern: str
    urgent: bool
    channel: str
    language: str
    reporter_phone: str | None  # kept (encrypted) only when the reporter agreed to a call-back
    village_level: str = "village"  # or "ward": where a child can be


def create_case(
    *, engine: Engine, cipher: PhoneCipher, report: NewReport, referrals: Referrals | None = None,
) -> tuple[Case, list[Queued]]:
    """Store the report, its first event and its first alerts; committed (on disk) on return.

    Returns the case and the alerts to publish once committed. A second call with the same
    `source_key` returns the case the first one stored, and no alerts. If routing fails the case
    is stored all the same (a report is never lost); the worker routes it later.
    """
    [stored] = create_cases(engine=engine, cipher=cipher, reports=[report], referrals=referrals)
    if isinstance(stored, BaseException):
        raise stored
    return stored


def create_cases(
    *, engine: Engine, cipher: PhoneCipher, reports: list[NewReport], referrals: Referrals | None = None,
) -> list[tuple[Case, list[Queued]] | BaseException]:
    """`create_case` for several reports at once, in one write transaction (`GroupCommit`): each
    report's case and alerts, or what failed it (an unknown village fails that report alone).

    The ladder, the village, the clock and the encryption are all worked out before the write
    transaction, which reports arriving together share.
    """
    drafts: list[_Draft | BaseException] = []
    for report in reports:
        try:
            drafts.append(_draft(engine, cipher, report, referrals))
        except UnknownVillage as exc:
            drafts.append(exc)
    writing = [draft for draft in drafts if isinstance(draft, _Draft)]
    if writing:
        GroupCommit.of(engine).store(writing)
    return [draft if isinstance(draft, BaseException) else draft.outcome() for draft in drafts]


def _draft(engine: Engine, cipher: PhoneCipher, report: NewReport, referrals: Referrals | None) -> _Draft:
    ladder = _plan(referrals, report) if referrals else None
    now = referrals.clock.now() if referrals else 0.0
    village = _village(engine, report, referrals)
    return _Draft(report, _case(report, village, referrals, ladder, now), village, ladder, referrals,
                  _reporter(cipher, report.reporter_phone))


def _plan(referrals: Referrals, report: NewReport) -> Ladder | None:
    try:
        return referrals.plan(report.village_lgd, report.concern, report.urgent, report.village_level)
    except Exception as exc:  # noqa: BLE001 — the report must be stored even if routing breaks
        log.error("routing failed; case stored unrouted", extra={"error": type(exc).__name__})
        return None


def _village(engine: Engine, report: NewReport, referrals: Referrals | None) -> Row[Any]:
    """The reported place's row, from the routing directory's short-lived cache where there is one."""
    directory = referrals.directory if referrals is not None else None
    if not isinstance(directory, SqlDirectory):
        directory = SqlDirectory(engine, cache_size=0)
    village = directory.place(report.village_lgd, report.village_level)
    if village is None or village.level not in REPORTABLE_LEVELS:
        raise UnknownVillage(str(report.village_lgd))
    return village


def _reporter(cipher: PhoneCipher, phone: str | None) -> dict[str, str] | None:
    """The reporter contact row's values: the number encrypted, and its keyed hash for STOP."""
    if phone is None:
        return None
    return {"phone_encrypted": cipher.encrypt(phone), "phone_tag": cipher.tag(phone)}


def _case(report: NewReport, village: Row[Any], referrals: Referrals | None, ladder: Ladder | None,
          now: float) -> Case:
    case = Case(
        ref=new_reference(), source_key=report.source_key, concern=report.concern, urgent=report.urgent,
        village_lgd=village.lgd_code, village_level=village.level, block_lgd=village.block_lgd,
        district_lgd=village.district_lgd,
        channel=report.channel, language=report.language, callback=report.reporter_phone is not None,
        # The referral loop's clock (the wall clock in service): the law counts duties from the
        # report (routing.duties), and a test's manual clock must count them from the same time.
        **({"created_at": as_datetime(now)} if referrals is not None else {}),
    )
    if referrals is not None and ladder is not None:
        referrals.prepare(case, ladder, now)
    return case


@dataclass
class _Draft:
    """A report worked out before the write transaction, and (once written) what became of it."""

    report: NewReport
    case: Case
    village: Row[Any]
    ladder: Ladder | None
    referrals: Referrals | None
    reporter: dict[str, str] | None
    done: threading.Event = field(default_factory=threading.Event)
    stored: tuple[Case, list[Queued]] | None = None
    error: BaseException | None = None

    def outcome(self) -> tuple[Case, list[Queued]] | BaseException:
        """Once written: the case and its alerts, or what failed it."""
        if self.error is not None:
            return self.error
        if self.stored is None:
            return RuntimeError("the thread writing this report stopped")
        return self.stored


class GroupCommit:
    """Reports stored at the same moment share one write transaction.

    SQLite has one writer, and every statement of a transaction gives the GIL away: under load the
    storing thread then waits for a busy event loop to hand it back, statement after statement,
    while the next reports queue for the write lock (the storing hop's tail, docs/benchmarks.md).
    So the thread whose turn it is writes every report waiting then: one BEGIN, one INSERT per
    table for them all, one COMMIT (one fsync); a caller may bring several (the effects process
    stores the reports that reached it together). Each caller returns once its own reports are
    committed; a report that fails (a provider's retry already stored, a reference drawn twice) is
    written again alone, so it never takes the others down with it.
    """

    MAX_BATCH = 32
    _of: ClassVar[WeakKeyDictionary[Engine, GroupCommit]] = WeakKeyDictionary()
    _of_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._waiting: deque[_Draft] = deque()
        self._turn = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> GroupCommit:
        """The engine's one group: reports of a process must queue in one place to share a commit."""
        with cls._of_lock:
            group = cls._of.get(engine)
            if group is None:
                group = cls._of[engine] = cls(engine)
            return group

    def store(self, drafts: list[_Draft]) -> None:
        """Write `drafts` (each then `done`, with its outcome), with whatever else is waiting."""
        self._waiting.extend(drafts)
        with self._turn:
            while not all(draft.done.is_set() for draft in drafts):  # else a thread before us wrote them
                self._write(self._take())

    def _take(self) -> list[_Draft]:
        batch: list[_Draft] = []
        with suppress(IndexError):
            while len(batch) < self.MAX_BATCH:
                batch.append(self._waiting.popleft())
        return batch

    def _write(self, batch: list[_Draft]) -> None:
        try:
            try:
                self._insert(batch)
            except IntegrityError:
                for draft in batch:
                    self._alone(draft)
        except Exception as exc:  # noqa: BLE001 — each caller raises it: its villager is told to call the helplines
            for draft in batch:
                if draft.stored is None:
                    draft.error = exc
        finally:
            for draft in batch:
                draft.done.set()

    def _alone(self, draft: _Draft) -> None:
        for _ in range(REFERENCE_ATTEMPTS):
            try:
                self._insert([draft])
                return
            except IntegrityError:
                existing = find_by_source(self._engine, draft.report.source_key)
                if existing is not None:  # the same report, stored by a retry or a concurrent hop
                    draft.stored = existing, []
                    return
                draft.case.ref = new_reference()  # otherwise a reference collision: draw another
        draft.error = RuntimeError("could not allocate a case reference")

    def _insert(self, batch: list[_Draft]) -> None:
        """One transaction, one statement per table for the whole batch: the cases (their ids come
        back by source key), then their reporter contacts, events and alerts."""
        with self._engine.begin() as conn:
            ids = {key: id_ for id_, key in conn.execute(
                _INSERT_CASES, [draft.case.model_dump(exclude={"id"}) for draft in batch])}
            for draft in batch:
                draft.case.id = ids[draft.report.source_key]
            firsts = [_first_rows(draft) for draft in batch]
            reporters = [{"case_id": draft.case.id, **draft.reporter} for draft in batch if draft.reporter]
            if reporters:
                conn.execute(_INSERT_REPORTERS, reporters).all()
            Rows([m for rows in firsts for m in rows.messages], [e for rows in firsts for e in rows.events]).write(conn)
        for draft, rows in zip(batch, firsts, strict=True):
            draft.stored = draft.case, rows.queued()


def _first_rows(draft: _Draft) -> Rows:
    """The first event and alerts of a case just inserted."""
    case, report = draft.case, draft.report
    assert case.id is not None
    reported = event_row(case.id, "reported", {"channel": report.channel, "concern": report.concern,
                                               "urgent": report.urgent}, actor="reporter", at=case.created_at)
    if draft.referrals is None:
        return Rows([], [reported])
    if draft.ladder is None:
        return Rows([], [reported, event_row(case.id, "routing_failed", {})])
    rows = draft.referrals.first_alerts(case, draft.ladder, draft.village)
    rows.events.insert(0, reported)
    return rows


def find_by_source(engine: Engine, source_key: str) -> Case | None:
    with read_session(engine) as session:
        return session.exec(select(Case).where(Case.source_key == source_key)).first()


def find_by_ref(engine: Engine, ref: str) -> Case | None:
    with read_session(engine) as session:
        return session.exec(select(Case).where(Case.ref == ref)).first()
