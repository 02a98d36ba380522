"""The effects process (`gateway.channels.effects`): under `cpgw serve`, a USSD hop's SQL work runs
in a process of its own; when that process is gone or silent, the web process does the work itself."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from gateway.channels.effects import (
    UNREACHABLE,
    EffectsClient,
    result_from_dict,
    result_to_dict,
)
from gateway.channels.ussd import Work
from gateway.devtools.simulate import Phone
from gateway.devtools.traffic import file_report, reference_on
from gateway.infra.settings import Settings
from gateway.record.models import Case
from gateway.referrals.cases import NewReport
from gateway.web.app import create_app
from menus import engine as menu

START_S = 30.0


def test_work_and_results_travel_as_json_unchanged():
    report = NewReport(source_key="ussd:ATUid_1", village_lgd=9001111, concern="child_marriage", urgent=True,
                       channel="ussd", language="bn", reporter_phone="+919812300001", village_level="ward")
    for work in (Work("tag", report=report, sender="+919812300001"), Work("tag", reference="123456")):
        assert Work.from_dict(work.to_dict()) == work
    for result in (menu.Stored("482913", "10:00"), menu.Stored("482913"), menu.LIMITED, "acknowledged", None):
        assert result_from_dict(result_to_dict(result)) == result


@pytest.fixture
def served(settings: Settings, demo) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app with an effects process, as `cpgw serve` runs it, once the process answers."""
    app = create_app(settings)
    app.state.effects_process = True
    with TestClient(app) as client:
        deadline = time.monotonic() + START_S
        while not app.state.effects.path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # the process is starting: it makes its socket once it can answer
        yield client


def _cases(engine, phone: Phone) -> list[Case]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Case).where(Case.source_key == f"ussd:{phone.session_id}")))


def _effects_pid() -> int:
    """The effects process among this process's children."""
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"effects" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except (OSError, ValueError, IndexError):
            continue
    raise AssertionError("no effects process")


def test_a_report_is_stored_by_the_effects_process(served: TestClient, engine):  # type: ignore[no-untyped-def]
    effects = served.app.state.effects  # type: ignore[attr-defined]
    phone = Phone(served, number="+919812300011").dial()
    screen = file_report(phone, 9001111, "child_marriage", urgent=True, callback=False)
    [case] = _cases(engine, phone)
    assert reference_on(screen) == case.ref
    assert effects.answered == 1  # the effects process stored it, not a thread of the web process


def test_with_the_effects_process_gone_the_web_process_stores_the_report(served: TestClient, engine):  # type: ignore[no-untyped-def]
    effects = served.app.state.effects  # type: ignore[attr-defined]
    os.kill(_effects_pid(), signal.SIGKILL)
    phone = Phone(served, number="+919812300012").dial()
    screen = file_report(phone, 9001111, "child_marriage", urgent=False, callback=False)
    [case] = _cases(engine, phone)
    assert reference_on(screen) == case.ref
    assert effects.answered == 0


def test_a_silent_effects_process_is_given_up_on_and_a_broken_one_fails_every_hop_in_flight(tmp_path: Path):
    path = tmp_path / "effects.sock"
    work = Work("tag", reference="123456")

    async def scenario() -> tuple[object, object, float]:
        connections: list[asyncio.StreamWriter] = []

        async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(writer)  # reads nothing, answers nothing

        server = await asyncio.start_unix_server(silent, path=str(path))
        client = EffectsClient(path, answer_within_s=0.3)
        started = time.monotonic()
        given_up = await client.carry_out(work)
        waited = time.monotonic() - started
        in_flight = asyncio.create_task(client.carry_out(work))
        await asyncio.sleep(0.05)
        connections[-1].close()  # the process dies with the hop in flight
        broken = await in_flight
        await client.aclose()
        server.close()
        return given_up, broken, waited

    given_up, broken, waited = asyncio.run(scenario())
    assert given_up is UNREACHABLE and broken is UNREACHABLE
    assert waited < 5  # gave up after its 0.3 s, not the villager's whole session


def test_no_effects_process_at_all_is_unreachable_at_once(tmp_path: Path):
    client = EffectsClient(tmp_path / "none.sock")
    assert asyncio.run(client.carry_out(Work("tag", reference="123456"))) is UNREACHABLE
