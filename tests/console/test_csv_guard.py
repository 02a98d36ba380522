"""Exported cells that a spreadsheet would run as a formula are defused with a leading apostrophe."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from gateway.web.console import exports


def _exported_block_name(name: object) -> object:
    """The block's name as the reports export writes it, read back as a spreadsheet would split it."""
    board = SimpleNamespace(block_concern=[(90011, name, "other", 3)])
    header, row = csv.reader(io.StringIO(exports.reports(board)))  # type: ignore[arg-type]
    return row[1]


@pytest.mark.parametrize("name", [
    "=HYPERLINK(\"http://x\",\"Kanke\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\tKanke",
    "\r=1+1",
    "\rKanke",
    "  =1+1",
    "\n@SUM(A1)",
    "\uff1d1+1",   # full-width ＝
    "\uff0b1",     # ＋
    "\uff0d1",     # －
    "\uff20SUM(A1)",  # ＠
])
def test_cells_a_spreadsheet_could_run_are_quoted(name):
    assert _exported_block_name(name) == "'" + name


@pytest.mark.parametrize(("value", "written"), [
    ("Kanke", "Kanke"),
    ("Ormanjhi - East", "Ormanjhi - East"),
    ("O'Hara", "O'Hara"),
    ("", ""),
    (None, ""),
    (-5, "-5"),        # numbers are numbers, not text that starts with a minus
    (2.5, "2.5"),
])
def test_ordinary_cells_are_left_alone(value, written):
    assert _exported_block_name(value) == written
