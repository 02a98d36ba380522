"""Whether the law's clocks were kept after a report: duty compliance, time to closure, outcomes.

For the District Child Protection Plan and the DM's review (JJ s.27(10)): the share of FIRs and
CWC productions done within 24 hours of the report, per district and block; the median time to
each duty; how long cases take to close; and how they closed, by concern. A duty marked not
applicable counts neither way; one still open counts as owed and not done.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from gateway.record.models import CaseDuty

WITHIN = timedelta(hours=24)


class CaseFacts(Protocol):
    """What a dashboard case (stats.CaseFacts) tells this module."""

    ref: str
    reported_at: datetime
    district: str
    block: str
    concern: str
    outcome: str | None
    resolved_at: datetime | None

HEADLINE = ("fir", "produced_cwc")  # the duties the DM's review asks about first


@dataclass(frozen=True)
class DutyShare:
    district: str
    block: str
    duty: str
    owed: int  # applicable (done or still open)
    done: int
    within_24h: int  # done within 24 hours of the report

    @property
    def share(self) -> float | None:
        return round(100 * self.within_24h / self.owed, 1) if self.owed else None


@dataclass(frozen=True)
class Compliance:
    shares: list[DutyShare]  # per district and block, headline duties
    duty_hours: list[tuple[str, int, float | None]]  # duty, done, median hours from the report
    closure_hours: list[tuple[str, int, float | None]]  # concern, resolved, median hours to closure
    outcomes: list[tuple[str, str, int]]  # concern, outcome, cases

    def as_json(self) -> dict[str, object]:
        return {
            "duty_compliance": [{"district": s.district, "block": s.block, "duty": s.duty, "owed": s.owed,
                                 "done": s.done, "within_24h": s.within_24h, "share_within_24h": s.share}
                                for s in self.shares],
            "median_hours_to_duty": [{"duty": d, "done": n, "median_hours": h} for d, n, h in self.duty_hours],
            "median_hours_to_closure": [{"concern": c, "resolved": n, "median_hours": h}
                                        for c, n, h in self.closure_hours],
            "outcomes": [{"concern": c, "outcome": o, "cases": n} for c, o, n in self.outcomes],
        }


def build(session: Session, facts: list[CaseFacts], ids: dict[str, int]) -> Compliance:
    """`facts` are the dashboard's cases; `ids` maps their references to case ids."""
    by_id = {ids[f.ref]: f for f in facts if f.ref in ids}
    duties = session.exec(select(CaseDuty).where(col(CaseDuty.case_id).in_(list(by_id)))).all() if by_id else []
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    hours: dict[str, list[float]] = defaultdict(list)
    for duty in duties:
        if duty.status == "not_applicable":
            continue
        case = by_id[duty.case_id]
        taken = _hours(case.reported_at, duty.done_at) if duty.status == "done" else None
        if taken is not None:
            hours[duty.key].append(taken)
        if duty.key in HEADLINE:
            row = counts[(case.district, case.block, duty.key)]
            row[0] += 1
            row[1] += taken is not None
            row[2] += taken is not None and taken <= WITHIN.total_seconds() / 3600
    shares = [DutyShare(d, b, k, *row) for (d, b, k), row in sorted(counts.items())]
    closing: dict[str, list[float]] = defaultdict(list)
    for f in facts:
        if f.resolved_at is not None and (taken := _hours(f.reported_at, f.resolved_at)) is not None:
            closing[f.concern].append(taken)
    outcomes = Counter((f.concern, f.outcome) for f in facts if f.outcome)
    return Compliance(
        shares,
        [(key, len(values), _median(values)) for key, values in sorted(hours.items())],
        [(concern, len(values), _median(values)) for concern, values in sorted(closing.items())],
        [(concern, outcome, n) for (concern, outcome), n in sorted(outcomes.items())],
    )


def _hours(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    start, end = (value if value.tzinfo else value.replace(tzinfo=UTC) for value in (start, end))
    return max(0.0, (end - start).total_seconds() / 3600)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
