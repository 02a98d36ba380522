"""Directory CSV import from the console: a preview of what would change, then the same import for real.

The preview runs the real importer (`gateway.record.directory.import_directory`: the same checks, the
same line numbers as `cpgw directory import`) inside a transaction that is always rolled back,
and compares the rows the files name before and after it. Applying runs the same thing and
commits. A district user may only touch places and contacts inside their district: a row outside
it is reported as a problem and nothing is imported.

Files from the page are capped at MAX_BYTES (a district's directory is a few hundred kB); a
national file belongs to the CLI. The preview travels back to the browser as the files themselves
(base64 in the apply form), so no upload is kept on the server between the two steps.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from gateway.infra.phones import to_e164
from gateway.record.directory import DirectoryError, import_directory
from gateway.record.models import ConsoleAudit, Contact, Place, at_place, utcnow
from gateway.referrals.actions import Principal
from routing.units import Levels

MAX_BYTES = 5 * 1024 * 1024
SHOWN = 200  # changes listed per file in the preview
PLACES = Place.__table__  # type: ignore[attr-defined]
PLACE, CONTACT = PLACES.c, Contact.__table__.c  # type: ignore[attr-defined]
PLACE_FIELDS = ("name", "names", "parent_level", "parent_lgd_code")
CONTACT_FIELDS = ("name", "role", "language", "active")


@dataclass
class Change:
    key: str  # "9001111 Amtola" or "+9170… VCPC at 9001111"
    kind: str  # new | changed
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class FileSummary:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)


@dataclass
class Preview:
    problems: list[str]
    places: FileSummary
    contacts: FileSummary
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


class _Bound:
    """Looks like an Engine to `import_directory`, but hands it our connection and transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self._connection


def _place_keys(data: bytes) -> list[tuple[str, int]]:
    """(level, code) of each row: LGD numbers each level apart."""
    return [((row.get("level") or "").strip().lower(), int(row["lgd_code"].strip())) for row in _dict_rows(data)
            if (row.get("lgd_code") or "").strip().isdigit()]


ContactKey = tuple[str, str, int, str]  # phone, unit, place code, place level ("" when the file leaves it out)


def _contact_keys(data: bytes) -> list[ContactKey]:
    keys = []
    for row in _dict_rows(data):
        phone = to_e164((row.get("phone") or "").strip())
        place = (row.get("place_lgd_code") or "").strip()
        if phone and place.isdigit():
            level = (row.get("place_level") or "").strip().lower()
            keys.append((phone, (row.get("unit") or "").strip().upper(), int(place), level))
    return keys


