"""Cases: created once per report, whatever the provider retries, and read back for the API."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway.crypto import PhoneCipher
from gateway.db import read_session
from gateway.models import Case, CaseEvent, Message, Place, ReporterContact
from menus.refs import new_reference

if TYPE_CHECKING:
    from gateway.referrals import Referrals
    from routing.ladder import Ladder

log = logging.getLogger("cpgw.cases")
REFERENCE_ATTEMPTS = 8


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


def create_case(
    *, engine: Engine, cipher: PhoneCipher, report: NewReport, referrals: Referrals | None = None
) -> tuple[Case, list[Message]]:
    """Store the report, its first event and its first alerts in one transaction.

    Returns the case and the alerts to publish once committed. A second call with the same
    `source_key` returns the case the first one stored, and no alerts. If routing fails the case
    is stored all the same (a report is never lost); the worker routes it later. The ladder is
    worked out before the write transaction opens, so the directory reads never wait on it.
    """
    ladder = _plan(referrals, report) if referrals else None
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            return _insert(engine, cipher, report, referrals, ladder)
        except IntegrityError:
            existing = find_by_source(engine, report.source_key)
            if existing is not None:  # the same report, stored by a retry or a concurrent hop
                return existing, []
            # otherwise a reference collision: draw another
    raise RuntimeError("could not allocate a case reference")


def _plan(referrals: Referrals, report: NewReport) -> Ladder | None:
    try:
        return referrals.plan(report.village_lgd, report.concern, report.urgent)
    except Exception as exc:  # noqa: BLE001 — the report must be stored even if routing breaks
        log.error("routing failed; case stored unrouted", extra={"error": type(exc).__name__})
        return None


def _insert(
    engine: Engine, cipher: PhoneCipher, report: NewReport, referrals: Referrals | None, ladder: Ladder | None
) -> tuple[Case, list[Message]]:
    with Session(engine, expire_on_commit=False) as session:
        village = session.get(Place, report.village_lgd)
        if village is None or village.level != "village":
            raise UnknownVillage(str(report.village_lgd))
        case = Case(
            ref=new_reference(), source_key=report.source_key, concern=report.concern, urgent=report.urgent,
            village_lgd=village.lgd_code, block_lgd=village.block_lgd, district_lgd=village.district_lgd,
            channel=report.channel, language=report.language, callback=report.reporter_phone is not None,
        )
        session.add(case)
        session.flush()
        assert case.id is not None
        if report.reporter_phone is not None:
            session.add(ReporterContact(case_id=case.id, phone_encrypted=cipher.encrypt(report.reporter_phone),
                                        phone_tag=cipher.tag(report.reporter_phone)))
        session.add(
            CaseEvent(
                case_id=case.id, at=case.created_at, kind="reported", actor="reporter",
                detail={"channel": report.channel, "concern": report.concern, "urgent": report.urgent},
            )
        )
        messages: list[Message] = []
        if referrals is not None and ladder is not None:
            messages = referrals.open_case(session, case, ladder)
        elif referrals is not None:
            session.add(CaseEvent(case_id=case.id, kind="routing_failed", detail={}))
        session.commit()
        return case, messages


def find_by_source(engine: Engine, source_key: str) -> Case | None:
    with read_session(engine) as session:
        return session.exec(select(Case).where(Case.source_key == source_key)).first()


def find_by_ref(engine: Engine, ref: str) -> Case | None:
    with read_session(engine) as session:
        return session.exec(select(Case).where(Case.ref == ref)).first()
