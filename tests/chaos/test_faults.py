"""The fault suite: real processes, steady field traffic, and one fault after another.

Two `cpgw serve --no-worker` replicas and two `cpgw worker`s run against a redis-server started
here (persistence off) and a SQLite file (or PostgreSQL: CPGW_CHAOS_DATABASE_URL), with the
Africa's Talking stub as the provider and every deadline of the routing rules cut to seconds.
While villagers report (USSD and SMS), committee members answer and every webhook is posted
several times, the suite in turn: kills a worker with SIGKILL in the middle of a send, makes SQL
unavailable, restarts Redis (losing everything), makes the provider answer 500, 429, time out and
accept late, and flushes Redis. Then it lets the workers' audit repair what Redis lost, and checks
the record (see checks.py). Figures: printed, and written to bench/out/chaos.json.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from gateway.devtools.processes import Gateway, Proc, RedisServer, short_rules
from gateway.record import db
from tests.chaos import checks
from tests.chaos.checks import Record, Window
from tests.chaos.driver import Driver
from tests.chaos.harness import ROOT, SqliteOutage, TcpProxy, pid_with_local_port
from tests.chaos.provider import Provider

pytestmark = pytest.mark.chaos
TOKEN = "chaos-webhook-token-0123456789abcdef0123"  # production wants 32 characters or more
SECRET = "chaos-secret-key-0123456789abcdef"
SMS_TIMEOUT_S = 2.0
OUT = ROOT / "bench" / "out" / "chaos.json"
SQL_DOWN_S = 35  # longer than the gateway's SQLite busy timeout (30 s), so that waiting writes fail
LOAD_S = 110  # new reports stop then
SETTLE_BY_S = 295  # after the stack started: then `cpgw reconcile` if the workers have not repaired all


@dataclass
class Stack:
    workdir: Path
    redis: RedisServer
    provider: Provider
    gateway: Gateway
    engine: Engine
    outage: SqliteOutage | TcpProxy
    database: str  # "sqlite" | "postgresql"
    faults: list[dict[str, Any]] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    t0: float = 0.0

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, decode_responses=True)

    def fault(self, kind: str, start: float, end: float | None = None, **detail: Any) -> None:
        self.faults.append({"kind": kind, "at_s": round(start - self.t0, 1),
                            "for_s": round((end or start) - start, 1), **detail})
        print(f"[chaos +{start - self.t0:5.1f}s] {kind} {detail or ''}", flush=True)


def _postgres(url: str) -> tuple[str, TcpProxy, str]:
    """A fresh database on the given server, reached through a proxy the suite can cut."""
    base = make_url(url)
    name = f"cpgw_chaos_{os.getpid()}_{int(time.time())}"
    admin = db.make_engine(base.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    proxy = TcpProxy((base.host or "127.0.0.1", base.port or 5432))
    proxied = base.set(host="127.0.0.1", port=proxy.port, database=name).render_as_string(hide_password=False)
    return proxied, proxy, name


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    provider = Provider(late_after_s=SMS_TIMEOUT_S + 1.5).start()
    pg_url = os.environ.get("CPGW_CHAOS_DATABASE_URL")
    pg_name = None
    outage: SqliteOutage | TcpProxy
    if pg_url:
        database_url, outage, pg_name = _postgres(pg_url)
    else:
        database_url = f"sqlite:///{tmp_path / 'cpgw.db'}"
        outage = SqliteOutage(tmp_path / "cpgw.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPGW_", "AT_"))}
    env.update({
        "CPGW_DATA_DIR": str(tmp_path), "CPGW_DATABASE_URL": database_url, "CPGW_REDIS_URL": redis_server.url,
        "CPGW_ENV": "production",  # the faults are played against production's settings
        "CPGW_SECRET_KEY": SECRET, "CPGW_WEBHOOK_TOKEN": TOKEN, "AT_USERNAME": "chaos", "AT_API_KEY": "chaos-key",
        "CPGW_AT_API_URL": provider.url, "CPGW_SMS_TIMEOUT": str(SMS_TIMEOUT_S),
        "CPGW_ROUTING_RULES": str(short_rules(tmp_path / "rules.yaml")), "CPGW_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    # The processes run the code of this checkout, whatever the venv's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    gateway = Gateway(tmp_path, env)
    engine = None
    try:
        gateway.run("db", "upgrade")
        gateway.run("directory", "demo")
        engine = db.make_engine(database_url)
        yield Stack(tmp_path, redis_server, provider, gateway, engine, outage, "postgresql" if pg_url else "sqlite")
    finally:
        gateway.stop_all()
        provider.stop()
        redis_server.stop()
        if engine is not None:
            engine.dispose()
        if isinstance(outage, TcpProxy):
            outage.close()
        if pg_url and pg_name:
            admin = db.make_engine(pg_url)
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()


# --- the faults ----------------------------------------------------------------------------------------


def kill_worker_mid_send(stack: Stack) -> Proc | None:
    """Hold the next send at the provider, SIGKILL the worker waiting on it, then let the provider accept it."""
    provider, gateway = stack.provider, stack.gateway
    provider.fail_next("hold")
    deadline = time.time() + 20
    while not provider.held and time.time() < deadline:
        time.sleep(0.05)
    if not provider.held:
        provider.release()  # a later send must not be held
        stack.fault("worker SIGKILL mid-send: no send to hold", time.time())
        return None
    port, since = provider.held[0]
    workers = gateway.workers()
    pid = pid_with_local_port(port, [proc.process.pid for proc in workers])
    victim = next((proc for proc in workers if proc.process.pid == pid), None)
    if victim is None:
        provider.release()
        stack.fault("worker SIGKILL mid-send: sender not found", time.time(), port=port)
        return None
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    killed = time.time()
    time.sleep(0.5)
    provider.release()  # the provider accepts what the dead worker sent: it will be sent again
    stack.fault("worker SIGKILL mid-send", since, killed, worker=victim.name)
    return victim


def provider_fails(stack: Stack, *kinds: str) -> None:
    stack.provider.fail_next(*kinds)
    stack.fault("provider " + "+".join(sorted(set(kinds))), time.time(), count=len(kinds))


def restart_redis(stack: Stack, down_s: float) -> None:
    stack.redis.kill()
    start = time.time()  # the server is gone (SIGKILL, waited for)
    time.sleep(down_s)
    # The window ends as the server is started: it may answer before `start()` has seen it do so,
    # and a probe answered by it then was right to say 200.
    end = time.time()
    stack.redis.start()
    stack.windows.append(Window("redis", start, end))
    stack.fault("redis restart (SIGKILL, persistence off: everything lost)", start, end)


def flush_redis(stack: Stack) -> None:
    client = stack.client()
    client.flushall()
    client.close()
    stack.fault("redis FLUSHALL", time.time())


def sql_outage(stack: Stack, down_s: float) -> None:
    stack.outage.start()
    # The window starts once the outage holds: SQLite's `BEGIN EXCLUSIVE` may first wait for a
    # gateway's write to commit, and a probe answered in that wait was right to say 200.
    start = time.time()
    time.sleep(down_s)
    end = time.time()  # before the lock is released: writes may succeed from that moment on
    stack.outage.end()
    stack.windows.append(Window("sql", start, end))
    stack.fault("sql unavailable: " + stack.outage.kind, start, end)


def at(stack: Stack, second: float) -> None:
    """Wait until `second` seconds after the load started."""
    delay = stack.t0 + second - time.time()
    if delay > 0:
        time.sleep(delay)


# --- settling ------------------------------------------------------------------------------------------


def unsettled(stack: Stack, driver: Driver, grace_s: float = 30.0) -> list[str]:
    """What still has to happen: webhooks to be answered, messages older than the grace to be sent."""
    waiting = []
    if driver.pending_posts():
        waiting.append(f"{driver.pending_posts()} webhooks still being posted")
    cutoff = time.time() - grace_s
    try:
        current = Record.read(stack.engine)
    except Exception as exc:  # noqa: BLE001 — SQL may still be busy; try again
        return [f"record unreadable: {type(exc).__name__}"]
    late = [m for m in current.messages if m.direction == "out" and m.status in ("queued", "sending")
            and m.created_at.timestamp() < cutoff]
    if late:
        waiting.append(f"{len(late)} messages older than {grace_s:.0f} s not sent "
                       f"({sum(1 for m in late if m.status == 'sending')} stuck in 'sending')")
    unrouted = [c for c in current.cases if c.status == "open" and c.ladder is None]
    if unrouted:
        waiting.append(f"{len(unrouted)} cases not routed")
    return waiting


# --- the run -------------------------------------------------------------------------------------------


@pytest.mark.timeout(355)
def test_nothing_lost_under_faults(stack: Stack) -> None:
    started = time.time()
    gateway = stack.gateway
    servers = [gateway.serve("serve-a"), gateway.serve("serve-b")]
    workers = [gateway.worker("worker-1"), gateway.worker("worker-2")]
    for proc in servers:
        gateway.wait_ready(proc)
    time.sleep(1.0)
    assert all(proc.alive() for proc in workers), [proc.log.read_text()[-2000:] for proc in workers]

    driver = Driver({proc.name: proc.url for proc in servers}, stack.provider, TOKEN)
    stack.t0 = time.time()
    driver.start()

    # The faults, in turn, while the traffic flows. The SQL outage comes early: a send it leaves
    # stuck in 'sending' is only requeued after 2 minutes, by an audit (every 60 s).
    at(stack, 5)
    kill_worker_mid_send(stack)
    at(stack, 9)
    gateway.worker("worker-3")  # a replacement comes up, as a supervisor would start one
    at(stack, 12)
    sql_outage(stack, down_s=SQL_DOWN_S)
    at(stack, 55)
    restart_redis(stack, down_s=6)
    at(stack, 70)
    provider_fails(stack, *["500"] * 6)
    at(stack, 78)
    provider_fails(stack, *["429"] * 6)
    at(stack, 86)
    provider_fails(stack, "timeout", "late", "timeout", "late", "timeout")
    at(stack, 100)
    flush_redis(stack)
    at(stack, LOAD_S)
    driver.stop_reports()
    driver.answering.clear()  # committee members stop answering; what they already sent is still posted
    load_end = time.time()
    print(f"[chaos +{load_end - stack.t0:5.1f}s] reports stop; waiting for the workers to repair and send", flush=True)

    # Let the workers' audit (at start, after every failure, and every 60 s) repair what Redis lost.
    waiting = unsettled(stack, driver)
    while waiting and time.time() < started + SETTLE_BY_S:
        time.sleep(5)
        waiting = unsettled(stack, driver)
        print(f"[chaos +{time.time() - stack.t0:5.1f}s] waiting: {'; '.join(waiting) or 'nothing'}", flush=True)
    reconciled_early = ""
    if waiting:
        # What an operator would do: `cpgw reconcile`, then give the workers a moment.
        reconciled_early = gateway.run("reconcile").strip()
        stack.fault("cpgw reconcile (the workers' audit had not repaired everything yet)", time.time(),
                    output=reconciled_early)
        deadline = time.time() + 20
        while waiting and time.time() < deadline:
            time.sleep(2)
            waiting = unsettled(stack, driver)
    settled_at = time.time()
    driver.stop()
    for proc in gateway.workers():  # a clean stop: what they hold is left as a restart finds it
        gateway.stop(proc)

    record = Record.read(stack.engine)
    sent = stack.provider.snapshot()
    client = stack.client()
    violations: dict[str, list[str]] = {}
    figures: dict[str, Any] = {}
    for name, (found, problems) in {
        "reports": checks.reports(driver, record, sent),
        "replays": checks.replays(driver, sorted({proc.log for proc in gateway.procs})),
        "alerts": checks.alerts(record, sent, stack.windows, cutoff=settled_at - 30),
        "transitions": checks.events(record),
        "schedules": checks.schedules(record, client),
        "readiness": checks.readiness(driver, stack.windows),
    }.items():
        figures[name] = found
        if problems:
            violations[name] = problems
    if driver.errors:
        violations["driver"] = driver.errors
    if waiting:
        violations["settling"] = waiting
    reconciled = gateway.run("reconcile").strip()
    client.close()

    served = stack.provider.faults_served
    summary = {
        "database": stack.database,
        "duration_s": round(time.time() - started, 1),
        "load_s": round(load_end - stack.t0, 1),
        "settled_after_load_s": round(settled_at - load_end, 1),
        "settled": not waiting,
        "reconcile_needed": reconciled_early or None,
        "still_waiting": waiting,
        "faults": stack.faults,
        "faults_injected": {
            "worker_sigkill_mid_send": sum(1 for f in stack.faults if f["kind"] == "worker SIGKILL mid-send"),
            "sql_outage": sum(1 for w in stack.windows if w.kind == "sql"),
            "redis_restart": sum(1 for w in stack.windows if w.kind == "redis"),
            "redis_flush": sum(1 for f in stack.faults if f["kind"] == "redis FLUSHALL"),
            "provider_500": served.get("500", 0), "provider_429": served.get("429", 0),
            "provider_timeout": served.get("timeout", 0), "provider_late_accept": served.get("late", 0),
            "webhook_replays": figures["replays"]["ussd_hops_replayed"] + sum(figures["replays"]["sms_replays"].values()),
        },
        **figures,
        "reconcile_after_workers_stopped": reconciled,
        "violations": violations,
        "logs": str(stack.workdir),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print_summary(summary)
    assert not violations, json.dumps(violations, indent=2)[:6000]


def print_summary(summary: dict[str, Any]) -> None:
    reports, alerts = summary["reports"], summary["alerts"]
    schedules, reconciled = summary["schedules"], summary["reconcile_after_workers_stopped"]
    violations = summary["violations"]
    lines = [
        "", "=== chaos: figures (bench/out/chaos.json) ===",
        (f"database {summary['database']}, run {summary['duration_s']} s (load {summary['load_s']} s, "
         f"settled {summary['settled_after_load_s']} s after; reconcile needed: {summary['reconcile_needed']})"),
        "faults injected: " + ", ".join(f"{k} {v}" for k, v in summary["faults_injected"].items()),
        (f"reports sent {reports['reports_sent']} (USSD {reports['ussd_sessions']}, "
         f"SMS {reports['sms_reports_posted']}); told sent {reports['reports_told_sent']}; "
         f"stored {reports['reports_stored']}; stored but told 'not sent' {reports['ussd_stored_but_told_not_sent']}; "
         f"SMS reports lost {reports['sms_reports_lost']}"),
        (f"alerts due {alerts['alerts_due']}, sent {alerts['alerts_sent']} ({alerts['alert_statuses']}), "
         f"retried {alerts['alerts_retried']}"),
        (f"provider accepted {alerts['provider_accepted']} messages; duplicates {alerts['duplicates']} "
         f"{alerts['duplicates_by_cause']} {alerts['duplicates_by_kind']}"),
        (f"open cases {schedules['open_cases']}, without a schedule {schedules['open_without_schedule']}; "
         f"reconcile afterwards: {reconciled}"),
        f"readyz: {json.dumps(summary['readiness'])}",
        (f"violations: {sum(len(v) for v in violations.values())} "
         + json.dumps({k: len(v) for k, v in violations.items()})),
    ]
    print("\n".join(lines), flush=True)
