"""The dashboard's numbers, charts and CSV, checked against cases whose timings are known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from gateway.record.models import Case, CaseEvent
from gateway.web.console import charts, exports, stats
from menus.refs import new_reference

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # a Wednesday, 11:30 IST


@pytest.mark.parametrize(("values", "median", "p90"), [
    ([], None, None),
    ([5.0], 5.0, 5.0),
    ([1.0, 2.0, 3.0, 4.0], 2.5, 4.0),
    ([float(v) for v in range(1, 11)], 5.5, 9.0),
    ([float(v) for v in range(1, 21)], 10.5, 18.0),
])
def test_median_and_nearest_rank_p90(values, median, p90):
    assert stats.median(values) == median
    assert stats.percentile(values, 90) == p90


def _case(session: Session, *, created: datetime, block: int, concern: str, steps: list[tuple[str, float]],
          ack: tuple[int, float] | None) -> Case:
    """`steps`: (event kind, minutes after report) for each step alert; `ack`: (step, minutes after report)."""
    case = Case(ref=new_reference(), source_key=new_reference(), concern=concern, village_lgd=9001111, block_lgd=block,
                district_lgd=9001, created_at=created, status="acknowledged" if ack else "open")
    session.add(case)
    session.flush()
    session.add(CaseEvent(case_id=case.id, at=created, kind="reported"))
    for step, (kind, minutes) in enumerate(steps):
        session.add(CaseEvent(case_id=case.id, at=created + timedelta(minutes=minutes), kind=kind,
                              detail={"step": step, "reason": "reported" if step == 0 else "deadline"}))
    if ack:
        session.add(CaseEvent(case_id=case.id, at=created + timedelta(minutes=ack[1]), kind="acknowledged",
                              detail={"step": ack[0], "unit": "VCPC"}))
    return case


def test_time_to_acknowledgement_is_per_step_from_that_steps_alert(demo):
    monday = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    with Session(demo) as session:
        for minutes in (10, 20, 30):
            _case(session, created=monday, block=90011, concern="child_marriage", steps=[("alerted", 0)], ack=(0, minutes))
        # Nobody at the village for 24 hours; the block took 60 minutes after its own alert.
        _case(session, created=monday, block=90012, concern="other", steps=[("alerted", 0), ("escalated", 1440)],
              ack=(1, 1500))
        _case(session, created=monday - timedelta(weeks=1), block=90012, concern="other", steps=[("alerted", 0)], ack=None)
        session.commit()
        board = stats.build(session, district=9001, since=date(2026, 11, 9), until=date(2026, 11, 25), now=NOW)
    assert board.totals["reports"] == 5 and board.totals["acknowledged"] == 4 and board.totals["missed_deadline"] == 1
    overall = {s.step: (s.acknowledged, s.median_s, s.p90_s) for s in board.ack_overall}
    assert overall == {0: (3, 1200.0, 1800.0), 1: (1, 3600.0, 3600.0)}
    assert board.weeks == [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    this_week = [s for s in board.ack_by_week if s.week == date(2026, 11, 23)]
    assert [(s.step, s.acknowledged) for s in this_week] == [(0, 3), (1, 1)]
    assert dict(board.by_concern) == {"child_marriage": 3, "other": 2}
    assert dict(board.by_block) == {"Kanke": 3, "Ormanjhi": 2}
    assert [w["reports"] for w in board.weekly] == [0, 1, 4]
    assert board.totals["overdue_now"] == 0  # open cases without a due time are not "past a deadline"
    json = board.as_json()
    assert json["ack_times_overall"][1] == {"step": 2, "week": "2026-11-09", "acknowledged": 1,
                                            "median_minutes": 60.0, "p90_minutes": 60.0}

    table = exports.ack_times(board).splitlines()
    assert table[0] == "week,step,acknowledged,median_minutes,p90_minutes"
    assert "2026-11-23,1,3,20.0,30.0" in table and "2026-11-23,2,1,60.0,60.0" in table
    rows = exports.cases(board).splitlines()
    assert len(rows) == 6 and rows[0].startswith("ref,reported_at_utc")
    assert any(",2,VCPC,1500.0,60.0,1," in row for row in rows)  # step 2: 25 h from the report, 1 h from its alert


def test_csv_cells_that_look_like_formulas_are_defused(demo):
    with Session(demo) as session:
        _case(session, created=NOW - timedelta(days=1), block=90011, concern="other", steps=[("alerted", 0)], ack=None)
        session.commit()
        board = stats.build(session, district=9001, since=date(2026, 11, 1), until=date(2026, 11, 25), now=NOW)
    board.cases[0].village = "=HYPERLINK(\"http://x\")"
    assert "'=HYPERLINK" in exports.cases(board)


def test_the_default_period_is_twelve_weeks_and_never_longer_than_three_years():
    assert stats.clamp_period(None, None, date(2026, 11, 25)) == (date(2026, 9, 7), date(2026, 11, 25))
    assert stats.clamp_period(date(2026, 12, 1), date(2026, 11, 1), date(2026, 11, 25)) == (date(2026, 11, 1), date(2026, 12, 1))
    since, until = stats.clamp_period(date(2000, 1, 1), date(2026, 1, 1), date(2026, 11, 25))
    assert (until - since).days == stats.MAX_DAYS


def test_charts_escape_labels_and_use_round_ticks():
    svg = str(charts.bars("t", [("<script>alert(1)</script>", 3)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "style=" not in svg
    columns = str(charts.columns("t", ["a", "b"], [("reports", [3, 1])]))
    assert ">4</text>" in columns and "3.75" not in columns  # 0, 1, 2, 3, 4
    lines = str(charts.lines("t", ["a", "b", "c"], [("median", [600.0, None, 1500.0])], steps=charts.TIME_STEPS,
                             fmt=lambda v: f"{v:g}s"))
    assert ">1800s</text>" in lines and lines.count("<polyline") == 0  # a gap: no line across the empty week
    assert "No data" in str(charts.bars("t", []))
