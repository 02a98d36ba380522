"""The directory of places and contacts: CSV import (all or nothing) and the reads the menu needs.

Import is an upsert keyed on the LGD code (places) and on (phone, unit, place) (contacts), so
running it twice changes nothing. Every row is checked first; one bad row aborts the whole file
with its line number, and nothing is written. Rows go in batches with `INSERT … ON CONFLICT`, so
a national directory (640,000 villages) imports in minutes, not hours.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.db import READ_ONLY
from gateway.models import LEVELS, UNITS, Contact, Place
from gateway.phones import to_e164
from menus.engine import PlaceInfo

DEMO_DIR = Path(__file__).parent / "demo"
PLACE_COLUMNS = ("lgd_code", "level", "name", "parent_lgd_code")
CONTACT_COLUMNS = ("name", "phone", "unit", "place_lgd_code", "role", "language", "active")
TRUE, FALSE = {"1", "true", "yes", "y", "active", ""}, {"0", "false", "no", "n", "inactive"}
BATCH = 5000
MAX_REPORTED = 20


class DirectoryError(ValueError):
    """A directory file that cannot be imported; `problems` lists `file line N: reason`."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_REPORTED])
        more = len(problems) - len(shown)
        super().__init__("\n".join(shown + ([f"… and {more} more"] if more else [])))
        self.problems = list(problems)


@dataclass
class ImportSummary:
    places: int = 0
    contacts: int = 0


@dataclass
class _Rows:
    name: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    problems: list[str] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"{self.name} line {line}: {message}")


def _read_csv(name: str, text: str, required: Sequence[str]) -> _Rows:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [column.strip() for column in reader.fieldnames or []]
    reader.fieldnames = header
    result = _Rows(name, header, [])
    missing = [column for column in required if column not in header]
    if missing:
        result.problem(1, f"missing column(s) {', '.join(missing)}")
        return result
    for row in reader:
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if None in row:
            result.problem(reader.line_num, "more values than columns")
        if any(values.values()):
            result.rows.append((reader.line_num, values))
    return result


def _read_file(path: Path, required: Sequence[str]) -> _Rows:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DirectoryError([f"{path.name}: not UTF-8 ({exc.reason} at byte {exc.start})"]) from exc
    except OSError as exc:
        raise DirectoryError([f"{path}: cannot read ({exc.strerror})"]) from exc
    return _read_csv(path.name, text, required)


def _as_code(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) < 10**12 else None


def _check_places(rows: _Rows, existing: dict[int, tuple[str, int | None]]) -> list[dict[str, Any]]:
    """Validated place rows with their ancestors filled in."""
    parsed: dict[int, tuple[int, str, str, int | None, dict[str, str]]] = {}
    for line, row in rows.rows:
        code, level, name = _as_code(row["lgd_code"]), row["level"].lower(), row["name"]
        parent_text = row["parent_lgd_code"]
        parent = _as_code(parent_text) if parent_text else None
        if code is None:
            rows.problem(line, f"lgd_code {row['lgd_code']!r} is not a positive number")
        elif code in parsed:
            rows.problem(line, f"lgd_code {code} appears twice (first on line {parsed[code][0]})")
        elif level not in LEVELS:
            rows.problem(line, f"level {row['level']!r} is not one of {', '.join(LEVELS)}")
        elif not name:
            rows.problem(line, "name is empty")
        elif parent_text and parent is None:
            rows.problem(line, f"parent_lgd_code {parent_text!r} is not a positive number")
        elif level != "state" and parent is None:
            rows.problem(line, f"a {level} needs a parent_lgd_code")
        else:
            names = {k[5:]: v for k, v in row.items() if k.startswith("name_") and v}
            parsed[code] = (line, level, name, parent, names)
    levels = {code: (level, parent) for code, (_, level, _, parent, _) in parsed.items()}
    known = {**existing, **levels}
    result = []
    for code, (line, level, name, parent, names) in parsed.items():
        if parent is not None:
            if parent not in known:
                rows.problem(line, f"parent_lgd_code {parent} is neither in this file nor in the directory")
                continue
            if LEVELS.index(known[parent][0]) >= LEVELS.index(level):
                rows.problem(line, f"a {level} cannot sit under a {known[parent][0]} ({parent})")
                continue
        chain = _ancestors(code, known)
        result.append(
            {
                "lgd_code": code, "level": level, "name": name, "names": names, "parent_lgd_code": parent,
                "state_lgd": chain.get("state"), "district_lgd": chain.get("district"),
                "block_lgd": chain.get("block"), "gram_panchayat_lgd": chain.get("gram_panchayat"),
            }
        )
    return result


def _ancestors(code: int, known: dict[int, tuple[str, int | None]]) -> dict[str, int]:
    chain: dict[str, int] = {}
    current: int | None = code
    for _ in range(len(LEVELS) + 1):  # a cycle in the data cannot hang the import
        if current is None or current not in known:
            break
        level, parent = known[current]
        chain.setdefault(level, current)
        current = parent
    return chain


