"""The directory of places and contacts: CSV import (all or nothing) and the reads the menu needs.

Import is an upsert keyed on (level, LGD code) (places: LGD numbers each level separately, so
district 606 and block 606 are two places) and on (phone, unit, place) (contacts), so running it
twice changes nothing. Both files are streamed, a chunk of rows at a time, into ONE
transaction: a bad row anywhere (with its line number) rolls everything back, and a national
directory (640,000 villages, ~1.3 million contacts) imports in a minute with a few hundred MB of
memory, because only compact indexes live for the whole import, never the rows themselves.

Places are read twice: the first pass checks each row and indexes (level, code) → (line, parent),
so that the second pass can check parents and fill in ancestors even when a parent comes later in
the file than its children; between the passes, a parent given by code alone is looked up at the
levels its child may sit under (routing.units.LGD_PARENT_LEVELS); the second pass writes. Contacts are
read once; a contact's code that names places at two levels needs its `place_level`.

A place's level is an LGD level or a jurisdiction the routing rules in force declare
(`jurisdictions:`, e.g. `police_station`, whose code is the deployment's own and whose parent is at
the declared level, its district). The import learns them from the rules (`levels`, the
`Rules.levels` of CPGW_ROUTING_RULES or of the shipped file), as it learns the units contacts may
name; a place or contact of any other level is refused with its line.
"""

from __future__ import annotations

import codecs
import csv
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import TTLCache
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col
from sqlmodel import select as model_select

from gateway.infra.phones import to_e164
from gateway.record.db import READ_ONLY
from gateway.record.models import Contact, Place
from menus.catalog import PREFERRED_ORDER as MENU_LANGUAGES
from menus.catalog import place_name
from menus.engine import PlaceInfo, PlaceKey
from routing.rules import load_rules
from routing.units import LGD_LEVELS, REPORTABLE_LEVELS, Levels

DEMO_DIR = Path(__file__).parent / "demo"
PLACE_COLUMNS = ("lgd_code", "level", "name", "parent_lgd_code")
CONTACT_COLUMNS = ("name", "phone", "unit", "place_lgd_code", "role", "language", "active")
REQUIRED_CONTACT_COLUMNS = ("name", "phone", "unit", "place_lgd_code")
OPTIONAL_CONTACT_COLUMNS = ("role", "language", "active")
TRUE, FALSE = {"1", "true", "yes", "y", "active", ""}, {"0", "false", "no", "n", "inactive"}
ACTIVE_VALUES = TRUE | FALSE
BATCH = 5000
MAX_REPORTED = 20
# Place.<level>_lgd, top down: the ancestor columns a place can fill (PlaceLevels.above).
ANCESTOR_COLUMNS = ("state", "district", "sub_district", "block", "gram_panchayat", "urban_local_body")


