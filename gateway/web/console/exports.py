"""CSV exports of the dashboard, for the District Child Protection Plan and the need assessment.

No personal data: a case is its reference, place, concern and timings, never a reporter or a
child. Cells that a spreadsheet would run as a formula are quoted with a leading apostrophe, since
place names come from files anyone may have edited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence

from gateway.web.console.stats import Dashboard, minutes

EXPORTS: dict[str, str] = {
    "cases": "one row per case: place, concern, timings, outcome",
    "reports": "reports by block and concern",
    "ack_times": "median and 90th-percentile minutes to acknowledgement, per step and week",
    "weekly": "reports, acknowledgements and missed deadlines per week",
    "duties": "FIRs and CWC productions within 24 hours of the report, per district and block",
    "closure": "median hours to each duty and to closure, and outcomes by concern",
}


# What a spreadsheet may read as the start of a formula: = + - @, TAB and CR (OWASP, "CSV
# Injection"), and, as a precaution, the full-width ＝ ＋ － ＠ that East Asian input methods type
# and a spreadsheet may fold into ASCII. Leading spaces are looked past: an import that trims them
# (LibreOffice's "Trim spaces") would otherwise see the formula.
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def _cell(value: object) -> object:
    if isinstance(value, str) and (value[:1] in FORMULA_START or value.lstrip()[:1] in FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def cases(board: Dashboard) -> str:
    return _table(
        ["ref", "reported_at_utc", "week", "district_lgd", "district", "block_lgd", "block", "village_lgd", "village",
         "village_level", "concern", "urgent", "emergency", "channel", "status", "ack_step", "ack_unit", "minutes_to_ack",
         "minutes_to_ack_from_step_alert", "missed_deadlines", "outcome", "resolved_at_utc"],
        ([f.ref, f.reported_at.isoformat(), f.week.isoformat(), f.district_lgd, f.district, f.block_lgd, f.block,
          f.village_lgd, f.village, f.village_level, f.concern, int(f.urgent), int(f.emergency), f.channel, f.status,
          None if f.ack_step is None else f.ack_step + 1, f.ack_unit, minutes(f.ack_s), minutes(f.ack_step_s),
          f.missed_deadlines, f.outcome, f.resolved_at.isoformat() if f.resolved_at else None]
         for f in board.cases),
    )


def reports(board: Dashboard) -> str:
    return _table(["block_lgd", "block", "concern", "reports"], board.block_concern)


def ack_times(board: Dashboard) -> str:
    return _table(["week", "step", "acknowledged", "median_minutes", "p90_minutes"],
                  ([s.week.isoformat(), s.step + 1, s.acknowledged, minutes(s.median_s), minutes(s.p90_s)]
                   for s in board.ack_by_week))


def weekly(board: Dashboard) -> str:
    return _table(["week", "reports", "acknowledged", "missed_deadline"],
                  ([w["week"].isoformat(), w["reports"], w["acknowledged"], w["missed_deadline"]] for w in board.weekly))


def duties(board: Dashboard) -> str:
    rows = board.duties.shares if board.duties else []
    return _table(["district", "block", "duty", "owed", "done", "done_within_24h", "percent_within_24h"],
                  ([s.district, s.block, s.duty, s.owed, s.done, s.within_24h, s.share] for s in rows))


def closure(board: Dashboard) -> str:
    found = board.duties
    rows: list[list[object]] = []
    if found:
        rows += [["duty", key, "", n, hours] for key, n, hours in found.duty_hours]
        rows += [["closure", concern, "", n, hours] for concern, n, hours in found.closure_hours]
        rows += [["outcome", concern, outcome, n, None] for concern, outcome, n in found.outcomes]
    return _table(["measure", "duty_or_concern", "outcome", "cases", "median_hours"], rows)


WRITERS: dict[str, Callable[[Dashboard], str]] = {"cases": cases, "reports": reports, "ack_times": ack_times,
                                                  "weekly": weekly, "duties": duties, "closure": closure}


def filename(name: str, board: Dashboard) -> str:
    where = f"district-{board.district}" if board.district else "all-districts"
    return f"cpgw-{name}-{where}-{board.since.isoformat()}-{board.until.isoformat()}.csv"
