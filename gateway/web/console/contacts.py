"""Contacts as the directory page edits them, and the phones whose SMS keep failing.

An edit takes effect for new alerts at once in this process (the router's cache is dropped) and
within the router cache's 30 seconds on other replicas; ladders already copied onto open cases
keep the contacts they had, as the routing module intends. Every change is written to the
console's audit table with the staff member's name and the fields before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.infra.phones import to_e164
from gateway.record.models import Case, ConsoleAudit, Contact, Message, Place, at_place
from gateway.referrals.actions import Principal

FAILING_AT_LEAST = 2  # failed SMS in FAILING_WINDOW before a phone is listed
FAILING_WINDOW = timedelta(days=30)
LIST_LIMIT = 500
LANGUAGES = ("hi", "bn", "en", "sat", "hi_latn", "sat_latn", "sat_olck", "sat_beng")


class ContactError(ValueError):
    """An edit that cannot be saved (bad phone, a duplicate of another contact)."""


def in_scope(session: Session, who: Principal, contact_id: int) -> tuple[Contact, Place] | None:
    contact = session.get(Contact, contact_id)
    place = session.get(Place, {"level": contact.place_level, "lgd_code": contact.place_lgd_code}) if contact else None
    if contact is None or place is None:
        return None
    if who.role == "district" and place.district_lgd != who.district_lgd:
        return None
    return contact, place


def listing(session: Session, *, district: int | None, unit: str | None, active: str, search: str) -> list[tuple[Contact, Place]]:
    """Contacts with their place; `district` None lists every district (and state-level contacts)."""
    query = select(Contact, Place).join(Place, at_place())
    if district is not None:
        query = query.where(col(Place.district_lgd) == district)
    if unit:
        query = query.where(col(Contact.unit) == unit)
    if active in ("yes", "no"):
        query = query.where(col(Contact.active) == (active == "yes"))
    if search.strip():
        query = query.where(col(Contact.name).ilike(f"%{search.strip()}%"))
    query = query.order_by(col(Place.level), col(Place.name), col(Contact.unit), col(Contact.name)).limit(LIST_LIMIT)
    return [(contact, place) for contact, place in session.exec(query)]


def update_contact(session: Session, contact: Contact, *, name: str, phone: str, role: str, language: str,
                   active: bool, actor: str) -> dict[str, list[object]]:
    """Save an edit; returns the changed fields as {field: [before, after]} (also audited)."""
    e164 = to_e164(phone.strip())
    if e164 is None:
        raise ContactError(f"{phone!r} is not a phone number (E.164 or Indian national form)")
    if not name.strip():
        raise ContactError("the name is empty")
    wanted = {"name": name.strip()[:200], "phone": e164, "role": role.strip()[:100],
              "language": (language.strip().lower() or "en")[:16], "active": active}
    changes = {field: [getattr(contact, field), value] for field, value in wanted.items()
               if getattr(contact, field) != value}
    if not changes:
        return {}
    for field, (_, value) in changes.items():
        setattr(contact, field, value)
    session.add(contact)
    session.add(ConsoleAudit(actor=actor, action="contact_edit", detail={"contact": contact.id, "changes": changes}))
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ContactError("another contact of this unit at this place already has that phone") from exc
    return changes


@dataclass(frozen=True)
class FailingPhone:
    phone: str
    failures: int
    last_failure: datetime
    last_reason: str
    contacts: list[str]  # "name (unit at place)", every contact row with this phone
    delivered_since: int  # messages delivered after the last failure: the phone may be back


def failing(session: Session, who: Principal, district: int | None, now: datetime) -> list[FailingPhone]:
    """Phones with at least FAILING_AT_LEAST final failures in the last FAILING_WINDOW.

    Counted from `message.status = 'failed'` grouped by `to_phone`, for the cases in scope (a
    district user sees failures of their district's alerts only).
    """
    since = now - FAILING_WINDOW
    query = (select(Message.to_phone, func.count(), func.max(Message.updated_at))
             .where(col(Message.direction) == "out", col(Message.status) == "failed",
                    col(Message.to_phone).is_not(None), col(Message.created_at) >= since))
    if district is not None or who.role == "district":
        query = query.join(Case, col(Case.id) == col(Message.case_id)).where(
            col(Case.district_lgd) == (who.district_lgd if who.role == "district" else district))
    query = query.group_by(Message.to_phone).having(func.count() >= FAILING_AT_LEAST).order_by(func.count().desc())
    found: list[FailingPhone] = []
    for phone, count, last in session.exec(query).all()[:200]:  # type: ignore[call-overload]
        reason = session.exec(select(Message.failure_reason).where(
            col(Message.to_phone) == phone, col(Message.status) == "failed").order_by(col(Message.updated_at).desc())).first()
        delivered = session.exec(select(func.count()).select_from(Message).where(
            col(Message.to_phone) == phone, col(Message.status) == "delivered", col(Message.updated_at) > last)).one()
        rows = session.exec(select(Contact, Place).join(Place, at_place())
                            .where(col(Contact.phone) == phone)).all()
        found.append(FailingPhone(phone, int(count), last, reason or "", [
            f"{c.name} ({c.unit} at {p.name}{'' if c.active else ', inactive'})" for c, p in rows], int(delivered)))
    return found
