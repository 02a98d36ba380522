"""`cpgw directory import-coverage FILE.csv`: what each jurisdiction LGD does not describe (a police
station, any level the routing rules declare under `jurisdictions:`) covers, as
`place_level,place_code,covers_level,covers_lgd_code`. `place_level` is a declared jurisdiction,
`covers_level` an LGD level (a village, a gram panchayat, a block…).

A station covers the places named and everything below them (a block covers its panchayats and
villages). The file is the whole coverage of each jurisdiction it names: importing it replaces
what those jurisdictions covered before (a re-drawn beat moves villages from one station to
another), and leaves the others alone. All or nothing, every bad row named with its line, like the
directory import; running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select

from gateway.record.directory import Problems, as_code, read_rows
from gateway.record.models import Coverage, Place
from routing.rules import load_rules
from routing.units import LGD_LEVELS, Levels

COLUMNS = ("place_level", "place_code", "covers_level", "covers_lgd_code")
_COVERAGE = Coverage.__table__  # type: ignore[attr-defined]
_PLACE = Place.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CoverageSummary:
    jurisdictions: int
    rows: int


def import_coverage(engine: Engine, path: Path, *, levels: Levels | None = None) -> CoverageSummary:
    """Replace the coverage of every jurisdiction the file names; raises `DirectoryError`.

    `levels`: the jurisdictions the routing rules in force declare (None: the shipped rules')."""
    problems = Problems()
    declared = levels if levels is not None else load_rules().levels
    rows = list(_read(path, problems, declared))  # a district's coverage: hundreds of rows, not millions
    with engine.begin() as connection:
        for line, row in rows:
            problem = _missing(connection, row)
            if problem:
                problems.add(path.name, line, problem)
        if problems:
            raise problems.error()
        stations = sorted({(row[0], row[1]) for _, row in rows})
        for level, code in stations:
            connection.execute(delete(_COVERAGE).where(_COVERAGE.c.place_level == level, _COVERAGE.c.place_code == code))
        unique = sorted({row for _, row in rows})
        if unique:
            connection.execute(insert(_COVERAGE), [dict(zip(COLUMNS, row, strict=True)) for row in unique])
    return CoverageSummary(len(stations), len(unique))


Row = tuple[str, int, str, int]


def _read(path: Path, problems: Problems, levels: Levels) -> Iterator[tuple[int, Row]]:
    for line, raw in read_rows(path, COLUMNS, problems):
        row = _checked(raw, levels)
        if isinstance(row, str):
            problems.add(path.name, line, row)
        else:
            yield line, row
    if problems:
        raise problems.error()


def _checked(raw: dict[str, str], levels: Levels) -> Row | str:
    level, covers = raw["place_level"].lower(), raw["covers_level"].lower()
    code, covered = as_code(raw["place_code"]), as_code(raw["covers_lgd_code"])
    if level not in levels.jurisdictions:
        declared = ", ".join(levels.jurisdictions) or "none: declare them under jurisdictions:"
        return f"place_level {raw['place_level']!r} is not a jurisdiction the routing rules declare ({declared})"
    if covers not in LGD_LEVELS:
        return f"covers_level {raw['covers_level']!r} is not a level of the directory ({', '.join(LGD_LEVELS)})"
    if code is None or covered is None:
        return "place_code and covers_lgd_code must be positive numbers"
    return level, code, covers, covered


def _missing(connection: Connection, row: Row) -> str | None:
    level, code, covers, covered = row
    found = {(r.level, r.lgd_code) for r in connection.execute(select(_PLACE.c.level, _PLACE.c.lgd_code).where(
        or_(and_(_PLACE.c.level == level, _PLACE.c.lgd_code == code),
            and_(_PLACE.c.level == covers, _PLACE.c.lgd_code == covered))))}
    if (level, code) not in found:
        return f"no {level} {code} in the directory (import it as a place first, under its district)"
    if (covers, covered) not in found:
        return f"no {covers} {covered} in the directory"
    return None
