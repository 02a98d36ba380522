"""SQLite's WAL checkpoints taken off the commits of the web app (gateway.record.db.Checkpointer), and
its writers' turns across processes (gateway.record.db.WriterQueue)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

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


_HOLDER = """
import sys
from sqlalchemy import text
from gateway.record import db
engine = db.make_engine(sys.argv[1])
with engine.begin() as connection:
    connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, pad TEXT)"))
    print("writing", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


def _turn_is_free(turns: Path) -> bool:
    fd = os.open(turns, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor drops a lock taken through it
    return True


def test_writers_of_every_process_take_turns_on_one_file_lock(tmp_path):
    """A writer in another process (the worker, the effects process) holds the file lock for its
    whole transaction, so a writer here queues in the kernel, not in SQLite's sleeping busy handler."""
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    turns = tmp_path / ("turns.db" + db.WRITER_TURNS)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "writing"
        assert not _turn_is_free(turns)
        assert (turns.stat().st_mode & 0o777) == 0o600
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "committed"
        assert _turn_is_free(turns)
    finally:
        holder.kill()
        holder.wait()


def test_a_failed_transaction_gives_its_turn_back(tmp_path):
    engine = _engine(tmp_path, background=False)
    turns = tmp_path / ("wal.db" + db.WRITER_TURNS)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            assert not _turn_is_free(turns)
            connection.execute(text("INSERT INTO nowhere VALUES (1)"))
    except OperationalError:
        pass
    assert _turn_is_free(turns)
    _write(engine, 1)  # and the next writer gets it
    engine.dispose()
