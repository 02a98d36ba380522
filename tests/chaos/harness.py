"""What only the fault suite needs on top of `gateway.devtools.processes`: SQL outages it can
start and end (a SQLite writer holding the lock, a TCP proxy in front of PostgreSQL it can cut),
and which worker process holds a given connection (to kill the one that is mid-send).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from pathlib import Path

from gateway.devtools.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


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
