"""SQLite's WAL checkpoints taken off the commits of the web app (gateway.record.db.Checkpointer)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from gateway.record import db


def _engine(tmp_path: Path, background: bool):  # type: ignore[no-untyped-def]
    return db.make_engine(f"sqlite:///{tmp_path / 'wal.db'}", background_checkpoints=background)


def _write(engine, rows: int) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, pad TEXT)"))
    for i in range(rows):
        with engine.begin() as connection:  # one commit each, as reports are
            connection.execute(text("INSERT INTO t (pad) VALUES (:pad)"), {"pad": "x" * 2000 + str(i)})


def test_commits_of_the_web_app_never_checkpoint(tmp_path):
    engine = _engine(tmp_path, background=True)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    _write(engine, 1500)  # ~1,500 pages: past SQLite's 1,000-page automatic checkpoint
    wal = (tmp_path / "wal.db-wal").stat().st_size
    assert wal > 1000 * 4096  # nothing was copied back and reset by a commit
    engine.dispose()


def test_other_processes_keep_sqlites_own_checkpoints(tmp_path):
    engine = _engine(tmp_path, background=False)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    engine.dispose()


def test_the_checkpointer_copies_the_wal_on_its_thread(tmp_path):
    """Pages reach the database file only through a checkpoint: its size shows one happened."""
    engine = _engine(tmp_path, background=True)
    _write(engine, 50)
    database = tmp_path / "wal.db"
    before = database.stat().st_size
    checkpointer = db.Checkpointer(engine, every_s=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while database.stat().st_size < before + 50 * 2000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert database.stat().st_size >= before + 50 * 2000
    finally:
        checkpointer.stop()
    assert not checkpointer._thread.is_alive()
    engine.dispose()


def test_every_commit_reaches_the_disk_before_it_returns(tmp_path):
    """A report told "sent" must survive a power cut: SQLite syncs the WAL at every commit."""
    for background in (True, False):
        engine = _engine(tmp_path, background)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        engine.dispose()
