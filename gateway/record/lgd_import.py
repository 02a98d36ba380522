"""`cpgw directory import-lgd`: the LGD's own downloads, converted and imported in one run.

The conversion (`gateway.record.lgd`) turns the files into our places CSV and notes every row it
refused or choice it made; the import is then the ordinary one (`import_directory`: all or
nothing, idempotent). Before importing, the converted rows are compared with the directory, a
chunk at a time, so that the report says what the run adds and changes: a re-import of the same
downloads must say "0 added, 0 changed".
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from gateway.record.directory import (
    BATCH,
    LEVEL_INDEX,
    ImportSummary,
    existing_places,
    import_directory,
    place_key,
)
from gateway.record.lgd import LgdConversion, convert_lgd
from gateway.record.models import Place


@dataclass
class LgdImport:
    conversion: LgdConversion
    summary: ImportSummary
    added: Counter[str] = field(default_factory=Counter)  # level → places new to the directory
    changed: Counter[str] = field(default_factory=Counter)  # level → places whose name or parent changed


def import_lgd(engine: Engine, paths: Sequence[Path]) -> LgdImport:
    """Convert and import; raises `LgdError` (a file unusable) or `DirectoryError` (nothing imported)."""
    with engine.connect() as connection:
        known = existing_places(connection)

    def is_known(level: str, code: int) -> bool:
        return level in LEVEL_INDEX and place_key(LEVEL_INDEX[level], code) in known

    with tempfile.TemporaryDirectory(prefix="cpgw-lgd-") as folder:
        converted = Path(folder) / "places.csv"
        conversion = convert_lgd(paths, converted, known=is_known)
        known.clear()  # the import builds its own index: never two in memory at once
        added, changed = _compare(engine, converted)
        summary = import_directory(engine, converted, None)
    return LgdImport(conversion, summary, added, changed)


def _chunks(path: Path) -> Iterator[list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        chunk: list[dict[str, str]] = []
        for row in csv.DictReader(handle):
            chunk.append(row)
            if len(chunk) >= BATCH:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _compare(engine: Engine, converted: Path) -> tuple[Counter[str], Counter[str]]:
    """Per level: rows the directory lacks, and rows whose name, parent or a given name differ."""
    added: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    table = Place.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        for chunk in _chunks(converted):
            codes = sorted({int(row["lgd_code"]) for row in chunk})
            query = select(table.c.level, table.c.lgd_code, table.c.name, table.c.names, table.c.parent_level,
                           table.c.parent_lgd_code).where(table.c.lgd_code.in_(codes))
            stored = {(row.level, row.lgd_code): row for row in connection.execute(query)}
            for row in chunk:
                old = stored.get((row["level"], int(row["lgd_code"])))
                if old is None:
                    added[row["level"]] += 1
                elif _differs(old, row):
                    changed[row["level"]] += 1
    return added, changed


def _differs(old: Any, row: dict[str, str]) -> bool:
    names = {key[5:]: value for key, value in row.items() if key.startswith("name_") and value}
    parent = int(row["parent_lgd_code"]) if row["parent_lgd_code"] else None
    return (old.name != row["name"] or (old.parent_level or "") != row["parent_level"]
            or old.parent_lgd_code != parent or {**(old.names or {}), **names} != (old.names or {}))
