"""SQL engine and schema migrations (Alembic, run from code so `cpgw db upgrade` needs no ini file)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "cpgw_read_only"  # execution option: this connection only reads
NO_WAIT = "cpgw_no_wait"  # execution option: take SQLite's write lock at once, or fail at once
BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the web app read while the worker or an import writes; foreign keys are off by default.
    # pysqlite's own transaction handling breaks SAVEPOINT; we issue BEGIN ourselves (_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    # IMMEDIATE takes the write lock up front: a transaction that reads and then writes (the
    # guarded escalation UPDATE) waits its turn instead of failing with SQLITE_BUSY_SNAPSHOT.
    # Connections marked read-only (directory lookups) take a plain BEGIN and never wait on a writer.
    # NO_WAIT (a report stored on the event loop) fails at once with "database is locked" when
    # another writer holds the lock, so that the caller can wait for it on a thread instead.
    options = connection.get_execution_options()
    if options.get(READ_ONLY, False):
        connection.exec_driver_sql("BEGIN")
    elif options.get(NO_WAIT, False):
        # The pragmas go straight to the driver: through SQLAlchemy each cost as much as the
        # report's inserts (this runs on the hop that tells a villager "sent").
        driver = connection.connection.driver_connection
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # through SQLAlchemy: its errors are wrapped
        finally:
            driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session that only reads: on SQLite it never waits behind (or blocks) a writer."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
