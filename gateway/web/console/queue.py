"""The case queue: what needs someone now comes first.

Order: open emergencies past their deadline, other open emergencies, other open cases past their
deadline (or owing a duty past its date), the other open cases, closures awaiting the district's
check, then acknowledged ones (emergencies first) and resolved ones last;
within each, the nearest deadline first. "Past its deadline" (`late`) means an open case
whose current step should have acknowledged by now (`due_at` passed, the sweeper may not have
moved it yet) or whose last step has run out (`overdue`). It is all one SQL query, ordered and
limited in the database, so the queue costs the same with ten cases or a state's worth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlalchemy import case as when
from sqlmodel import Session, col, select

from gateway.record.models import Case, CaseDuty
from gateway.referrals.actions import Principal
from gateway.referrals.duties import duties_of, duty_overdue, overdue_duties
from gateway.web.console.places import name_of, of_cases, scoped_district
from gateway.web.console.templating import is_emergency
from routing.concerns import CONCERNS
from routing.lifecycle import STATUSES

EMERGENCY_CONCERNS = tuple(concern.key for concern in CONCERNS if concern.priority == "emergency")
STATUS_CHOICES: dict[str, tuple[str, ...]] = {
    "active": ("open", "acknowledged", "closure_proposed"), "open": ("open",), "acknowledged": ("acknowledged",),
    "closure_proposed": ("closure_proposed",), "resolved": ("resolved",), "all": STATUSES,
}
LIMIT = 200


@dataclass(frozen=True)
class QueueFilter:
    district: int | None = None
    block: int | None = None
    concern: str | None = None
    status: str = "active"
    late_only: bool = False
    assigned_to: str | None = None  # "My cases": the signed-in user's username
    duty_late_only: bool = False


@dataclass(frozen=True)
class QueueRow:
    ref: str
    concern: str
    urgent: bool
    emergency: bool
    status: str
    village: str
    block: str
    district: str
    step: int
    units: tuple[str, ...]
    age_s: float  # since the report
    left_s: float | None  # until the current step's deadline; negative when past it
    late: bool
    acknowledged_by: str | None
    duty_late: bool = False  # a duty the law sets after the acknowledgement is past its date
    assigned_to: str | None = None


def late_clause(now: datetime):  # type: ignore[no-untyped-def]
    """SQL for "an open case past a deadline"."""
    return and_(col(Case.status) == "open",
                or_(col(Case.overdue), and_(col(Case.due_at).is_not(None), col(Case.due_at) < now)))


def find(session: Session, who: Principal, wanted: QueueFilter, now: datetime, limit: int = LIMIT) -> tuple[list[QueueRow], bool]:
    """The queue rows in order, and whether more than `limit` matched."""
    emergency = or_(col(Case.urgent), col(Case.concern).in_(EMERGENCY_CONCERNS))
    late = late_clause(now)
    query = select(Case).where(col(Case.status).in_(STATUS_CHOICES.get(wanted.status, STATUS_CHOICES["active"])))
    district = scoped_district(who, wanted.district)
    if district is not None:
        query = query.where(col(Case.district_lgd) == district)
    if wanted.block is not None:
        query = query.where(col(Case.block_lgd) == wanted.block)
    if wanted.concern:
        query = query.where(col(Case.concern) == wanted.concern)
    if wanted.late_only:
        query = query.where(late)
    if wanted.assigned_to:
        query = query.where(col(Case.assigned_to) == wanted.assigned_to)
    duty_late = col(Case.id).in_(select(CaseDuty.case_id).where(overdue_duties(now)))
    if wanted.duty_late_only:
        query = query.where(duty_late)
    is_open = col(Case.status) == "open"
    # A forgotten duty climbs as surely as a silent step: it ranks with the cases past a deadline.
    rank = when((and_(emergency, late), 0), (and_(is_open, emergency), 1), (or_(late, duty_late), 2), (is_open, 3),
                (col(Case.status) == "closure_proposed", 4), (emergency, 5), else_=6)
    query = query.order_by(col(Case.status) == "resolved", rank, col(Case.due_at).is_(None), col(Case.due_at),
                           col(Case.created_at).desc()).limit(limit + 1)
    cases = list(session.exec(query))
    more = len(cases) > limit
    cases = cases[:limit]
    places = of_cases(session, cases)
    owed = duties_of(session, cases)
    return [_row(c, places, now, any(duty_overdue(d, now) for d in owed.get(c.id or 0, []))) for c in cases], more


def is_late(case: Case, now: datetime) -> bool:
    return case.status == "open" and (case.overdue or (case.due_at is not None and case.due_at < now))


def step_units(case: Case) -> tuple[str, ...]:
    steps = (case.ladder or {}).get("steps") or []
    return tuple(steps[case.step].get("units", [])) if 0 <= case.step < len(steps) else ()


def _row(case: Case, places: dict, now: datetime, duty_late: bool) -> QueueRow:  # type: ignore[type-arg]
    keys = case.place_keys()
    left = (case.due_at - now).total_seconds() if case.due_at is not None and case.status == "open" else None
    ack = f"{case.acknowledged_unit}: {case.acknowledged_name}" if case.acknowledged_unit else None
    return QueueRow(
        ref=case.ref, concern=case.concern, urgent=case.urgent, emergency=is_emergency(case.concern, case.urgent),
        status=case.status, village=name_of(places, keys["village"]), block=name_of(places, keys["block"]),
        district=name_of(places, keys["district"]),
        step=case.step, units=step_units(case), age_s=(now - case.created_at).total_seconds(), left_s=left,
        late=is_late(case, now), acknowledged_by=ack, duty_late=duty_late, assigned_to=case.assigned_to,
    )