def _above(level: str, parents: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    found: list[str] = []
    for parent in parents[level]:
        found += [name for name in (parent, *_above(parent, parents)) if name not in found]
    return tuple(name for name in ANCESTOR_COLUMNS if name in found)


@dataclass(frozen=True)
class PlaceLevels:
    """The levels of one import, by the index packed into place keys: LGD's first, so their indices
    never change (`LEVEL_INDEX`, which the LGD import uses), then the declared jurisdictions."""

    levels: Levels
    names: tuple[str, ...]  # index → level
    index: Mapping[str, int]  # level → index
    parents: Mapping[str, tuple[str, ...]]  # routing.units.Levels.parents
    above: Mapping[str, tuple[str, ...]]  # the ancestor columns a place at that level fills


def place_levels(levels: Levels) -> PlaceLevels:
    names = (*LGD_LEVELS, *levels.jurisdictions)
    if len(names) >= UNRESOLVED:
        raise DirectoryError([f"the routing rules declare {len(levels.jurisdictions)} jurisdiction levels; "
                              f"the directory holds at most {UNRESOLVED - len(LGD_LEVELS)}"])
    parents = levels.parents
    return PlaceLevels(levels, names, {level: index for index, level in enumerate(names)}, parents,
                       {level: _above(level, parents) for level in names})

Row = dict[str, str]


class DirectoryError(ValueError):
    """A directory file that cannot be imported; `problems` lists `file line N: reason`.

    Only the first MAX_REPORTED problems are kept (a file in the wrong shape can have a million);
    `total` counts them all, so the message can say how many more there were.
    """

    def __init__(self, problems: Sequence[str], total: int | None = None) -> None:
        shown = list(problems[:MAX_REPORTED])
        more = max(len(problems) if total is None else total, len(problems)) - len(shown)
        super().__init__("\n".join(shown + ([f"… and {more} more"] if more else [])))
        self.problems = list(problems)
        self.total = len(shown) + more


@dataclass
class ImportSummary:
    places: int = 0
    contacts: int = 0


class Problems:
    """Problems found so far in either file: the first MAX_REPORTED kept, the rest only counted."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.total = 0

    def add(self, name: str, line: int | None, message: str) -> None:
        self.total += 1
        if len(self.shown) < MAX_REPORTED:
            self.shown.append(f"{name} line {line}: {message}" if line is not None else f"{name}: {message}")

    def __bool__(self) -> bool:
        return self.total > 0

    def error(self) -> DirectoryError:
        return DirectoryError(self.shown, self.total)


class _Writer:
    """Validated rows on their way to one table, written BATCH at a time.

    Once any problem has been found the transaction is doomed to roll back, so rows are dropped
    instead of written: checking goes on (to report up to MAX_REPORTED problems) at reading speed.
    """

    def __init__(self, connection: Connection, table: Table, keys: Sequence[str], problems: Problems,
                 kept: Sequence[str] = ()) -> None:
        self.connection, self.table, self.keys, self.problems = connection, table, keys, problems
        self.kept = kept  # columns the file does not carry: an existing row keeps its values
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows and not self.problems:
            _upsert(self.connection, self.table, self.rows, self.keys, self.kept)
        self.rows = []


# --- reading -----------------------------------------------------------------------------------


def read_rows(path: Path, required: Sequence[str], problems: Problems) -> Iterator[tuple[int, Row]]:
    """The file's non-blank rows as (line number, column → stripped value), streamed.

    Shaped like `csv.DictReader`'s rows (short rows padded with "", extra values reported), so the
    checks read as before. A file that is not UTF-8 aborts the import at once, with its byte offset.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from _csv_rows(path.name, csv.reader(handle), required, problems)
    except UnicodeDecodeError as exc:
        problems.add(path.name, None, _utf8_problem(path) or f"not UTF-8 ({exc.reason})")
        raise problems.error() from exc
    except OSError as exc:
        problems.add(str(path), None, f"cannot read ({exc.strerror})")
        raise problems.error() from exc


def _csv_rows(name: str, reader: Any, required: Sequence[str], problems: Problems) -> Iterator[tuple[int, Row]]:
    header = [column.strip() for column in next(reader, [])]
    if header:
        header[0] = header[0].lstrip("\ufeff").strip()
    missing = [column for column in required if column not in header]
    if missing:
        problems.add(name, 1, f"missing column(s) {', '.join(missing)}")
        return
    width = len(header)
    for raw in reader:
        if not raw:  # a blank line, which DictReader skips as well
            continue
        if len(raw) > width:
            problems.add(name, reader.line_num, "more values than columns")
        values = [value.strip() for value in raw[:width]]
        if any(values):
            values += [""] * (width - len(values))
            yield reader.line_num, dict(zip(header, values))


def _header(path: Path) -> list[str]:
    """The file's column names (an unreadable file is reported by the import itself)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [column.strip().lstrip("\ufeff") for column in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError):
        return []


def _utf8_problem(path: Path) -> str | None:
    """Where the file stops being UTF-8, as a byte offset from its start (the text reader only
    knows the offset inside its current buffer)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return f"not UTF-8 ({exc.reason} at byte {offset - pending + exc.start})"
            if not chunk:
                return None
            offset += len(chunk)


def as_code(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) < 10**12 else None


# --- the place index: (level, code) → one int packing (line, parent) ------------------------------
# A dict of ~900,000 small ints costs ~100 MB; the same dict of tuples would cost three times that.
# A place's key packs its code and level; line 0 marks a place already in the database; parent 0
# marks none (LGD codes are positive). A parent read from a file may not know its level yet
# (`parent_level` is optional): it is packed with level UNRESOLVED and resolved between the passes.

_LEVEL_BITS, _KEY_BITS = 5, 45  # LGD codes < 10**12 < 2**40; 31 levels (LGD's and the declared jurisdictions)
_UNIT_BITS = 6  # a contact's key packs its unit's index: 64 declared units (more: a tuple key)
UNRESOLVED = (1 << _LEVEL_BITS) - 1
_KEY_MASK = (1 << _KEY_BITS) - 1


def place_key(level: int, code: int) -> int:
    return (code << _LEVEL_BITS) | level


def _split(key: int) -> tuple[int, int]:
    """(level index, code)."""
    return key & UNRESOLVED, key >> _LEVEL_BITS


def _pack(line: int, parent: int) -> int:
    return (line << _KEY_BITS) | parent


def _unpack(packed: int) -> tuple[int, int]:
    """(line, parent key or 0)."""
    return packed >> _KEY_BITS, packed & _KEY_MASK


def _describe(key: int, levels: PlaceLevels) -> str:
    level, code = _split(key)
    return f"{levels.names[level]} {code}"


# LGD's levels alone, and their indices (the same in every import's PlaceLevels).
LGD = place_levels(Levels())
LEVEL_INDEX = LGD.index


def existing_places(connection: Connection, levels: PlaceLevels = LGD) -> dict[int, int]:
    """Every place already in the directory, streamed from SQL into the packed index (places of a
    level `levels` does not know, a jurisdiction the rules no longer declare, are left out)."""
    query = select(Place.level, Place.lgd_code, Place.parent_level, Place.parent_lgd_code).execution_options(  # type: ignore[call-overload]
        yield_per=BATCH
    )
    index: dict[int, int] = {}
    known = levels.index
    for level, code, parent_level, parent in connection.execute(query):
        if level in known:
            up = place_key(known[parent_level], parent) if parent and parent_level in known else 0
            index[place_key(known[level], code)] = _pack(0, up)
    return index


# --- places ----------------------------------------------------------------------------------------

def _row_problem(row: Row, level: str, code: int | None, parent: int | None, parent_level: str,
                 levels: PlaceLevels) -> str | None:
    if code is None:
        return f"lgd_code {row['lgd_code']!r} is not a positive number"
    if level not in levels.index:
        return f"level {row['level']!r} is not {levels.levels.describe()}"
    if not row["name"]:
        return "name is empty"
    if row["parent_lgd_code"] and parent is None:
        return f"parent_lgd_code {row['parent_lgd_code']!r} is not a positive number"
    if level != "state" and parent is None:
        return f"a {level} needs a parent_lgd_code"
    if parent_level and parent_level not in levels.parents[level]:
        allowed = " or ".join(levels.parents[level]) or "nothing"
        return f"a {level} cannot sit under a {parent_level} (it sits under a {allowed})"
    return None


def _index_places(rows: Iterator[tuple[int, Row]], name: str, known: dict[int, int], problems: Problems,
                  levels: PlaceLevels) -> set[int]:
    """Pass 1: check each row on its own and add it to `known` (file rows replace database ones).

    Returns the keys of places already in the directory whose parent the file changes: their
    descendants' denormalised ancestors must follow them (`_follow_moves`).
    """
    moved: set[int] = set()
    for line, row in rows:
        code, level, parent_level = as_code(row["lgd_code"]), row["level"].lower(), row.get("parent_level", "").lower()
        parent = as_code(row["parent_lgd_code"]) if row["parent_lgd_code"] else None
        problem = _row_problem(row, level, code, parent, parent_level, levels)
        key = place_key(levels.index[level], code) if problem is None else 0  # type: ignore[arg-type]
        first = known.get(key) if key else None
        if problem is None and first is not None and _unpack(first)[0]:
            problem = f"{level} {code} appears twice (first on line {_unpack(first)[0]})"
        if problem is not None:
            problems.add(name, line, problem)
            continue
        up = place_key(levels.index[parent_level] if parent_level else UNRESOLVED, parent) if parent else 0
        if first is not None and _split(_unpack(first)[1])[1] != (parent or 0):
            moved.add(key)
        known[key] = _pack(line, up)
    return moved


def _resolve_parents(known: dict[int, int], levels: PlaceLevels) -> None:
    """Between the passes: a parent code without a level is looked up at the levels its child may
    sit under, in order (a village's code names its gram panchayat, else a block, else a
    sub-district). One left unresolved is reported by pass 2."""
    for key, packed in known.items():
        line, up = _unpack(packed)
        if not up or _split(up)[0] != UNRESOLVED:
            continue
        parent_code = _split(up)[1]
        for parent_level in levels.parents[levels.names[_split(key)[0]]]:
            candidate = place_key(levels.index[parent_level], parent_code)
            if candidate in known:
                known[key] = _pack(line, candidate)
                break


def _write_places(rows: Iterator[tuple[int, Row]], name: str, known: dict[int, int], writer: _Writer,
                  levels: PlaceLevels) -> set[int]:
    """Pass 2: check each row's parent, fill in its ancestors and write it.

    Returns the keys refused here, which are in `known` (pass 1 accepted them) but are not places.
    """
    refused: set[int] = set()
    for line, row in rows:
        code, level = as_code(row["lgd_code"]), levels.index.get(row["level"].lower())
        key = place_key(level, code) if code is not None and level is not None else None
        packed = known.get(key) if key is not None else None
        if packed is None or _unpack(packed)[0] != line:
            continue  # refused by pass 1, or a second row with the key of an earlier one
        problem = _parent_problem(key, _unpack(packed)[1], known, levels)  # type: ignore[arg-type]
        if problem:
            writer.problems.add(name, line, problem)
            refused.add(key)  # type: ignore[arg-type]
            continue
        writer.add(_place_row(key, row, known, levels))  # type: ignore[arg-type]
    writer.flush()
    return refused


def _parent_problem(key: int, parent: int, known: dict[int, int], levels: PlaceLevels) -> str | None:
    if not parent:
        return None
    parent_level, parent_code = _split(parent)
    if parent_level != UNRESOLVED:
        return (None if parent in known
                else f"parent {_describe(parent, levels)} is neither in this file nor in the directory")
    level = levels.names[_split(key)[0]]
    elsewhere = [name for index, name in enumerate(levels.names) if place_key(index, parent_code) in known]
    if elsewhere:
        return (f"a {level} cannot sit under a {' or '.join(elsewhere)} ({parent_code}); "
                f"it sits under a {' or '.join(levels.parents[level])}")
    return f"parent_lgd_code {parent_code} is neither in this file nor in the directory"


def _place_row(key: int, row: Row, known: dict[int, int], levels: PlaceLevels) -> dict[str, Any]:
    level, code = _split(key)
    chain = _ancestors(key, known, levels)
    parent = _unpack(known[key])[1]
    return {
        "level": levels.names[level], "lgd_code": code, "name": row["name"],
        "names": {k[5:]: v for k, v in row.items() if k.startswith("name_") and v},
        "parent_level": levels.names[_split(parent)[0]] if parent else None,
        "parent_lgd_code": _split(parent)[1] if parent else None,
        **{f"{name}_lgd": chain.get(name) for name in ANCESTOR_COLUMNS},
    }


def _ancestors(key: int, known: dict[int, int], levels: PlaceLevels) -> dict[str, int]:
    chain: dict[str, int] = {}
    current = key
    for _ in range(len(levels.names) + 1):  # a cycle in the data cannot hang the import
        packed = known.get(current) if current else None
        if packed is None:
            break
        level, code = _split(current)
        chain.setdefault(levels.names[level], code)
        current = _unpack(packed)[1]
    return chain


def _import_places(connection: Connection, path: Path, known: dict[int, int], problems: Problems,
                   levels: PlaceLevels) -> tuple[int, set[int]]:
    """Both passes over the places file: how many were written, and the keys refused by pass 2."""
    moved = _index_places(read_rows(path, PLACE_COLUMNS, problems), path.name, known, problems, levels)
    _resolve_parents(known, levels)
    writer = _Writer(connection, Place.__table__, ["level", "lgd_code"], problems)  # type: ignore[attr-defined]
    again = read_rows(path, PLACE_COLUMNS, Problems())  # its reading problems were reported by pass 1
    refused = _write_places(again, path.name, known, writer, levels)
    if not problems:
        _follow_moves(connection, moved, known, levels)
    return writer.count, refused


def _follow_moves(connection: Connection, moved: set[int], known: dict[int, int], levels: PlaceLevels) -> None:
    """A place that moved takes its descendants along: their ancestors above it are rewritten.

    Routing reads a village's block and district from its own row; without this, the villages of
    a gram panchayat moved to another block would still alert the old block's committee.
    """
    table = Place.__table__  # type: ignore[attr-defined]
    for key in sorted(moved):
        level = levels.names[_split(key)[0]]
        if level not in ANCESTOR_COLUMNS:
            continue  # a village, a ward or a jurisdiction has no descendants
        chain = _ancestors(key, known, levels)
        code = _split(key)[1]
        connection.execute(table.update().where(table.c[f"{level}_lgd"] == code, table.c.level != level)
                           .values({f"{name}_lgd": chain.get(name) for name in levels.above[level]}))


# --- contacts --------------------------------------------------------------------------------------


def _contact_key(phone: str, unit: int, place: int) -> int | tuple[str, int, int]:
    """(phone, unit's index, place key) as one int: exact (no hash collisions) and ~40 bytes
    instead of ~200. E.164 is "+" and up to 15 digits, never starting with 0, so the digits are the number.
    """
    digits = phone[1:]
    if not (digits.isascii() and digits.isdigit()) or digits.startswith("0") or unit >= 1 << _UNIT_BITS:
        return phone, unit, place
    return (((int(digits) << _UNIT_BITS) | unit) << _KEY_BITS) | place


def _contact_place(row: Row, is_place: Callable[[int], bool], levels: PlaceLevels) -> int | str:
    """The key of the contact's place, or what is wrong: a code alone must name one place."""
    code, level = as_code(row["place_lgd_code"]), row.get("place_level", "").lower()
    if code is None:
        return f"place_lgd_code {row['place_lgd_code']!r} is not a place in the directory"
    if level:
        if level not in levels.index:
            return f"place_level {row['place_level']!r} is not {levels.levels.describe()}"
        if not is_place(place_key(levels.index[level], code)):
            return f"no {level} {code} in the directory"
        return place_key(levels.index[level], code)
    found = [key for index in range(len(levels.names)) if is_place(key := place_key(index, code))]
    if len(found) > 1:
        named = " and ".join(_describe(key, levels) for key in found)
        return f"place_lgd_code {code} names {named}: add a place_level column to say which"
    return found[0] if found else f"place_lgd_code {row['place_lgd_code']!r} is not a place in the directory"


def _check_contact(line: int, row: Row, is_place: Callable[[int], bool], seen: dict[Any, int],
                   units: Mapping[str, int], levels: PlaceLevels) -> dict[str, Any] | str:
    """The row ready to write, or what is wrong with it (`units`: the declared units, by index)."""
    phone = to_e164(row["phone"])
    unit = row["unit"].upper()
    active = row.get("active", "").lower()
    if not row["name"]:
        return "name is empty"
    if phone is None:
        return f"phone {row['phone']!r} is not a phone number (E.164 or Indian national form)"
    if unit not in units:
        return f"unit {row['unit']!r} is not one of {', '.join(units)} (the units the routing rules declare)"
    place = _contact_place(row, is_place, levels)
    if isinstance(place, str):
        return place
    if active not in ACTIVE_VALUES:
        return f"active {row['active']!r} is not yes/no"
    language = (row.get("language") or "en").strip().lower()
    if language not in MENU_LANGUAGES:
        return f"language {row['language']!r} is not one of {', '.join(MENU_LANGUAGES)} (the menu languages)"
    key = _contact_key(phone, units[unit], place)
    if key in seen:
        return f"same phone, unit and place as line {seen[key]}"
    seen[key] = line
    level, code = _split(place)
    return {
        "name": row["name"], "phone": phone, "unit": unit, "place_level": levels.names[level], "place_lgd_code": code,
        "role": row.get("role", ""), "language": language,
        "active": active in TRUE,
    }


def _import_contacts(connection: Connection, path: Path, is_place: Callable[[int], bool], problems: Problems,
                     units: Mapping[str, int], levels: PlaceLevels) -> int:
    writer = _Writer(connection, Contact.__table__, ["phone", "unit", "place_level", "place_lgd_code"],  # type: ignore[attr-defined]
                     problems, kept=[column for column in OPTIONAL_CONTACT_COLUMNS if column not in _header(path)])
    seen: dict[Any, int] = {}
    for line, row in read_rows(path, REQUIRED_CONTACT_COLUMNS, problems):
        checked = _check_contact(line, row, is_place, seen, units, levels)
        if isinstance(checked, str):
            problems.add(path.name, line, checked)
        else:
            writer.add(checked)
    writer.flush()
    return writer.count


# --- writing ---------------------------------------------------------------------------------------


def _upsert(connection: Connection, table: Table, rows: list[dict[str, Any]], keys: Sequence[str],
            kept: Sequence[str] = ()) -> None:
    """One chunk of rows, `INSERT … ON CONFLICT (keys) DO UPDATE` the other columns the file carries.

    A place's `names` are merged, not replaced: a file with only `name_hi` must not erase the
    Bengali name another file gave the same village.
    """
    postgres = connection.dialect.name == "postgresql"
    statement = (postgresql if postgres else sqlite).insert(table)
    updates: dict[str, Any] = {column: statement.excluded[column] for column in rows[0]
                               if column not in keys and column not in kept}
    if "names" in updates:
        updates["names"] = (
            cast(cast(table.c.names, JSONB).op("||")(cast(statement.excluded.names, JSONB)), JSON) if postgres
            else func.json_patch(table.c.names, statement.excluded.names))
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)


