"""`routing.directory.Directory` over SQL: the router's two questions, each answered by an index.

A chain is one primary-key lookup of the place (its ancestors are denormalised on the row at
import), one `IN` lookup of those ancestors' codes on the primary key (code, level), and one of the
jurisdictions covering them (`ix_coverage_covers`: police stations, and any level the routing rules
declare, ranked after the places below the block and before the block, nearest cover first);
contacts come through the
`(place_lgd_code, place_level, unit)` index. Nothing scans, so a decision costs the same at 600 villages and at
640,000 (see `bench/routing_bench.py`).

The optional cache is small and short-lived on purpose: a contact marked inactive by an import
must stop receiving alerts within `ttl` seconds, and district and block contacts, the ones every
village of a district shares, are those that benefit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Connection, Engine, Row, and_, select, true

from gateway.record.models import Contact, Coverage, Place
from routing.directory import ContactRef, PlaceRef, with_jurisdictions
from routing.units import rank

PLACE_TABLE = Place.__table__  # type: ignore[attr-defined]
PLACE = PLACE_TABLE.c
COVERAGE = Coverage.__table__.c  # type: ignore[attr-defined]
CONTACT = Contact.__table__.c  # type: ignore[attr-defined]
ANCESTOR_LEVELS = ("gram_panchayat", "urban_local_body", "block", "sub_district", "district", "state")
ANCESTORS = tuple(PLACE[f"{level}_lgd"] for level in ANCESTOR_LEVELS)
# Reads only: on SQLite they need no write lock, so a long directory import cannot hold up a
# report's routing (gateway.record.db's BEGIN hook is asked to honour this option).
READ_ONLY = {"cpgw_read_only": True}


class SqlDirectory:
    """The directory the router reads, from the gateway's SQL tables."""

    def __init__(self, engine: Engine, *, cache_size: int = 2048, ttl: float = 30.0,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._cache: TTLCache[Hashable, tuple] | None = TTLCache(cache_size, ttl, timer) if cache_size else None
        self._lock = threading.Lock()  # routing runs on several threads at once
        self._connection: Connection | None = None

    def using(self, connection: Connection) -> SqlDirectory:
        """This directory read through `connection`, uncached: for routing inside the transaction
        that creates the case. On SQLite a second connection would wait for that transaction's
        write lock (gateway.record.db begins IMMEDIATE) until the busy timeout."""
        bound = SqlDirectory(self._engine, cache_size=0)
        bound._connection = connection
        return bound

    def chain(self, place_lgd: int, level: str = "village") -> list[PlaceRef]:
        # An unknown code is not remembered: a village imported a moment ago must route at once.
        return list(self._cached(("chain", level, place_lgd), lambda: tuple(self._chain(place_lgd, level)),
                                 keep_empty=False))

    def active_contacts(self, unit: str, place: PlaceRef) -> list[ContactRef]:
        key = ("contacts", unit, place.level, place.lgd_code)
        return list(self._cached(key, lambda: tuple(self._contacts(unit, place))))

    def place(self, lgd_code: int, level: str) -> Row[Any] | None:
        """A place's whole row (its names, block and district): what a case is stored with. Cached
        as chains are, so storing a report does not read it again (each read is a GIL hand-off on
        the storing thread); a code not found is not remembered."""
        found = self._cached(("place", level, lgd_code), lambda: tuple(self._place(lgd_code, level)), keep_empty=False)
        return found[0] if found else None

    def _place(self, lgd_code: int, level: str) -> Iterator[Row[Any]]:
        with self._connect() as connection:
            row = connection.execute(select(PLACE_TABLE).where(PLACE.level == level, PLACE.lgd_code == lgd_code)).first()
        if row is not None:
            yield row

    def forget(self) -> None:
        """Drop what is cached, after a directory import in this process."""
        if self._cache is not None:
            with self._lock:
                self._cache.clear()

    def _cached(self, key: Hashable, load: Callable[[], tuple], *, keep_empty: bool = True) -> tuple:
        if self._cache is None:
            return load()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        value = load()  # outside the lock: SQL must not queue every other thread's hits behind it
        if value or keep_empty:
            with self._lock:
                self._cache[key] = value
        return value

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        if self._connection is not None:
            yield self._connection
            return
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            yield connection

    def _chain(self, place_lgd: int, level: str) -> list[PlaceRef]:
        with self._connect() as connection:
            row = connection.execute(select(PLACE.lgd_code, PLACE.level, PLACE.name, *ANCESTORS).where(
                PLACE.level == level, PLACE.lgd_code == place_lgd)).first()
            if row is None:
                return []
            keys = {(code, up) for up, code in zip(ANCESTOR_LEVELS, row[3:], strict=True)
                    if code is not None and up != level}
            codes = sorted({code for code, _ in keys})
            # lgd_code leads the primary key; places that share a code at another level are dropped below.
            above = connection.execute(select(PLACE.lgd_code, PLACE.level, PLACE.name).where(
                PLACE.lgd_code.in_(codes))).all() if keys else []
            places = [PlaceRef(row.lgd_code, row.level, row.name)]
            places += [PlaceRef(*item) for item in above if (item[0], item[1]) in keys]
            places.sort(key=lambda place: rank(place.level))
            covering = self._covering(connection, places)
        return with_jurisdictions(places, covering)

    @staticmethod
    def _covering(connection: Connection, chain: list[PlaceRef]) -> list[PlaceRef]:
        """The jurisdictions (of any level) covering any place of the chain, the one covering the
        nearest first."""
        rank = {(place.level, place.lgd_code): n for n, place in enumerate(chain)}
        rows = connection.execute(
            select(COVERAGE.covers_level, COVERAGE.covers_lgd_code, PLACE.lgd_code, PLACE.level, PLACE.name)
            .join(PLACE_TABLE, and_(PLACE.level == COVERAGE.place_level, PLACE.lgd_code == COVERAGE.place_code))
            .where(COVERAGE.covers_lgd_code.in_(sorted({place.lgd_code for place in chain})))).all()
        found = sorted((rank[(r[0], r[1])], r[2], r[3], r[4]) for r in rows if (r[0], r[1]) in rank)
        return [PlaceRef(code, level, name) for _, code, level, name in found]

    def _contacts(self, unit: str, place: PlaceRef) -> list[ContactRef]:
        query = (
            select(CONTACT.name, CONTACT.phone, CONTACT.language)
            .where(CONTACT.place_lgd_code == place.lgd_code, CONTACT.place_level == place.level,
                   CONTACT.unit == unit, CONTACT.active == true())
            .order_by(CONTACT.id)
        )
        with self._connect() as connection:
            return [ContactRef(name, phone, language) for name, phone, language in connection.execute(query)]
