"""SQL engine and schema migrations (Alembic, run from code so `cpgw db upgrade` needs no ini file)."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from gateway.infra.files import private_files

log = logging.getLogger("cpgw.db")
MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "cpgw_read_only"  # execution option: this connection only reads
BUSY_TIMEOUT_S = 30
PROBE_WAIT_S = 1.0  # /readyz: how long the write lock may be held by another before SQL counts as down
WRITER_TURNS = "-writer"  # beside the database: the file whose lock is the writers' turn across processes


def make_engine(url: str, *, background_checkpoints: bool = False) -> Engine:
    """The engine for `url`; `background_checkpoints` (SQLite): no commit ever checkpoints the WAL.

    The web app asks for that and runs a `Checkpointer`: SQLite otherwise checkpoints inside
    whichever commit takes the WAL past 1,000 pages, and that commit (with its fsync) was 20–30 ms
    on the event loop, felt by every villager waiting on it (docs/benchmarks.md).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        turns = None
        if path and path != ":memory:":
            database = Path(path)
            turns = database.with_name(database.name + WRITER_TURNS)
            private_files(*(database.with_name(database.name + suffix)
                            for suffix in ("", "-wal", "-shm", "-journal", WRITER_TURNS)))
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas_without_autocheckpoint if background_checkpoints
                     else _sqlite_pragmas)
        WriterQueue(turns).attach(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the web app read while the worker or an import writes; foreign keys are off by default.
    # synchronous=FULL: a commit reaches the disk before it returns, so a report the villager was
    # told is "sent" survives a power cut (NORMAL would lose the last commits: WAL synced only at
    # checkpoints). 0.2 ms a commit here, 3 ms at p99, on the thread that stores the report.
    # pysqlite's own transaction handling breaks SAVEPOINT; we issue BEGIN ourselves (WriterQueue._begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_pragmas_without_autocheckpoint(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class Checkpointer:
    """Checkpoints an SQLite WAL every `every_s` seconds, on a thread of its own.

    PASSIVE: it never waits for, nor blocks, a reader or a writer (sqlite3 releases the GIL while
    it copies pages and syncs), so the event loop keeps answering. Other processes on the same
    file (`cpgw worker`, an import) keep SQLite's own checkpoints; SQLite lets one run at a time.
    """

    def __init__(self, engine: Engine, every_s: float = 1.0) -> None:
        self._engine, self._every_s = engine, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpgw-sqlite-checkpoints", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def checkpoint(self) -> None:
        raw = self._engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.checkpoint()
            except Exception as exc:  # noqa: BLE001 — a failed checkpoint is retried the next second
                log.warning("WAL checkpoint failed", extra={"error": type(exc).__name__})


class WriterQueue:
    """SQLite's writers take turns on locks of ours before `BEGIN IMMEDIATE`: a thread lock within
    the process, then a file lock (`flock` on `<database>-writer`) across processes.

    SQLite has one writer. A connection that finds the write lock taken waits in SQLite's busy
    handler, which sleeps 1, 2, 5, 10 … up to 100 ms between tries: under a burst, threads of the
    same process storing reports slept past each other and the storing hop's p99 reached a second;
    with several processes writing (the web process, the effects process, the worker), a report
    slept behind the others' writes (storing-hop p99 0.3–0.6 s with two web processes and the worker). Queued on a Python lock, then in the kernel's
    queue of the file lock, the next writer starts the moment the last one commits. Read-only
    connections take a plain `BEGIN` and never queue.

    The turn is released on commit or rollback, and as a last resort when the connection goes back
    to the pool or is invalidated. The thread lock is never awaited longer than the busy timeout
    (then SQLite's own waiting takes over), so a turn lost by a bug slows writers down and never
    stops them. The file lock is waited for without a limit, as a writer elsewhere holds it only
    while it holds SQLite's own write lock; the kernel drops it when its process dies, and a
    process that stops while writing (SIGSTOP) stops every writer with or without it (`/readyz`
    says so after a second: its probe takes neither lock).
    """

    def __init__(self, turns: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._turns = turns  # None: an in-memory database, one process
        self._fd: int | None = None
        self._fd_pid = 0  # the process that opened `_fd`: a forked child opens its own

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        event.listen(engine.pool, "checkin", self._returned)
        event.listen(engine.pool, "invalidate", self._returned)

    def _begin(self, connection) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: a transaction that reads and then writes (the
        # guarded escalation UPDATE) waits its turn instead of failing with SQLITE_BUSY_SNAPSHOT.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        if self._lock.acquire(timeout=BUSY_TIMEOUT_S):
            self._take_file()  # gives the thread lock back if it fails
            connection.info[_TURN] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._end(connection)
            raise

    def _end(self, connection) -> None:  # type: ignore[no-untyped-def]
        if connection.info.pop(_TURN, False):
            self._give_back()

    def _returned(self, _dbapi_connection, record, *_args) -> None:  # type: ignore[no-untyped-def]
        if record is not None and record.info.pop(_TURN, False):
            self._give_back()

    def _take_file(self) -> None:
        if self._turns is None:
            return
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd, self._fd_pid = os.open(self._turns, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600), os.getpid()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # the GIL is released while the kernel queues us
        except BaseException:
            self._lock.release()
            raise

    def _give_back(self) -> None:
        try:
            if self._turns is not None and self._fd is not None and self._fd_pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


_TURN = "cpgw_writer_turn"  # in a connection's info while it holds this process's writer turn


def sqlite_error(sql: str, params: Any, exc: sqlite3.Error) -> DBAPIError:
    """The SQLAlchemy exception the engine would raise for this `sqlite3` error (IntegrityError, …),
    for code that talks to the driver itself: callers catch one family of exceptions either way."""
    return DBAPIError.instance(sql, params, exc, sqlite3.Error)


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked": another connection holds the write lock."""
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session that only reads: on SQLite it never waits behind (or blocks) a writer."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session


def ping(engine: Engine) -> None:
    """SQL answers, and on SQLite takes writes: the write lock can be had within a second.

    An SQLite that only reads cannot store a report, so a lock held by another writer for longer
    than that is an outage to report (a stuck process, a long import); the probe neither waits
    the 30 s busy timeout to say so nor keeps the lock (it rolls back at once).
    """
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA busy_timeout = {int(PROBE_WAIT_S * 1000)}")
        try:
            driver.execute("BEGIN IMMEDIATE")
            driver.execute("ROLLBACK")
        finally:
            driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    except sqlite3.Error as exc:
        raise sqlite_error("BEGIN IMMEDIATE", (), exc) from exc
    finally:
        raw.close()