def _check_readable(paths: Sequence[Path | None]) -> None:
    """Fail before the (long) import starts when a file cannot even be opened."""
    for path in paths:
        if path is None:
            continue
        try:
            path.open("rb").close()
        except OSError as exc:
            raise DirectoryError([f"{path}: cannot read ({exc.strerror})"]) from exc


def import_directory(engine: Engine, places_csv: Path | None, contacts_csv: Path | None,
                     units: Sequence[str] | None = None, *, levels: Levels | None = None) -> ImportSummary:
    """Stream both files into one transaction; on any problem roll back and raise `DirectoryError`.

    `units`: the unit keys contacts may name, and `levels`: the jurisdictions places may be, both
    as the routing rules in force declare them (None: the shipped rules')."""
    if units is None or levels is None:
        shipped = load_rules()
        units = shipped.units.keys() if units is None else units
        levels = shipped.levels if levels is None else levels
    declared = {unit: index for index, unit in enumerate(units)}
    indexed = place_levels(levels)
    _check_readable([places_csv, contacts_csv])
    problems = Problems()
    with engine.begin() as connection:
        known = existing_places(connection, indexed)
        places, refused = (_import_places(connection, places_csv, known, problems, indexed) if places_csv
                           else (0, set()))

        def is_place(key: int) -> bool:
            return key in known and key not in refused

        contacts = (_import_contacts(connection, contacts_csv, is_place, problems, declared, indexed) if contacts_csv
                    else 0)
        if problems:
            raise problems.error()  # leaving the block with an exception rolls everything back
    return ImportSummary(places=places, contacts=contacts)