def _dict_rows(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []  # the importer reports it, with the byte offset
    return list(csv.DictReader(io.StringIO(text)))


def _snapshot_places(connection: Connection, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    wanted = set(keys)
    codes = sorted({code for _, code in wanted})
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        for row in connection.execute(select(PLACE).where(PLACE.lgd_code.in_(chunk))).mappings():
            if (row["level"], row["lgd_code"]) in wanted:
                found[(row["level"], row["lgd_code"])] = dict(row)
    return found


def _snapshot_contacts(connection: Connection, keys: Sequence[ContactKey]) -> dict[ContactKey, dict[str, Any]]:
    """The contacts the file names, each under its file key (a row without place_level names the
    contact at whatever level the code is: the importer refuses a code that names two places)."""
    phones = sorted({key[0] for key in keys})
    wanted = set(keys)
    found: dict[ContactKey, dict[str, Any]] = {}
    for start in range(0, len(phones), 500):
        query = select(CONTACT, PLACE.district_lgd).join(PLACES, at_place()).where(
            CONTACT.phone.in_(phones[start:start + 500]))
        for row in connection.execute(query).mappings():
            for level in (row["place_level"], ""):
                key = (row["phone"], row["unit"], row["place_lgd_code"], level)
                if key in wanted:
                    found[key] = dict(row)
    return found


def _compare(before: dict[Any, dict[str, Any]], after: dict[Any, dict[str, Any]], fields: Sequence[str],
             label: Any) -> FileSummary:
    summary = FileSummary()
    for key, row in after.items():
        old = before.get(key)
        if old is None:
            summary.new += 1
            if len(summary.changes) < SHOWN:
                summary.changes.append(Change(label(key, row), "new", {f: (None, row[f]) for f in fields}))
            continue
        diff = {f: (old[f], row[f]) for f in fields if old[f] != row[f]}
        if diff:
            summary.changed += 1
            if len(summary.changes) < SHOWN:
                summary.changes.append(Change(label(key, row), "changed", diff))
        else:
            summary.unchanged += 1
    return summary


def _out_of_scope(who: Principal, before: dict[tuple[str, int], dict[str, Any]], after: dict[tuple[str, int], dict[str, Any]],
                  contacts: dict[Any, dict[str, Any]]) -> list[str]:
    """Rows a district user may not import: a place that is, or would be, outside their district.

    Both sides are checked: where the place sits before the import (a Ranchi user must not
    re-parent a Purulia village into Ranchi: its sexual-abuse alerts would go to Ranchi's police)
    and where it sits after (nor move a Ranchi village out, nor create a place elsewhere).
    """
    if who.role != "district":
        return []
    elsewhere = {key for key, row in before.items() if row["district_lgd"] != who.district_lgd}
    problems = [f"places: {key[0]} {key[1]} {before[key]['name']} is in another district; only that district or an "
                "admin can change it" for key in sorted(elsewhere)]
    problems += [f"places: {key[0]} {key[1]} {row['name']} would be outside your district"
                 for key, row in after.items() if key not in elsewhere and row["district_lgd"] != who.district_lgd]
    problems += [f"contacts: {row['name']} ({row['unit']} at {row['place_level']} {row['place_lgd_code']}) is "
                 "outside your district"
                 for row in contacts.values() if row["district_lgd"] != who.district_lgd]
    return problems[:20]


def run(engine: Engine, who: Principal, *, places_csv: bytes | None, contacts_csv: bytes | None, apply: bool,
        units: Sequence[str], levels: Levels | None = None) -> Preview:
    """Import in a transaction; commit only when `apply` and nothing is wrong (`units` and the
    jurisdiction `levels`: those the routing rules in force declare)."""
    for name, data in (("places.csv", places_csv), ("contacts.csv", contacts_csv)):
        if data is not None and len(data) > MAX_BYTES:
            return Preview([f"{name}: larger than {MAX_BYTES // (1024 * 1024)} MB; use `cpgw directory import`"],
                           FileSummary(), FileSummary())
    place_keys = _place_keys(places_csv) if places_csv else []
    contact_keys = _contact_keys(contacts_csv) if contacts_csv else []
    with tempfile.TemporaryDirectory(prefix="cpgw-import-") as folder:
        paths: dict[str, Path | None] = {}
        for name, data in (("places.csv", places_csv), ("contacts.csv", contacts_csv)):
            paths[name] = None
            if data is not None:
                paths[name] = Path(folder) / name
                paths[name].write_bytes(data)  # type: ignore[union-attr]
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                places_before = _snapshot_places(connection, place_keys)
                contacts_before = _snapshot_contacts(connection, contact_keys)
                try:
                    import_directory(_Bound(connection), paths["places.csv"], paths["contacts.csv"], units,  # type: ignore[arg-type]
                                     levels=levels)
                except DirectoryError as exc:
                    return Preview(exc.problems[:50] + ([f"… and {exc.total - 50} more"] if exc.total > 50 else []),
                                   FileSummary(), FileSummary())
                places_after = _snapshot_places(connection, place_keys)
                contacts_after = _snapshot_contacts(connection, contact_keys)
                problems = _out_of_scope(who, places_before, places_after, contacts_after)
                preview = Preview(
                    problems,
                    _compare(places_before, places_after, PLACE_FIELDS, lambda k, r: f"{k[1]} {r['name']} ({r['level']})"),
                    _compare(contacts_before, contacts_after, CONTACT_FIELDS, lambda k, r: f"{r['name']}: {k[1]} at {r['place_level']} {k[2]}, {k[0]}"),
                )
                if apply and preview.ok:
                    connection.execute(ConsoleAudit.__table__.insert().values(  # type: ignore[attr-defined]
                        at=utcnow(), actor=who.name, action="directory_import", detail={
                            "places": {"new": preview.places.new, "changed": preview.places.changed},
                            "contacts": {"new": preview.contacts.new, "changed": preview.contacts.changed}}))
                    transaction.commit()
                    preview.applied = True
                return preview
            finally:
                if transaction.is_active:
                    transaction.rollback()
