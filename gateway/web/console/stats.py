"""The district dashboard's numbers: reports by concern and block, time to acknowledgement per step
over time, deadlines missed; the same numbers feed the charts, the CSV exports and the JSON API.

Time to acknowledgement is measured per step: from the moment the step that acknowledged was
first alerted to the acknowledgement, so a block committee is not blamed for the day the village
committee sat on the case. Cases are grouped by the week (Monday, IST) they were reported in.
Percentiles are nearest-rank: with few cases a week, an interpolated p90 would invent a value no
case ever had.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from gateway.record.models import Case, CaseEvent
from gateway.web.console import compliance
from gateway.web.console.places import name_of, of_cases, places_by_key
from gateway.web.console.queue import late_clause
from gateway.web.console.templating import is_emergency
from routing.lifecycle import IST

DEFAULT_WEEKS = 12
STEP_EVENTS = ("alerted", "escalated", "reassigned")
MAX_DAYS = 3 * 366


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def default_period(today: date) -> tuple[date, date]:
    return monday(today) - timedelta(weeks=DEFAULT_WEEKS - 1), today


def clamp_period(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The period asked for, or the last DEFAULT_WEEKS weeks; never longer than MAX_DAYS."""
    until = until or default_period(today)[1]
    since = since or (monday(until) - timedelta(weeks=DEFAULT_WEEKS - 1))
    if since > until:
        since, until = until, since
    if (until - since).days > MAX_DAYS:
        since = until - timedelta(days=MAX_DAYS)
    return since, until


@dataclass
class CaseFacts:
    """One case as the exports list it: where, what, and how fast it moved. No personal data."""

    ref: str
    reported_at: datetime
    week: date
    district_lgd: int | None
    district: str
    block_lgd: int | None
    block: str
    village_lgd: int
    village_level: str
    village: str
    concern: str
    urgent: bool
    emergency: bool
    channel: str
    status: str
    ack_step: int | None = None  # 0-based
    ack_unit: str | None = None
    ack_s: float | None = None  # from the report
    ack_step_s: float | None = None  # from the acknowledging step's first alert
    missed_deadlines: int = 0
    outcome: str | None = None
    resolved_at: datetime | None = None


@dataclass
class StepWeek:
    step: int
    week: date
    acknowledged: int
    median_s: float | None
    p90_s: float | None


@dataclass
class Dashboard:
    district: int | None
    since: date
    until: date
    weeks: list[date]
    cases: list[CaseFacts]
    by_concern: list[tuple[str, int]]
    by_block: list[tuple[str, int]]
    block_concern: list[tuple[int | None, str, str, int]]  # block code, block, concern, reports
    steps: list[int]
    ack_by_week: list[StepWeek]
    ack_overall: list[StepWeek]  # week = since: the whole period per step
    weekly: list[dict[str, Any]]  # week, reports, acknowledged, missed_deadline
    overdue_now: list[tuple[str, int]]  # open cases past a deadline right now, by block
    totals: dict[str, int] = field(default_factory=dict)
    duties: compliance.Compliance | None = None  # the law's clocks after a report (duties, closure, outcomes)

    def as_json(self) -> dict[str, Any]:
        return {
            "district": self.district, "since": self.since.isoformat(), "until": self.until.isoformat(),
            "totals": self.totals,
            "reports_by_concern": [{"concern": c, "reports": n} for c, n in self.by_concern],
            "reports_by_block": [{"block": b, "reports": n} for b, n in self.by_block],
            "ack_times": [_step_json(s) for s in self.ack_by_week],
            "ack_times_overall": [_step_json(s) for s in self.ack_overall],
            "weekly": [{**w, "week": w["week"].isoformat()} for w in self.weekly],
            "overdue_now_by_block": [{"block": b, "cases": n} for b, n in self.overdue_now],
            **(self.duties.as_json() if self.duties else {}),
        }


def _step_json(s: StepWeek) -> dict[str, Any]:
    return {"step": s.step + 1, "week": s.week.isoformat(), "acknowledged": s.acknowledged,
            "median_minutes": minutes(s.median_s), "p90_minutes": minutes(s.p90_s)}


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _start(day: date) -> datetime:
    """Midnight IST of `day`, in UTC."""
    return datetime.combine(day, time(0), IST).astimezone(UTC)