def import_demo(engine: Engine, units: Sequence[str] | None = None, *, levels: Levels | None = None) -> ImportSummary:
    """The demo directory, and which places its police stations cover."""
    from gateway.record.coverage import (
        import_coverage,  # (it imports this module's readers)
    )

    summary = import_directory(engine, DEMO_DIR / "places.csv", DEMO_DIR / "contacts.csv", units, levels=levels)
    if (DEMO_DIR / "coverage.csv").exists():
        import_coverage(engine, DEMO_DIR / "coverage.csv", levels=levels)
    return summary


def places_by_key(session: Session, keys: Iterable[PlaceKey | None]) -> dict[PlaceKey, Place]:
    """The places named by (level, code) keys, one query: codes grouped by level, each group an
    index range of the primary key."""
    codes: dict[str, set[int]] = {}
    for key in keys:
        if key is not None and key[1]:
            codes.setdefault(key[0], set()).add(key[1])
    if not codes:
        return {}
    query = model_select(Place).where(or_(*(and_(Place.level == level, col(Place.lgd_code).in_(sorted(found)))
                                      for level, found in codes.items())))
    return {(place.level, place.lgd_code): place for place in session.exec(query)}


def is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(Place.lgd_code).limit(1)).first() is None  # type: ignore[call-overload]


