"""Soak: a steady mixed load for minutes against `cpgw serve` with its worker.

    python bench/soak.py [--minutes 10] [--interval 30] [--ussd-rate 1.0] [--sms-rate 0.2]

The gateway runs as it would on a small box: one `cpgw serve` (the web app, and its worker — outbox
sender, escalation sweeper, audit — in a child process since issue 14; memory is sampled for the
web app's process), a redis-server of its own (persistence off), SQLite in a temporary
directory, the Africa's Talking stub as the provider, and the shipped routing rules with every
deadline cut to seconds (so escalations and reminders happen during the run, not in 24 hours).

The load: villagers dial and file complete USSD reports, send one-line SMS reports and STATUS
queries; committee members answer every alert (ACK, then DONE a little later); delivery reports
come back for what the provider accepted; a DCPU dashboard reads the open-case list. Villagers'
phones come from fixed pools (a village's population is finite), each phone always reporting the
same village and concern, so that per-phone Redis state is bounded by the pool and anything that
grows is growth per request. A warm-up (not measured) has every pool phone report once first.

Every `--interval` seconds it samples the server's RSS (and, from a probe inside the server,
bench/soak_probe, its count of Python objects and SQLite's own heap, so that growth can be told
apart), Redis (keys in total, live USSD sessions,
the keys beyond them by family, outbox stream lengths, pending deadlines) and latency per kind of
request, prints a table, and at the end three verdicts:

* memory flat: mean RSS of the last third of the samples within 10% of the first third's;
* Redis keys beyond the live USSD sessions do not grow: last third within 10% (or 20 keys) of the
  first third, and the outbox streams stay short (rate-limit counters of an hour that has ended are
  not counted: they expire on their own, and a run that crosses the hour would see them twice);
* latency stable: p95 of USSD hops in the last third within 1.5x (or +10 ms) of the first third.

Results go to bench/out/soak.json. Exit status 0 when every verdict passes, 1 otherwise.
The full soak is 10 minutes; `--minutes 2` shows it working.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import redis  # noqa: E402

from gateway.devtools.at_stub import Stub  # noqa: E402
from gateway.devtools.processes import Gateway, RedisServer, short_rules  # noqa: E402
from gateway.devtools.simulate import SMS_PATH, Phone  # noqa: E402
from gateway.devtools.traffic import (  # noqa: E402
    ALERT_REF,
    REF,
    demo_contacts,
    demo_villages,
    options_on,
)
from gateway.infra import keys  # noqa: E402
from routing.concerns import KEYS  # noqa: E402

OUT = BENCH / "out" / "soak.json"
SECRET = "soak-secret-key-0123456789abcdef"
USSD_POOL, SMS_POOL = 60, 60
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
FAMILIES = [  # Redis key families, longest prefix first: (name, prefix)
    ("ussd session", "cpgw:ussd:session:"), ("ussd draft", "cpgw:ussd:draft:"),
    ("phone language", "cpgw:phone:lang:"), ("sms conversation", "cpgw:sms:conv:"),
    ("report duplicate", "cpgw:report:dup:"), ("rate notice", "cpgw:rate:notice:"), ("rate", "cpgw:rate:"),
    ("sms rate", "cpgw:sms:rate:"), ("outbox", "cpgw:outbox:"), ("deadlines", "cpgw:deadlines"),
    ("directory", "cpgw:directory:"),
]


def family(key: str) -> str:
    return next((name for name, prefix in FAMILIES if key.startswith(prefix)), "other: " + key[:40])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Load:
    url: str
    provider: Stub
    token: str
    ussd_rate: float
    sms_rate: float
    seed: int = 11
    latencies: list[tuple[float, str, float]] = field(default_factory=list)  # (at, kind, ms)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: threading.Event = field(default_factory=threading.Event)
    jobs: list[tuple[float, int, str, dict[str, str]]] = field(default_factory=list)  # a heap, by due time
    refs: list[str] = field(default_factory=list)
    api_token: str = ""

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        villages = demo_villages()
        self.contacts = demo_contacts()
        # Each phone always reports the same village and concern: per-phone state stays bounded.
        self.ussd_phones = [(f"+9198{70000000 + n:08d}", rng.choice(villages), rng.choice(KEYS)) for n in range(USSD_POOL)]
        self.sms_phones = [(f"+9197{70000000 + n:08d}", rng.choice(villages), rng.randrange(1, len(KEYS) + 1))
                           for n in range(SMS_POOL)]
        self.rng = rng
        self._seq = itertools.count()

    def later(self, due: float, kind: str, form: dict[str, str]) -> None:
        with self.lock:
            heapq.heappush(self.jobs, (due, next(self._seq), kind, form))

    def record(self, kind: str, started: float) -> None:
        with self.lock:
            self.latencies.append((time.time(), kind, (time.perf_counter() - started) * 1000))

    def start(self) -> list[threading.Thread]:
        self.running.set()
        threads = [threading.Thread(target=self._ussd, args=(i,), daemon=True) for i in range(2)]
        threads += [threading.Thread(target=target, daemon=True) for target in (self._sms, self._responder, self._api)]
        threads += [threading.Thread(target=self._poster, daemon=True) for _ in range(3)]
        for thread in threads:
            thread.start()
        return threads

    def warm_up(self) -> None:
        """Every pool phone once (a report; SMS phones also a STATUS), before anything is measured:
        per-phone state (language, rate windows, duplicate keys) exists from the first sample on."""
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as client:
            for number, village, concern in self.ussd_phones:
                self._report(Phone(client, number=number, token=self.token), village, concern)
            for number, village, concern in self.sms_phones:
                for text in (f"REPORT {village} {concern}", f"STATUS {self.refs[0] if self.refs else '123456789'}"):
                    client.post(SMS_PATH, params={"token": self.token}, data={
                        "id": f"soak-{os.urandom(8).hex()}", "from": number, "to": "1098", "text": text,
                        "date": "2026-11-24 10:00:00"})
        with self.lock:
            self.latencies.clear()
            self.outcomes.clear()

    # villagers ---------------------------------------------------------------------------------------

    def _ussd(self, index: int) -> None:
        pool = itertools.cycle(self.ussd_phones[index::2])
        period = 2 / self.ussd_rate  # two threads
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as client:
            while self.running.is_set():
                begun = time.time()
                number, village, concern = next(pool)
                try:
                    self._report(Phone(client, number=number, token=self.token), village, concern)
                except Exception as exc:  # noqa: BLE001 — counted, the soak goes on
                    with self.lock:
                        self.errors[f"ussd {type(exc).__name__}"] += 1
                time.sleep(max(0.0, period - (time.time() - begun)))

    def _hop(self, phone: Phone, answer: str | None) -> None:
        started = time.perf_counter()
        if answer is None:
            phone.dial()
        else:
            phone.press(answer)
        self.record("ussd hop", started)

    def _report(self, phone: Phone, village: int, concern: str) -> None:
        self._hop(phone, None)
        if phone.screen.startswith("CON Language"):
            self._hop(phone, "1")
        for answer in ("1", "1", str(village)):
            self._hop(phone, answer)
        index = KEYS.index(concern)
        while index >= options_on(phone.screen):
            index -= options_on(phone.screen)
            self._hop(phone, "98")
        for answer in (str(index + 1), "2", "2", "1"):
            if phone.ended:
                break
            self._hop(phone, answer)
        outcome = "sent" if "Report sent" in phone.screen else phone.screen[:30]
        with self.lock:
            self.outcomes[f"ussd {outcome}"] += 1
            match = REF.search(phone.screen)
            if match:
                self.refs.append(match.group(0))

    def _sms(self) -> None:
        pool = itertools.cycle(self.sms_phones)
        while self.running.is_set():
            begun = time.time()
            number, village, concern = next(pool)
            if self.rng.random() < 0.3 and self.refs:
                text = f"STATUS {self.rng.choice(self.refs[-50:])}"
            else:
                text = f"REPORT {village} {concern}"
            self.later(time.time(), "sms", {"id": f"soak-{os.urandom(8).hex()}", "from": number, "to": "1098",
                                            "text": text, "date": "2026-11-24 10:00:00"})
            time.sleep(max(0.0, 1 / self.sms_rate - (time.time() - begun)))

    # committee members, delivery reports, the dashboard ---------------------------------------------------

    def _responder(self) -> None:
        seen, acked = 0, set()
        while self.running.is_set():
            with self.provider.lock:
                fresh = self.provider.sent[seen:]
            seen += len(fresh)
            for sent in fresh:
                self.later(time.time() + 1, "dlr", {"id": sent.message_id, "status": "Success", "phoneNumber": sent.to})
                match = ALERT_REF.search(sent.message)
                if sent.to in self.contacts and match and "DONE" not in sent.message and match.group(1) not in acked:
                    ref = match.group(1)
                    acked.add(ref)
                    delay = self.rng.uniform(2, 12)  # some answer only after the deadline: escalations
                    for text, extra in ((f"ACK {ref}", 0), (f"DONE {ref}", self.rng.uniform(3, 8))):
                        self.later(time.time() + delay + extra, "sms", {
                            "id": f"soak-{os.urandom(8).hex()}", "from": sent.to, "to": "1098", "text": text,
                            "date": "2026-11-24 10:00:00"})
            time.sleep(0.3)

    def _poster(self) -> None:
        with httpx.Client(base_url=self.url, timeout=TIMEOUT) as client:
            while self.running.is_set():
                with self.lock:
                    job = heapq.heappop(self.jobs) if self.jobs and self.jobs[0][0] <= time.time() else None
                if job is None:
                    time.sleep(0.05)
                    continue
                _, _, kind, form = job
                path = SMS_PATH if kind == "sms" else "/webhooks/at/sms/delivery"
                started = time.perf_counter()
                try:
                    response = client.post(path, data=form, params={"token": self.token})
                    self.record(kind, started)
                    with self.lock:
                        self.outcomes[f"{kind} {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.errors[f"{kind} {type(exc).__name__}"] += 1

    def _api(self) -> None:
        with httpx.Client(base_url=self.url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {self.api_token}"}) as c:
            while self.running.is_set():
                started = time.perf_counter()
                try:
                    response = c.get("/api/v1/cases", params={"status": "open"})
                    self.record("api cases", started)
                    with self.lock:
                        self.outcomes[f"api {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.errors[f"api {type(exc).__name__}"] += 1
                time.sleep(5)


def probe(path: Path) -> dict[str, object]:
    """The server's last self-report (bench/soak_probe): Python objects, SQLite's own heap."""
    try:
        return json.loads(path.read_text().splitlines()[-1])  # type: ignore[no-any-return]
    except (OSError, IndexError, ValueError):
        return {}


def sample(load: Load, pid: int, client: redis.Redis, since: float, t0: float, db_path: Path) -> dict[str, object]:
    families: Counter[str] = Counter()
    hour = int(client.time()[0]) // 3600
    for key in client.scan_iter(count=1000):
        name = family(key)
        if name.startswith("rate") and key.rsplit(":", 1)[-1].isdigit() and int(key.rsplit(":", 1)[-1]) < hour:
            name = "rate (past hour, expiring)"  # a new hour's window starts new counters
        families[name] += 1
    total = sum(families.values())
    sessions = families.get("ussd session", 0)
    expiring = families.get("rate (past hour, expiring)", 0)
    with load.lock:
        window = [(kind, ms) for at, kind, ms in load.latencies if at >= since]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, ms in window:
        by_kind[kind].append(ms)
    hops = by_kind.get("ussd hop", [])
    streams = sum(client.xlen(name) for name in (keys.OUTBOX_ALERTS, keys.OUTBOX_BULK))
    probed = probe(db_path.parent / "probe.jsonl")
    return {
        "t_s": round(time.time() - t0),
        "rss_mb": round(rss_mb(pid), 1),
        "redis_keys": total,
        "live_ussd_sessions": sessions,
        "keys_beyond_sessions": total - sessions - expiring,
        "families": dict(families),
        "outbox_stream_entries": streams,
        "deadlines_pending": client.zcard(keys.DEADLINES),
        "retry_pending": client.zcard(keys.OUTBOX_RETRY),
        "redis_used_mb": round(int(client.info("memory")["used_memory"]) / 2**20, 2),
        "ussd_hops": len(hops),
        "ussd_p50_ms": round(pct(hops, 0.50), 1), "ussd_p95_ms": round(pct(hops, 0.95), 1),
        "ussd_p99_ms": round(pct(hops, 0.99), 1),
        "sms_p95_ms": round(pct(by_kind.get("sms", []), 0.95), 1),
        "dlr_p95_ms": round(pct(by_kind.get("dlr", []), 0.95), 1),
        "api_p95_ms": round(pct(by_kind.get("api cases", []), 0.95), 1),
        "provider_accepted": len(load.provider.sent),
        "sqlite_mb": round(sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*")) / 2**20, 1),
        "sqlite_heap_mb": probed.get("sqlite_heap_mb"),
        "python_objects": probed.get("python_objects"),
    }


def thirds(samples: list[dict[str, object]], name: str) -> tuple[float, float]:
    n = max(1, len(samples) // 3)
    first = [float(s[name]) for s in samples[:n]]  # type: ignore[arg-type]
    last = [float(s[name]) for s in samples[-n:]]  # type: ignore[arg-type]
    return statistics.mean(first), statistics.mean(last)


def verdicts(samples: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    rss_first, rss_last = thirds(samples, "rss_mb")
    heap = [s for s in samples if s.get("sqlite_heap_mb") is not None and s.get("python_objects") is not None]
    heap_note = ""
    if heap:
        sql_first, sql_last = thirds(heap, "sqlite_heap_mb")
        obj_first, obj_last = thirds(heap, "python_objects")
        heap_note = (f"; meanwhile SQLite's own heap {sql_first:.1f} -> {sql_last:.1f} MB, Python objects "
                     f"{obj_first:,.0f} -> {obj_last:,.0f} ({(obj_last / obj_first - 1) * 100:+.1f}%)")
    keys_first, keys_last = thirds(samples, "keys_beyond_sessions")
    p95_first, p95_last = thirds(samples, "ussd_p95_ms")
    streams = max(int(s["outbox_stream_entries"]) for s in samples)  # type: ignore[call-overload]
    return {
        "memory flat": {"pass": rss_last <= rss_first * 1.10,
                        "detail": f"RSS {rss_first:.1f} MB (first third) -> {rss_last:.1f} MB (last third), "
                                  f"{(rss_last / rss_first - 1) * 100:+.1f}% (limit +10%){heap_note}"},
        "redis keys flat beyond live sessions": {
            "pass": keys_last <= max(keys_first * 1.10, keys_first + 20) and streams < 1000,
            "detail": f"keys beyond live USSD sessions {keys_first:.0f} -> {keys_last:.0f} "
                      f"(limit +10% or +20); outbox stream entries at most {streams}"},
        "latency stable": {"pass": p95_last <= max(p95_first * 1.5, p95_first + 10),
                           "detail": f"USSD hop p95 {p95_first:.1f} ms -> {p95_last:.1f} ms (limit x1.5 or +10 ms)"},
    }


COLUMNS = [("t_s", "t(s)"), ("rss_mb", "RSS MB"), ("redis_keys", "keys"), ("live_ussd_sessions", "sessions"),
           ("keys_beyond_sessions", "beyond"), ("outbox_stream_entries", "stream"), ("deadlines_pending", "deadl"),
           ("ussd_hops", "hops"), ("ussd_p50_ms", "p50"), ("ussd_p95_ms", "p95"), ("ussd_p99_ms", "p99"),
           ("sms_p95_ms", "sms p95"), ("provider_accepted", "SMS out"), ("sqlite_mb", "SQL MB"),
           ("sqlite_heap_mb", "SQL heap"), ("python_objects", "py objs")]


def print_row(values: dict[str, object] | None = None) -> None:
    if values is None:
        print("  ".join(f"{title:>8}" for _, title in COLUMNS), flush=True)
    else:
        print("  ".join(f"{values[name]!s:>8}" for name, _ in COLUMNS), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--ussd-rate", type=float, default=1.0, help="USSD reports per second")
    parser.add_argument("--sms-rate", type=float, default=0.2, help="SMS (reports, STATUS) per second")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cpgw-soak-"))
    redis_server = RedisServer(workdir)
    redis_server.start()
    provider = Stub().start()
    token = "soak-webhook-token-0123456789"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPGW_", "AT_"))}
    env.update({
        "CPGW_DATA_DIR": str(workdir), "CPGW_DATABASE_URL": f"sqlite:///{workdir / 'cpgw.db'}",
        "CPGW_REDIS_URL": redis_server.url, "CPGW_SECRET_KEY": SECRET, "CPGW_WEBHOOK_TOKEN": token,
        "AT_USERNAME": "soak", "AT_API_KEY": "soak-key", "CPGW_AT_API_URL": provider.url, "CPGW_SMS_TIMEOUT": "2",
        "CPGW_ROUTING_RULES": str(short_rules(workdir / "rules.yaml")), "CPGW_LOG_LEVEL": "WARNING",
    })
    # This checkout's code, and the probe that reports the server's Python objects and SQLite heap.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(BENCH / "soak_probe"), env.get("PYTHONPATH")]))
    env["SOAK_PROBE_FILE"] = str(workdir / "probe.jsonl")
    gateway = Gateway(workdir, env)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    load: Load | None = None
    try:
        gateway.run("db", "upgrade")
        gateway.run("directory", "demo")
        api_token = gateway.run("token", "create", "--role", "admin", "--name", "soak").strip().splitlines()[-1]
        server = gateway.serve("serve", worker=True)
        gateway.wait_ready(server)
        load = Load(server.url, provider, token, args.ussd_rate, args.sms_rate)
        load.api_token = api_token
        print("Warm-up: every pool phone reports once (not measured)", flush=True)
        load.warm_up()
        t0 = time.time()
        load.start()
        print(f"Soak: {args.minutes:g} min against `cpgw serve` (pid {server.process.pid}, with its worker); "
              f"USSD {args.ussd_rate:g}/s, SMS {args.sms_rate:g}/s; sampling every {args.interval:g} s", flush=True)
        print_row()
        samples: list[dict[str, object]] = []
        end = t0 + args.minutes * 60
        since = t0
        while time.time() < end:
            time.sleep(max(0.0, min(args.interval, end - time.time())))
            if not server.alive():
                raise RuntimeError(f"the server died: {server.log.read_text()[-2000:]}")
            row = sample(load, server.process.pid, client, since, t0, workdir / "cpgw.db")
            since = time.time()
            samples.append(row)
            print_row(row)
        load.running.clear()
    finally:
        if load is not None:
            load.running.clear()
        gateway.stop_all()
        client.close()
        redis_server.stop()
        provider.stop()

    results = verdicts(samples)
    print()
    for name, verdict in results.items():
        print(f"{'PASS' if verdict['pass'] else 'FAIL'}  {name}: {verdict['detail']}")
    print(f"Redis key families at the end: {json.dumps(samples[-1]['families'])}")
    print(f"outcomes: {dict(load.outcomes)}; errors: {dict(load.errors)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "minutes": args.minutes, "interval_s": args.interval, "ussd_rate": args.ussd_rate, "sms_rate": args.sms_rate,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "samples": samples, "verdicts": results, "outcomes": dict(load.outcomes), "errors": dict(load.errors),
        "workdir": str(workdir),
    }, indent=2) + "\n")
    print(f"Results: {args.out}")
    return 0 if all(v["pass"] for v in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
