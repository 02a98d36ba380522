"""Core statements on the event loop's own SQLite connection (gateway.sqlite_direct).

The direct path must write exactly what the engine writes (the same columns, the same stored
formats of datetimes, JSON and booleans), raise the engine's exceptions, and never wait.
"""

from __future__ import annotations

import re
import sqlite3
import uuid

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.cases import NewReport, create_case
from gateway.db import is_locked
from gateway.models import Case, CaseEvent, Message, Place
from gateway.sqlite_direct import DirectSqlite

# What differs between two stores of the same report by design: keys, reference, clock readings.
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT[\d:.+]+")
_VARYING = {"id", "ref", "source_key", "case_id", "dedupe_key", "created_at", "updated_at", "at", "due_at"}


@pytest.fixture
def services(client):  # type: ignore[no-untyped-def]
    svc = client.app.state.services
    if svc.engine.dialect.name != "sqlite":
        pytest.skip("the direct path is SQLite's")
    return svc


@pytest.fixture
def direct(services):  # type: ignore[no-untyped-def]
    writer = DirectSqlite(services.engine)
    yield writer
    writer.close()


def _report(callback: bool = True) -> NewReport:
    return NewReport(source_key=f"ussd:{uuid.uuid4().hex}", village_lgd=9001111, concern="sexual_abuse", urgent=True,
                     channel="ussd", language="hi", reporter_phone="+919812345670" if callback else None)


def _stored(engine, case_id: int) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    """Every row of a case as SQLite holds it (raw values, not read back through types)."""
    tables = {"case": "SELECT * FROM \"case\" WHERE id = :id", "caseevent": "SELECT * FROM caseevent WHERE case_id = :id",
              "message": "SELECT * FROM message WHERE case_id = :id ORDER BY to_phone",
              "reportercontact": "SELECT case_id FROM reportercontact WHERE case_id = :id"}
    with engine.connect() as connection:
        return {name: [dict(row._mapping) for row in connection.execute(text(sql), {"id": case_id})]
                for name, sql in tables.items()}


def _shape(rows: dict[str, list[dict]], ref: str) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """The rows with what varies by design masked: keys and times by their type and length (so that
    a stored format still shows), the reference and ISO times inside texts by placeholders."""
    def masked(key: str, value: object) -> object:
        if key in _VARYING:
            return type(value).__name__, len(str(value))
        if isinstance(value, str):
            return _ISO_TIME.sub("<time>", value.replace(ref, "<ref>"))
        return value

    return {table: [{k: masked(k, v) for k, v in row.items()} for row in rows] for table, rows in rows.items()}


def test_a_report_stored_directly_is_stored_as_the_engine_stores_it(services, direct):
    kwargs = {"engine": services.engine, "cipher": services.cipher, "referrals": services.referrals}
    by_engine, alerts_e = create_case(report=_report(), **kwargs)
    by_direct, alerts_d = create_case(report=_report(), writer=direct, **kwargs)
    assert len(alerts_d) == len(alerts_e) >= 1
    engine_rows, direct_rows = _stored(services.engine, by_engine.id), _stored(services.engine, by_direct.id)
    assert direct_rows["message"] and direct_rows["caseevent"] and direct_rows["reportercontact"]
    assert _shape(direct_rows, by_direct.ref) == _shape(engine_rows, by_engine.ref)
    # and read back through the models, the returned case is what was stored
    with services.engine.connect() as connection:
        row = connection.execute(select(Case.__table__).where(Case.__table__.c.id == by_direct.id)).one()
    assert row.ref == by_direct.ref and row.ladder == by_direct.ladder and row.urgent is True
    assert row.due_at.replace(tzinfo=None) == by_direct.due_at.replace(tzinfo=None)


def test_a_select_reads_back_through_the_column_types(services, direct):
    statement = select(Place.__table__).where(Place.__table__.c.lgd_code == 9001111)
    with direct.begin() as connection:
        village = connection.execute(statement).first()
        nothing = connection.execute(select(Place.__table__).where(Place.__table__.c.lgd_code == -1)).first()
    assert village.level == "village" and isinstance(village.names, dict) and village.block_lgd
    assert nothing is None


