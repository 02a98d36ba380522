"""Working hours and holidays: when a unit answers, and deadlines that do not run while it sleeps.

A village committee, the block committee and the DCPU work in the day; 1098, the police and a
state control room answer round the clock. A step whose every unit keeps office hours is "off
duty" outside them (and on the state's holidays): an urgent report then also reaches the rules'
night cover at once, and a deadline of the step that would run out while it is off duty runs out
when it opens, so that nobody is paged every half hour through the night (issue 16). Times are
Indian Standard Time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from routing.lifecycle import IST

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HORIZON_DAYS = 60  # a deadline further than this into closed days is given up on: the clock runs


@dataclass(frozen=True)
class Hours:
    first_day: int  # 0 = Monday
    last_day: int
    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> Hours:
        """"Mon-Sat 10:00-17:30" (validated by the rules loader's pattern first)."""
        days, _, span = text.partition(" ")
        first, _, last = days.partition("-")
        opens, _, closes = span.partition("-")
        return cls(DAYS.index(first), DAYS.index(last), time.fromisoformat(opens), time.fromisoformat(closes))

    def interval(self, day: date, holidays: Collection[date]) -> tuple[datetime, datetime] | None:
        """The hours of `day` (IST), or None on a day off."""
        weekday = day.weekday()
        working = (self.first_day <= weekday <= self.last_day if self.first_day <= self.last_day
                   else weekday >= self.first_day or weekday <= self.last_day)
        if not working or day in holidays or self.opens >= self.closes:
            return None
        return datetime.combine(day, self.opens, IST), datetime.combine(day, self.closes, IST)


def _intervals(day: date, hours: Sequence[Hours], holidays: Collection[date]) -> list[tuple[datetime, datetime]]:
    found = sorted(span for h in hours if (span := h.interval(day, holidays)) is not None)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def on_duty(at: datetime, hours: Sequence[Hours], holidays: Collection[date] = ()) -> bool:
    """Whether anyone of `hours` is at work at `at`; no hours at all means round the clock."""
    if not hours:
        return True
    local = at.astimezone(IST)
    return any(start <= local < end for start, end in _intervals(local.date(), hours, holidays))


def deadline(start: datetime, seconds: int, hours: Sequence[Hours], holidays: Collection[date] = ()) -> datetime:
    """`seconds` after `start`; a deadline that would run out while every unit of the step is off
    duty runs out at their next opening instead (with no hours at all, it is never moved).

    Counted in calendar time, not working time: a rule's `ack_within: 24h` keeps meaning a day (in
    working time it would mean three), while a 30-minute deadline set at 11 pm no longer pages a
    closed office through the night — its units hear again when they open.
    """
    end = start + timedelta(seconds=seconds)
    if not hours:
        return end
    return (next_opening(end, hours, holidays) or end).astimezone(UTC)


def next_opening(at: datetime, hours: Sequence[Hours], holidays: Collection[date] = ()) -> datetime | None:
    """When someone of `hours` is next at work (`at` itself when on duty); None: never in the horizon."""
    if on_duty(at, hours, holidays):
        return at
    local = at.astimezone(IST)
    for offset in range(HORIZON_DAYS):
        for begin, _ in _intervals(local.date() + timedelta(days=offset), hours, holidays):
            if begin > local:
                return begin
    return None
