"""Cases: created once per report, whatever the provider retries, and read back for the API."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, bindparam, insert
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gateway.infra.clock import as_datetime
from gateway.infra.crypto import PhoneCipher
from gateway.record.db import read_session
from gateway.record.models import Case, Place, ReporterContact, event_row
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
_PLACE = Place.__table__  # type: ignore[attr-defined]
# Built once: a statement object made per call costs more than its execution (parameters vary).
_INSERT_CASE = insert(_CASE)
_INSERT_REPORTER = insert(ReporterContact.__table__)  # type: ignore[attr-defined]
_VILLAGE = core_select(_PLACE).where(_PLACE.c.level == bindparam("level"), _PLACE.c.lgd_code == bindparam("lgd"))


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
    """Store the report, its first event and its first alerts in one transaction.

    Returns the case and the alerts to publish once committed. A second call with the same
    `source_key` returns the case the first one stored, and no alerts. If routing fails the case
    is stored all the same (a report is never lost); the worker routes it later. The ladder, the
    clock and the encryption are all worked out before the write transaction opens, so that
    SQLite's single write lock is held only for the inserts.
    """
    ladder = _plan(referrals, report) if referrals else None
    now = referrals.clock.now() if referrals else 0.0
    reporter = _reporter(cipher, report.reporter_phone)
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            return _insert(engine, report, referrals, ladder, now, reporter)
        except IntegrityError:
            existing = find_by_source(engine, report.source_key)
            if existing is not None:  # the same report, stored by a retry or a concurrent hop
                return existing, []
            # otherwise a reference collision: draw another
    raise RuntimeError("could not allocate a case reference")


def _plan(referrals: Referrals, report: NewReport) -> Ladder | None:
    try:
        return referrals.plan(report.village_lgd, report.concern, report.urgent, report.village_level)
    except Exception as exc:  # noqa: BLE001 — the report must be stored even if routing breaks
        log.error("routing failed; case stored unrouted", extra={"error": type(exc).__name__})
        return None


def _reporter(cipher: PhoneCipher, phone: str | None) -> dict[str, str] | None:
    """The reporter contact row's values: the number encrypted, and its keyed hash for STOP."""
    if phone is None:
        return None
    return {"phone_encrypted": cipher.encrypt(phone), "phone_tag": cipher.tag(phone)}


def _insert(
    engine: Engine, report: NewReport, referrals: Referrals | None, ladder: Ladder | None, now: float,
    reporter: dict[str, str] | None,
) -> tuple[Case, list[Queued]]:
    """One write transaction of Core inserts: the case, its reporter contact, events and alerts.

    This runs on the hop that tells a villager "sent"; ORM objects for the half-dozen rows cost
    more than everything else on that hop, so only the returned `Case` is a model (never attached).
    """
    with engine.begin() as conn:
        village = conn.execute(_VILLAGE, {"level": report.village_level, "lgd": report.village_lgd}).first()
        if village is None or village.level not in REPORTABLE_LEVELS:
            raise UnknownVillage(str(report.village_lgd))
        case = Case(
            ref=new_reference(), source_key=report.source_key, concern=report.concern, urgent=report.urgent,
            village_lgd=village.lgd_code, village_level=village.level, block_lgd=village.block_lgd,
            district_lgd=village.district_lgd,
            channel=report.channel, language=report.language, callback=reporter is not None,
            # The referral loop's clock (the wall clock in service): the law counts duties from the
            # report (routing.duties), and a test's manual clock must count them from the same time.
            **({"created_at": as_datetime(now)} if referrals is not None else {}),
        )
        if referrals is not None and ladder is not None:
            referrals.prepare(case, ladder, now)
        case.id = conn.execute(_INSERT_CASE, case.model_dump(exclude={"id"})).inserted_primary_key[0]
        assert case.id is not None
        if reporter is not None:
            conn.execute(_INSERT_REPORTER, {"case_id": case.id, **reporter})
        reported = event_row(case.id, "reported", {"channel": report.channel, "concern": report.concern,
                                                "urgent": report.urgent}, actor="reporter", at=case.created_at)
        if referrals is not None and ladder is not None:
            rows = referrals.first_alerts(case, ladder, village)
            rows.events.insert(0, reported)
        else:
            rows = Rows([], [reported] + ([event_row(case.id, "routing_failed", {})] if referrals is not None else []))
        return case, rows.write(conn)


def find_by_source(engine: Engine, source_key: str) -> Case | None:
    with read_session(engine) as session:
        return session.exec(select(Case).where(Case.source_key == source_key)).first()


def find_by_ref(engine: Engine, ref: str) -> Case | None:
    with read_session(engine) as session:
        return session.exec(select(Case).where(Case.ref == ref)).first()
