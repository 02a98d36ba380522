"""The effects process (`gateway.channels.effects`): under `cpgw serve`, a USSD hop's SQL work runs
in a process of its own; when that process is gone or silent, the web process does the work itself."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from gateway.channels.effects import (
    UNREACHABLE,
    EffectsClient,
    result_from_dict,
    result_to_dict,
    serve,
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
    [effects] = [child for child in psutil.Process().children() if "effects" in child.cmdline()]
    return int(effects.pid)


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


def _work(svc, phone: str, key: str, village: int = 9001111) -> Work:  # type: ignore[no-untyped-def]
    report = NewReport(source_key=key, village_lgd=village, concern="child_marriage", urgent=True, channel="ussd",
                       language="en", reporter_phone=None)
    return Work(svc.cipher.tag(phone), report=report, sender=phone)


def test_hops_carried_out_together_share_one_commit_and_fail_alone(field):
    """The effects process's batch: two new reports in one transaction, a repeat linked to its
    case, an unknown village and a spent allowance refused alone, a look-up answered."""
    svc = field.services
    earlier = svc.ussd.carry_out(_work(svc, "+919812300031", "ussd:earlier"))
    assert isinstance(earlier, menu.Stored)
    for _ in range(3):  # this phone's three reports of the hour
        svc.limiter.allow("report", svc.cipher.tag("+919812300035"))
    commits: list[object] = []

    def count(connection) -> None:  # type: ignore[no-untyped-def]
        commits.append(connection)

    event.listen(svc.engine, "commit", count)
    try:
        results = svc.ussd.carry_out_many([
            _work(svc, "+919812300032", "ussd:new-1"),
            _work(svc, "+919812300031", "ussd:repeat"),  # same phone, place and concern as `earlier`
            _work(svc, "+919812300033", "ussd:nowhere", village=1),
            Work(svc.cipher.tag("+919812300034"), reference=earlier.ref),
            _work(svc, "+919812300035", "ussd:spent"),
            _work(svc, "+919812300036", "ussd:new-2"),
        ])
    finally:
        event.remove(svc.engine, "commit", count)
    new1, repeat, nowhere, looked_up, spent, new2 = results
    assert isinstance(new1, menu.Stored) and isinstance(new2, menu.Stored) and new1.ref != new2.ref
    assert repeat == menu.Stored(earlier.ref) and nowhere is None and spent is menu.LIMITED
    assert looked_up == "open"
    assert len(commits) == 2  # the two new reports together; the repeat's link on its own
    with Session(svc.engine) as session:
        keys = set(session.exec(select(Case.source_key)).all())
    assert keys == {"ussd:earlier", "ussd:new-1", "ussd:new-2"}


def test_hops_sent_at_once_each_get_their_own_answer(field, tmp_path: Path):
    """Requests multiplexed on one connection and carried out in batches come back to the hop that
    asked, whatever the order."""
    svc = field.services
    path = tmp_path / "effects.sock"
    ready, done = threading.Event(), threading.Event()

    def server() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            serving = asyncio.create_task(serve(svc.ussd, path, stop))
            while not path.exists():
                await asyncio.sleep(0.01)
            ready.set()
            await asyncio.get_running_loop().run_in_executor(None, done.wait)
            stop.set()
            await serving

        asyncio.run(main())

    thread = threading.Thread(target=server, daemon=True)
    thread.start()
    assert ready.wait(30)
    works = [_work(svc, f"+91981230004{n}", f"ussd:together-{n}") for n in range(5)]
    works.insert(2, _work(svc, "+919812300049", "ussd:nowhere", village=1))

    async def ask() -> list[object]:
        client = EffectsClient(path)
        try:
            return list(await asyncio.gather(*(client.carry_out(work) for work in works)))
        finally:
            await client.aclose()

    try:
        results = asyncio.run(ask())
    finally:
        done.set()
        thread.join(30)
    assert results[2] is None  # the unknown village, alone
    stored = [result for n, result in enumerate(results) if n != 2]
    assert all(isinstance(result, menu.Stored) for result in stored)
    with Session(svc.engine) as session:
        refs = {case.source_key: case.ref for case in session.exec(select(Case)).all()}
    assert [result.ref for result in stored] == [refs[f"ussd:together-{n}"] for n in range(5)]  # type: ignore[union-attr]