class SqlPlaces:
    """`menus.engine.Places` over SQL, with place lists cached for a short while.

    Lists change only when the directory is imported; a stale list for `ttl` seconds is the price
    of not querying SQL on every hop. Places found by code are cached the same way, but a code
    not found is never cached, so a freshly imported village code works at once.
    """

    def __init__(self, engine: Engine, ttl: float = 30.0, timer: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._lists: TTLCache[tuple[PlaceKey | None, str], list[PlaceInfo]] = TTLCache(10_000, ttl, timer)
        self._villages: TTLCache[tuple[int, str | None, str], PlaceInfo] = TTLCache(50_000, ttl, timer)
        self._lock = threading.Lock()  # the event loop and the SMS threads read them at once

    def children(self, parent: PlaceKey | None, lang: str) -> Sequence[PlaceInfo]:
        key = (parent, lang)
        with self._lock:
            cached = self._lists.get(key)
        if cached is not None:
            return cached
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            rows = connection.execute(_children_query(parent))
            infos = [PlaceInfo(code, level, place_name(names, lang, name)) for code, level, name, names in rows]
        infos.sort(key=lambda place: place.name)
        with self._lock:
            self._lists[key] = infos
        return infos

    def village(self, lgd_code: int, lang: str, level: str | None = None) -> PlaceInfo | None:
        key = (lgd_code, level, lang)
        with self._lock:
            cached = self._villages.get(key)
        if cached is not None:
            return cached
        levels = (level,) if level else REPORTABLE_LEVELS
        query = select(Place.level, Place.name, Place.names).where(  # type: ignore[call-overload]
            Place.lgd_code == lgd_code, col(Place.level).in_(levels))
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            rows = sorted(connection.execute(query), key=lambda row: levels.index(row[0]))
        if not rows:
            return None  # not cached: a code imported a moment later must work at once
        found, name, names = rows[0]  # a village before a ward that shares its code
        info = PlaceInfo(lgd_code, found, place_name(names, lang, name))
        with self._lock:
            self._villages[key] = info
        return info


def _children_query(parent: PlaceKey | None) -> Select:
    """Places under `parent` that lead somewhere a child can be: a sub-district whose villages all
    sit under panchayats, say, is not offered (a villager would pick it and find nothing)."""
    child = Place.__table__.alias("child")  # type: ignore[attr-defined]
    leads = exists().where(child.c.parent_level == Place.level, child.c.parent_lgd_code == Place.lgd_code)
    query = select(Place.lgd_code, Place.level, Place.name, Place.names).where(  # type: ignore[call-overload]
        or_(col(Place.level).in_(REPORTABLE_LEVELS), leads))
    if parent is None:
        return query.where(col(Place.parent_lgd_code).is_(None))
    level, code = parent
    query = query.where(Place.parent_lgd_code == code)
    return query.where(Place.parent_level == level) if level else query  # "": a session from before levels
