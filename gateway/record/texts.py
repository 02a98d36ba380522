"""The longest values the menu texts carry in this deployment, and where translated files go.

`cpgw texts export` and `import` measure every text with the longest village name in the
directory (per language, as the menu shows it), a 10-digit reference and the longest unit name the
rules declare (`menus.budgets.Values`). An empty directory is measured with the demo directory's
names, which are long enough to be a fair test.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import col

from gateway.record.db import READ_ONLY
from gateway.record.models import Place
from menus.budgets import Values, longest_names
from routing.rules import Rules
from routing.units import REPORTABLE_LEVELS

DEMO_PLACES = Path(__file__).parent / "demo" / "places.csv"


def _directory_rows(engine: Engine):  # type: ignore[no-untyped-def]
    query = select(Place.level, Place.name, Place.names).where(col(Place.level).in_(REPORTABLE_LEVELS))
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        for level, name, names in connection.execute(query):
            yield {"level": level, "name": name, **{f"name_{lang}": value for lang, value in (names or {}).items()}}


def unit_names(rules: Rules) -> dict[str, str]:
    """Each declared unit's longest name in the rules, any state's included."""
    longest: dict[str, str] = {}
    for _, table in rules.units.variants():
        for key, spec in table.items():
            if len(spec.name) > len(longest.get(key, "")):
                longest[key] = spec.name
    return longest


def longest_values(engine: Engine | None, rules: Rules) -> Values:
    villages = longest_names(_directory_rows(engine)) if engine is not None else {}
    if not villages:
        with DEMO_PLACES.open(encoding="utf-8", newline="") as handle:
            villages = longest_names(csv.DictReader(handle))
    return Values(villages=villages, units=unit_names(rules))


def write_language(directory: Path, code: str, text: str) -> Path:
    """`<directory>/<code>.yaml`, replaced whole (atomically): the gateway reads it at its next start."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{code}.yaml"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