def build(session: Session, *, district: int | None, since: date, until: date, now: datetime) -> Dashboard:
    """Every number of the dashboard for one district (None: all districts) and period."""
    begin, end = _start(since), _start(until + timedelta(days=1))
    scope = [col(Case.created_at) >= begin, col(Case.created_at) < end]
    if district is not None:
        scope.append(col(Case.district_lgd) == district)
    cases = list(session.exec(select(Case).where(*scope).order_by(col(Case.created_at))))
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    query = select(CaseEvent).join(Case, col(Case.id) == col(CaseEvent.case_id)).where(
        *scope, col(CaseEvent.kind).in_((*STEP_EVENTS, "acknowledged", "resolved", "reminded")))
    for event in session.exec(query.order_by(col(CaseEvent.at), col(CaseEvent.id))):
        events[event.case_id].append(event)
    places = of_cases(session, cases)
    facts = [_facts(case, events.get(case.id or 0, []), places) for case in cases]

    weeks = []
    week = monday(since)
    while week <= until:
        weeks.append(week)
        week += timedelta(weeks=1)
    by_concern = Counter(f.concern for f in facts).most_common()
    by_block = Counter(f.block for f in facts).most_common()
    block_concern = Counter((f.block_lgd, f.block, f.concern) for f in facts)
    steps = sorted({f.ack_step for f in facts if f.ack_step is not None})
    grouped: dict[tuple[int, date], list[float]] = defaultdict(list)
    overall: dict[int, list[float]] = defaultdict(list)
    for f in facts:
        if f.ack_step is not None and f.ack_step_s is not None:
            grouped[(f.ack_step, f.week)].append(f.ack_step_s)
            overall[f.ack_step].append(f.ack_step_s)
    ack_by_week = [StepWeek(step, w, len(grouped.get((step, w), [])), median(grouped.get((step, w), [])),
                            percentile(grouped.get((step, w), []), 90)) for step in steps for w in weeks]
    ack_overall = [StepWeek(step, since, len(overall[step]), median(overall[step]), percentile(overall[step], 90))
                   for step in steps]
    weekly = [{"week": w, "reports": sum(1 for f in facts if f.week == w),
               "acknowledged": sum(1 for f in facts if f.week == w and f.ack_step is not None),
               "missed_deadline": sum(1 for f in facts if f.week == w and f.missed_deadlines)} for w in weeks]

    late = [late_clause(now)]
    if district is not None:
        late.append(col(Case.district_lgd) == district)
    late_blocks = session.exec(select(Case.block_lgd).where(*late)).all()
    block_names = places_by_key(session, (("block", b) for b in late_blocks if b))
    overdue_now = Counter(name_of(block_names, ("block", b) if b else None) for b in late_blocks).most_common()
    totals = {
        "reports": len(facts), "emergencies": sum(f.emergency for f in facts),
        "acknowledged": sum(f.ack_step is not None for f in facts),
        "resolved": sum(f.status == "resolved" for f in facts),
        "missed_deadline": sum(1 for f in facts if f.missed_deadlines),
        "overdue_now": len(late_blocks),
    }
    return Dashboard(district, since, until, weeks, facts, by_concern, by_block,
                     [(code, name, concern, n) for (code, name, concern), n in sorted(block_concern.items(), key=str)],
                     steps, ack_by_week, ack_overall, weekly, overdue_now, totals,
                     compliance.build(session, facts, {case.ref: case.id or 0 for case in cases}))


def _facts(case: Case, events: list[CaseEvent], places: dict) -> CaseFacts:  # type: ignore[type-arg]
    keys = case.place_keys()
    local_day = case.created_at.astimezone(IST).date()
    facts = CaseFacts(
        ref=case.ref, reported_at=case.created_at, week=monday(local_day), district_lgd=case.district_lgd,
        district=name_of(places, keys["district"]), block_lgd=case.block_lgd, block=name_of(places, keys["block"]),
        village_lgd=case.village_lgd, village_level=case.village_level, village=name_of(places, keys["village"]),
        concern=case.concern, urgent=case.urgent,
        emergency=is_emergency(case.concern, case.urgent), channel=case.channel, status=case.status,
    )
    first_alert: dict[int, datetime] = {}
    for event in events:
        detail = event.detail or {}
        if event.kind in STEP_EVENTS and isinstance(detail.get("step"), int):
            first_alert.setdefault(detail["step"], event.at)
        if event.kind in ("escalated", "reminded") and detail.get("reason") == "deadline":
            facts.missed_deadlines += 1
        if event.kind == "acknowledged" and facts.ack_step is None:
            step = detail.get("step")
            facts.ack_step = step if isinstance(step, int) else None
            facts.ack_unit = detail.get("unit")
            facts.ack_s = max(0.0, (event.at - case.created_at).total_seconds())
            started = first_alert.get(step) if isinstance(step, int) else None
            facts.ack_step_s = max(0.0, (event.at - started).total_seconds()) if started else facts.ack_s
        if event.kind == "resolved":
            facts.outcome, facts.resolved_at = detail.get("outcome"), event.at
    return facts
