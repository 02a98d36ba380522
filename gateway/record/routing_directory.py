"""`routing.directory.Directory` over SQL: the router's two questions, each answered by an index.

A chain is one primary-key lookup of the place (its ancestors are denormalised on the row at
import) and one `IN` lookup of those ancestors by primary key; contacts come through the
`(place_lgd_code, unit)` index. Nothing scans, so a decision costs the same at 600 villages and at
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

from cachetools import TTLCache
from sqlalchemy import Connection, Engine, select, true

from gateway.record.models import Contact, Place
from routing.directory import ContactRef, PlaceRef
from routing.units import LEVELS

PLACE = Place.__table__.c  # type: ignore[attr-defined]
CONTACT = Contact.__table__.c  # type: ignore[attr-defined]
ANCESTORS = (PLACE.gram_panchayat_lgd, PLACE.block_lgd, PLACE.district_lgd, PLACE.state_lgd)
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

    def chain(self, village_lgd: int) -> list[PlaceRef]:
        # An unknown code is not remembered: a village imported a moment ago must route at once.
        return list(self._cached(("chain", village_lgd), lambda: tuple(self._chain(village_lgd)), keep_empty=False))

    def active_contacts(self, unit: str, place_lgd: int) -> list[ContactRef]:
        return list(self._cached(("contacts", unit, place_lgd), lambda: tuple(self._contacts(unit, place_lgd))))

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

    def _chain(self, village_lgd: int) -> list[PlaceRef]:
        with self._connect() as connection:
            row = connection.execute(
                select(PLACE.lgd_code, PLACE.level, PLACE.name, *ANCESTORS).where(PLACE.lgd_code == village_lgd)
            ).first()
            if row is None:
                return []
            codes = {code for code in row[3:] if code is not None and code != village_lgd}
            above = connection.execute(
                select(PLACE.lgd_code, PLACE.level, PLACE.name).where(PLACE.lgd_code.in_(sorted(codes)))
            ).all() if codes else []
        places = [PlaceRef(row.lgd_code, row.level, row.name)] + [PlaceRef(*item) for item in above]
        return sorted(places, key=lambda place: LEVELS.index(place.level))

    def _contacts(self, unit: str, place_lgd: int) -> list[ContactRef]:
        query = (
            select(CONTACT.name, CONTACT.phone, CONTACT.language)
            .where(CONTACT.place_lgd_code == place_lgd, CONTACT.unit == unit, CONTACT.active == true())
            .order_by(CONTACT.id)
        )
        with self._connect() as connection:
            return [ContactRef(name, phone, language) for name, phone, language in connection.execute(query)]