def _check_contacts(rows: _Rows, place_codes: set[int]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str, int], int] = {}
    result = []
    for line, row in rows.rows:
        phone = to_e164(row["phone"])
        unit = row["unit"].upper()
        place = _as_code(row["place_lgd_code"])
        active = row.get("active", "").lower()
        if not row["name"]:
            rows.problem(line, "name is empty")
        elif phone is None:
            rows.problem(line, f"phone {row['phone']!r} is not a phone number (E.164 or Indian national form)")
        elif unit not in UNITS:
            rows.problem(line, f"unit {row['unit']!r} is not one of {', '.join(UNITS)}")
        elif place is None or place not in place_codes:
            rows.problem(line, f"place_lgd_code {row['place_lgd_code']!r} is not a place in the directory")
        elif active not in TRUE | FALSE:
            rows.problem(line, f"active {row['active']!r} is not yes/no")
        elif (phone, unit, place) in seen:
            rows.problem(line, f"same phone, unit and place as line {seen[(phone, unit, place)]}")
        else:
            seen[(phone, unit, place)] = line
            result.append(
                {
                    "name": row["name"], "phone": phone, "unit": unit, "place_lgd_code": place,
                    "role": row.get("role", ""), "language": (row.get("language") or "en").lower(),
                    "active": active in TRUE,
                }
            )
    return result


def _upsert(connection: Any, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        statement = dialect.insert(table)
        updates = {column: statement.excluded[column] for column in chunk[0] if column not in keys}
        connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates), chunk)


def import_directory(engine: Engine, places_csv: Path | None, contacts_csv: Path | None) -> ImportSummary:
    """Check both files completely, then write them in one transaction, or raise `DirectoryError`."""
    places_rows = _read_file(places_csv, PLACE_COLUMNS) if places_csv else None
    contacts_rows = _read_file(contacts_csv, ("name", "phone", "unit", "place_lgd_code")) if contacts_csv else None
    with engine.begin() as connection:
        existing = {
            code: (level, parent)
            for code, level, parent in connection.execute(
                select(Place.lgd_code, Place.level, Place.parent_lgd_code)  # type: ignore[call-overload]
            )
        }
        places = _check_places(places_rows, existing) if places_rows else []
        codes = set(existing) | {row["lgd_code"] for row in places}
        contacts = _check_contacts(contacts_rows, codes) if contacts_rows else []
        problems = (places_rows.problems if places_rows else []) + (contacts_rows.problems if contacts_rows else [])
        if problems:
            raise DirectoryError(problems)
        # Parents before children, so that ancestors of a later level are already in the table.
        places.sort(key=lambda row: LEVELS.index(row["level"]))
        if places:
            _upsert(connection, Place.__table__, places, ["lgd_code"])
        if contacts:
            _upsert(connection, Contact.__table__, contacts, ["phone", "unit", "place_lgd_code"])
    return ImportSummary(places=len(places), contacts=len(contacts))


def import_demo(engine: Engine) -> ImportSummary:
    return import_directory(engine, DEMO_DIR / "places.csv", DEMO_DIR / "contacts.csv")


def is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(Place.lgd_code).limit(1)).first() is None  # type: ignore[call-overload]


class SqlPlaces:
    """`menus.engine.Places` over SQL, with place lists cached for a short while.

    Lists change only when the directory is imported; a stale list for `ttl` seconds is the price
    of not querying SQL on every hop. Single villages are looked up by primary key, never cached
    as missing, so a freshly imported village code works at once.
    """

    def __init__(self, engine: Engine, ttl: float = 30.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lists: dict[tuple[int | None, str], tuple[float, list[PlaceInfo]]] = {}

    def children(self, parent: int | None, lang: str) -> Sequence[PlaceInfo]:
        key = (parent, lang)
        cached = self._lists.get(key)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        query = select(Place.lgd_code, Place.level, Place.name, Place.names).where(  # type: ignore[call-overload]
            Place.parent_lgd_code.is_(None) if parent is None else Place.parent_lgd_code == parent  # type: ignore[union-attr]
        )
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            infos = [PlaceInfo(code, level, (names or {}).get(lang) or name) for code, level, name, names in connection.execute(query)]
        infos.sort(key=lambda place: place.name)
        if len(self._lists) > 10_000:
            self._lists.clear()
        self._lists[key] = (time.monotonic(), infos)
        return infos

    def village(self, lgd_code: int, lang: str) -> PlaceInfo | None:
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            row = connection.execute(
                select(Place.level, Place.name, Place.names).where(Place.lgd_code == lgd_code)  # type: ignore[call-overload]
            ).first()
        if row is None:
            return None
        level, name, names = row
        return PlaceInfo(lgd_code, level, (names or {}).get(lang) or name)

