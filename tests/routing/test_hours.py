"""Office hours, holidays and deadlines that wait for an office to open (IST)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from routing.hours import Hours, deadline, next_opening, on_duty
from routing.lifecycle import IST

OFFICE = (Hours.parse("Mon-Sat 10:00-17:30"),)
CHRISTMAS = frozenset({date(2026, 12, 25)})


def ist(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=IST)


def test_on_duty_by_day_hour_and_holiday():
    assert on_duty(ist("2026-12-21 11:00"), OFFICE)  # a Monday
    assert not on_duty(ist("2026-12-21 09:59"), OFFICE) and not on_duty(ist("2026-12-21 17:30"), OFFICE)
    assert not on_duty(ist("2026-12-27 11:00"), OFFICE)  # a Sunday
    assert not on_duty(ist("2026-12-25 11:00"), OFFICE, CHRISTMAS)
    assert on_duty(ist("2026-12-27 03:00"), ())  # no hours: round the clock


def test_a_deadline_that_would_run_out_off_duty_runs_out_at_the_next_opening():
    assert deadline(ist("2026-12-21 11:00"), 1800, OFFICE) == ist("2026-12-21 11:30")
    assert deadline(ist("2026-12-21 17:20"), 1800, OFFICE) == ist("2026-12-22 10:00")
    assert deadline(ist("2026-12-24 23:10"), 1800, OFFICE, CHRISTMAS) == ist("2026-12-26 10:00")  # past Christmas
    assert deadline(ist("2026-12-26 17:00"), 3600, OFFICE) == ist("2026-12-28 10:00")  # Saturday evening: Monday
    assert deadline(ist("2026-12-21 11:00"), 86400, OFFICE) == ist("2026-12-22 11:00")  # a day stays a day
    assert deadline(ist("2026-12-27 03:00"), 1800, ()) == ist("2026-12-27 03:30")


def test_next_opening_and_shifts_that_wrap_the_week():
    assert next_opening(ist("2026-12-21 11:00"), OFFICE) == ist("2026-12-21 11:00")
    assert next_opening(ist("2026-12-26 18:00"), OFFICE) == ist("2026-12-28 10:00")
    weekend = (Hours.parse("Sat-Mon 09:00-13:00"),)
    assert on_duty(ist("2026-12-27 10:00"), weekend) and on_duty(ist("2026-12-28 10:00"), weekend)
    assert not on_duty(ist("2026-12-23 10:00"), weekend)
    assert next_opening(ist("2026-12-21 14:00"), OFFICE + weekend) == ist("2026-12-21 14:00")
    assert deadline(ist("2026-12-21 14:00"), 3600 * 4, weekend) - ist("2026-12-26 09:00") == timedelta(0)
