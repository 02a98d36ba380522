"""Reports stored at the same moment share one write transaction, and none is lost or doubled by it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event, func, select
from sqlmodel import Session

from gateway.record.models import Case, CaseEvent, Message
from gateway.referrals.cases import GroupCommit, NewReport, UnknownVillage, create_case

AMTOLA = 9001111


def report(key: str, village: int = AMTOLA) -> NewReport:
    return NewReport(source_key=key, village_lgd=village, concern="sexual_abuse", urgent=True, channel="ussd",
                     language="hi", reporter_phone="+919812345678")


def stored_together(field, reports: list[NewReport]) -> tuple[list, int]:  # type: ignore[no-untyped-def]
    """Store `reports` from threads that all queue while the writer's turn is held, then let it go:
    the first thread to get the turn writes them all. Returns each thread's result and the commits."""
    svc = field.services
    group = GroupCommit.of(svc.engine)
    commits: list[object] = []

    def count(conn) -> None:  # type: ignore[no-untyped-def]
        commits.append(conn)

    event.listen(svc.engine, "commit", count)
    try:
        with ThreadPoolExecutor(len(reports)) as pool:
            with group._turn:  # noqa: SLF001 — hold the turn so every report queues behind it
                futures = [pool.submit(_store, svc, item) for item in reports]
                deadline = time.monotonic() + 10
                while len(group._waiting) < len(reports) and time.monotonic() < deadline:  # noqa: SLF001
                    time.sleep(0.005)
            results = [_outcome(future) for future in futures]
    finally:
        event.remove(svc.engine, "commit", count)
    return results, len(commits)


def _store(svc, item: NewReport):  # type: ignore[no-untyped-def]
    return create_case(engine=svc.engine, cipher=svc.cipher, report=item, referrals=svc.referrals)


def _outcome(future):  # type: ignore[no-untyped-def]
    try:
        return future.result(timeout=30)
    except Exception as exc:  # noqa: BLE001 — the test looks at what each caller got
        return exc


def test_reports_arriving_together_are_committed_in_one_transaction_each_with_its_alerts(field):
    results, commits = stored_together(field, [report(f"ussd:together-{n}") for n in range(6)])
    assert commits == 1
    cases = [case for case, _ in results]
    assert len({case.id for case in cases}) == 6 and len({case.ref for case in cases}) == 6
    with Session(field.services.engine) as session:
        for case, alerts in results:
            assert session.get(Case, case.id).ref == case.ref
            queued = {row.id for row in session.exec(select(Message).where(Message.case_id == case.id)).scalars()}
            assert alerts and {item.id for item in alerts} == queued  # its own alerts, no one else's
            kinds = session.exec(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).scalars().all()
            assert kinds[0] == "reported" and "alerted" in kinds


def test_a_retried_report_in_the_batch_does_not_take_the_others_down(field):
    first, _ = create_case(engine=field.services.engine, cipher=field.services.cipher,
                           report=report("ussd:retried"), referrals=field.services.referrals)
    batch = [report("ussd:fresh-1"), report("ussd:retried"), report("ussd:fresh-2"), report("ussd:fresh-2")]
    results, _ = stored_together(field, batch)
    (fresh1, alerts1), (retried, again), (fresh2, alerts2), (fresh2_again, alerts2_again) = results
    assert retried.id == first.id and again == []  # the provider's retry: the case it stored, no new alerts
    assert fresh2_again.id == fresh2.id and [] in (alerts2, alerts2_again) and (alerts2 or alerts2_again)
    assert alerts1 and fresh1.id not in (first.id, fresh2.id)
    with Session(field.services.engine) as session:
        count = session.exec(select(func.count()).select_from(Case).where(
            Case.source_key.in_(["ussd:retried", "ussd:fresh-1", "ussd:fresh-2"]))).scalar_one()
    assert count == 3


def test_an_unknown_village_is_refused_before_it_joins_a_batch(field):
    results, _ = stored_together(field, [report("ussd:good"), report("ussd:nowhere", village=1)])
    assert isinstance(results[1], UnknownVillage) and results[0][0].id is not None


def test_a_failed_transaction_fails_every_report_in_it_and_the_next_batch_writes(field):
    svc = field.services
    boom = threading.Event()

    def fail_once(conn, *_args) -> None:  # type: ignore[no-untyped-def]
        if not boom.is_set():
            boom.set()
            raise RuntimeError("disk full")

    event.listen(svc.engine, "commit", fail_once)
    try:
        results, _ = stored_together(field, [report("ussd:lost-1"), report("ussd:lost-2")])
    finally:
        event.remove(svc.engine, "commit", fail_once)
    assert all(isinstance(item, RuntimeError) for item in results)  # each villager is told it failed
    with Session(svc.engine) as session:
        assert session.exec(select(Case).where(Case.source_key.in_(["ussd:lost-1", "ussd:lost-2"]))).first() is None
    case, alerts = _store(svc, report("ussd:after"))
    assert case.id is not None and alerts
