"""Core statements run on an SQLite connection of the event loop's own: storing a report inline.

The hop that tells a villager "sent" stores the report on the event loop (SQLite: under a
millisecond of local work, cheaper than a thread hand-off). Through an `Engine` a third of that
transaction was SQLAlchemy's execution machinery rather than SQLite: the pool check-out, the begin
and commit events, an execution context per statement (docs/benchmarks.md). This runs the very same Core
statement objects on one `sqlite3` connection instead, each compiled once by the engine's own
dialect. What is SQLAlchemy's stays SQLAlchemy's: the SQL text, the column types' conversions
(their bind and result processors: datetimes, JSON, booleans), and the exceptions (an `sqlite3`
error is wrapped as the engine would wrap it, so `IntegrityError` and "database is locked" are
caught the same way on either path).

It speaks only what report storage needs: INSERT (one row or many) and SELECT of plain
columns, inside `begin()`. The write lock is taken at once or not at all (busy timeout 0): a
store that would wait for another writer (`cpgw worker`, an import) raises "database is locked"
before anything is written, and the caller waits for it on a thread through the engine instead.
Its commits are synced to disk off the loop: the caller awaits `synced()` before saying "sent".
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Insert, Select

from gateway.db import sqlite_error

Processor = Callable[[Any], Any] | None
Params = Mapping[str, Any]
_MAX_COMPILED = 256


@dataclass(frozen=True)
class _Compiled:
    """A statement as the driver takes it: SQL text, its parameters' order and conversions."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Processor, ...]
    bound: Params  # values given in the statement itself (`column == 5`), used when a row has none
    columns: tuple[str, ...]  # a SELECT's result columns
    results: tuple[Processor, ...]

    def params(self, row: Params) -> tuple[Any, ...]:
        values = (row[name] if name in row else self.bound[name] for name in self.names)
        return tuple(value if p is None else p(value) for value, p in zip(values, self.processors, strict=True))


class Result:
    """What callers read of a statement's result: the inserted key, or a SELECT's first row."""

    def __init__(self, compiled: _Compiled, cursor: sqlite3.Cursor) -> None:
        self._compiled, self._cursor = compiled, cursor

    @property
    def inserted_primary_key(self) -> tuple[int]:
        return (self._cursor.lastrowid,)  # type: ignore[return-value]

    def first(self) -> Any:
        raw = self._cursor.fetchone()
        if raw is None:
            return None
        compiled = self._compiled
        values = [value if p is None or value is None else p(value) for value, p in zip(raw, compiled.results, strict=True)]
        return _Row(dict(zip(compiled.columns, values, strict=True)))


class _Row:
    """A result row read by attribute, as SQLAlchemy's `Row` is."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


class DirectSqlite:
    """One SQLite connection, made by the engine (its pragmas included), used one caller at a time."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("DirectSqlite runs on SQLite only")
        self._engine = engine
        self._connection: sqlite3.Connection | None = None
        self._wal: str | None = None  # the WAL file `synced()` syncs (None: commits sync themselves)
        self._lock = threading.Lock()
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}

    @contextmanager
    def begin(self) -> Iterator[DirectSqlite]:
        """A write transaction (BEGIN IMMEDIATE): committed on exit, rolled back on an exception."""
        if not self._lock.acquire(blocking=False):  # another thread is mid-store: do as SQLite would
            raise sqlite_error("BEGIN IMMEDIATE", (), sqlite3.OperationalError("database is locked"))
        try:
            connection = self._connect()
            self._run(connection, "BEGIN IMMEDIATE", ())
            try:
                yield self
                self._run(connection, "COMMIT", ())
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        finally:
            self._lock.release()

    def execute(self, statement: Insert | Select[Any], parameters: Params | Sequence[Params] | None = None) -> Result:
        """Run a Core INSERT (a row, or a list of rows) or SELECT; inside `begin()` only."""
        assert self._connection is not None and self._connection.in_transaction, "execute() outside begin()"
        rows = [parameters or {}] if parameters is None or isinstance(parameters, Mapping) else list(parameters)
        compiled = self._compile(statement, rows[0])
        if len(rows) == 1:
            cursor = self._run(self._connection, compiled.sql, compiled.params(rows[0]))
        else:
            cursor = self._run(self._connection, compiled.sql, [compiled.params(row) for row in rows], many=True)
        return Result(compiled, cursor)

    async def synced(self) -> None:
        """Return once everything committed so far is on disk: the WAL synced, on a thread.

        What `synchronous=FULL` does inside each commit, done off the event loop: a commit's
        frames and the WAL's header are in that one file, and anything older than the WAL's last
        restart was checkpointed (and synced) into the database first. The file is opened afresh
        each time, so that a WAL that SQLite removed and made anew is the one synced.
        """
        if self._wal is not None:
            await asyncio.to_thread(_sync_file, self._wal)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            proxied = self._engine.raw_connection()  # the engine's connect events set the pragmas
            connection = proxied.driver_connection
            assert isinstance(connection, sqlite3.Connection)
            proxied.detach()  # ours for good, out of the pool
            connection.execute("PRAGMA busy_timeout = 0")
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                # Its commits do not sync on the loop (0.2 ms, 3 ms at p99, every villager waiting):
                # the caller awaits `synced()`, which syncs the WAL on a thread, before "sent".
                connection.execute("PRAGMA synchronous = NORMAL")
                self._wal = f"{connection.execute('PRAGMA database_list').fetchone()[2]}-wal"
            self._connection = connection
        return self._connection

    def _compile(self, statement: Insert | Select[Any], row: Params) -> _Compiled:
        key = (statement, tuple(row))
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= _MAX_COMPILED:  # statements are meant to be built once; a caller
                self._compiled.clear()               # that builds them per call must not grow this
            compiled = self._compiled[key] = _compile(statement, tuple(row), self._engine)
        return compiled

    @staticmethod
    def _run(connection: sqlite3.Connection, sql: str, params: Any, *, many: bool = False) -> sqlite3.Cursor:
        try:
            return connection.executemany(sql, params) if many else connection.execute(sql, params)
        except sqlite3.Error as exc:
            raise sqlite_error(sql, params, exc) from exc


def _compile(statement: Insert | Select[Any], keys: tuple[str, ...], engine: Engine) -> _Compiled:
    dialect = engine.dialect
    if isinstance(statement, Insert):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        unknown = set(keys) - set(compiled.positiontup or ())
        if unknown:  # as the engine would refuse them ("Unconsumed column names")
            raise ValueError(f"no such columns in {statement.table}: {', '.join(sorted(unknown))}")
        if compiled.insert_prefetch:  # a column default SQLAlchemy would compute in Python: not done here
            missing = ", ".join(column.key for column in compiled.insert_prefetch)
            raise ValueError(f"rows for {statement.table} must give every column with a default: {missing}")
        columns, results = (), ()
    else:
        compiled = statement.compile(dialect=dialect)
        selected = list(statement.selected_columns)
        columns = tuple(column.key for column in selected)
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected)
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    processors = tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds)
    bound = {name: bind.effective_value for name, bind in zip(names, binds, strict=True) if not bind.required}
    return _Compiled(compiled.string, names, processors, bound, columns, results)


def _sync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