def test_the_same_report_twice_is_one_case_and_the_engines_integrity_error(services, direct):
    report = _report(callback=False)
    kwargs = {"engine": services.engine, "cipher": services.cipher, "referrals": services.referrals, "writer": direct}
    first, alerts = create_case(report=report, **kwargs)
    again, none = create_case(report=report, **kwargs)
    assert again.id == first.id and alerts and none == []
    row = {"ref": "123456789", "source_key": report.source_key, **{k: v for k, v in first.model_dump().items()
                                                                  if k not in ("id", "ref", "source_key")}}
    with pytest.raises(IntegrityError), direct.begin() as connection:
        connection.execute(insert(Case.__table__), row)


def test_an_exception_rolls_the_transaction_back(services, direct):
    event = {"case_id": None, "at": None, "kind": "note", "actor": "test", "detail": {}}
    first, _ = create_case(engine=services.engine, cipher=services.cipher, report=_report(), writer=direct)
    with pytest.raises(RuntimeError), direct.begin() as connection:
        connection.execute(insert(CaseEvent.__table__), {**event, "case_id": first.id, "at": first.created_at})
        raise RuntimeError("after a write")
    with services.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM caseevent WHERE kind = 'note'")).scalar() == 0
    with direct.begin():  # the connection is usable again
        pass


def test_another_writer_holding_the_lock_fails_at_once_and_nothing_is_written(services, direct, engine):
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError) as raised:
            create_case(engine=services.engine, cipher=services.cipher, report=_report(), writer=direct,
                        referrals=services.referrals)
        assert is_locked(raised.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with services.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM \"case\"")).scalar() == 0


def test_rows_must_name_real_columns(services, direct):
    with pytest.raises(ValueError, match="no such columns"), direct.begin() as connection:
        connection.execute(insert(Message.__table__), {"id": "x", "nonsense": 1})


def test_the_loops_connection_has_the_engines_pragmas_and_never_waits(services, direct):
    with direct.begin():
        raw = direct._connection
        assert raw is not None
        pragmas = {name: raw.execute(f"PRAGMA {name}").fetchone()[0]
                   for name in ("synchronous", "journal_mode", "foreign_keys", "busy_timeout", "wal_autocheckpoint")}
    # synchronous NORMAL: its commits are synced by `synced()`, off the loop (checked below)
    assert pragmas == {"synchronous": 1, "journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 0,
                       "wal_autocheckpoint": 0}


def test_synced_syncs_the_wal_file_sqlite_writes(services, direct, engine, monkeypatch):
    import asyncio
    import os

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_ino), real_fsync(fd))[1])
    create_case(engine=services.engine, cipher=services.cipher, report=_report(), writer=direct)
    asyncio.run(direct.synced())
    assert synced == [os.stat(f"{engine.url.database}-wal").st_ino]


def test_a_report_stored_on_the_loop_is_synced_before_it_is_called_sent(services, monkeypatch):
    """The villager is told "sent" only once the commit is on disk (it survives a power cut)."""
    import asyncio

    from gateway.redis_loop import LoopRedis

    intake, order = services.ussd.intake, []
    real_create, real_synced = intake._create, intake._inline.synced

    def create(*args, **kwargs):  # type: ignore[no-untyped-def]
        order.append("committed")
        return real_create(*args, **kwargs)

    async def synced() -> None:
        await real_synced()
        order.append("synced")

    monkeypatch.setattr(intake, "_create", create)
    monkeypatch.setattr(intake._inline, "synced", synced)
    loop_redis = LoopRedis(services.redis_handle.url)
    try:
        taken, _ = asyncio.run(intake.submit_inline(_report(), "+919812345670", loop_redis))
    finally:
        loop_redis.close()
    assert taken.case.ref and order == ["committed", "synced"]
