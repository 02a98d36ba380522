"""`cpgw directory import-coverage FILE.csv`: what each police station (a jurisdiction LGD does not
describe) covers, as `place_level,place_code,covers_level,covers_lgd_code`.

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
from routing.units import JURISDICTION_LEVELS, LEVELS

COLUMNS = ("place_level", "place_code", "covers_level", "covers_lgd_code")
_COVERAGE = Coverage.__table__  # type: ignore[attr-defined]
_PLACE = Place.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CoverageSummary:
    jurisdictions: int
    rows: int


def import_coverage(engine: Engine, path: Path) -> CoverageSummary:
    """Replace the coverage of every jurisdiction the file names; raises `DirectoryError`."""
    problems = Problems()
    rows = list(_read(path, problems))  # a district's coverage: hundreds of rows, not millions
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


def _read(path: Path, problems: Problems) -> Iterator[tuple[int, Row]]:
    for line, raw in read_rows(path, COLUMNS, problems):
        row = _checked(raw)
        if isinstance(row, str):
            problems.add(path.name, line, row)
        else:
            yield line, row
    if problems:
        raise problems.error()


def _checked(raw: dict[str, str]) -> Row | str:
    level, covers = raw["place_level"].lower(), raw["covers_level"].lower()
    code, covered = as_code(raw["place_code"]), as_code(raw["covers_lgd_code"])
    if level not in JURISDICTION_LEVELS:
        return f"place_level {raw['place_level']!r} is not a jurisdiction ({', '.join(JURISDICTION_LEVELS)})"
    if covers not in LEVELS or covers in JURISDICTION_LEVELS:
        return f"covers_level {raw['covers_level']!r} is not a level of the directory"
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
