"""The background work: send the outbox, escalate due deadlines, repair Redis from SQL.

Any number of workers may run against one Redis and one database: the outbox claims messages in
SQL, the sweeper claims deadlines atomically in Redis and escalations are guarded UPDATEs. On
start, and then every `audit_every` seconds, a worker rebuilds what Redis may have lost (a flush,
a restart without persistence) from SQL: deadlines of open cases, queued messages, cases stored
while routing was failing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import redis
from sqlalchemy.exc import SQLAlchemyError

from gateway.infra.children import ChildProcess
from gateway.services import Services

log = logging.getLogger("cpgw.worker")
# How often a running worker looks at its clocks (retries due, acknowledgement deadlines, duties):
# retries wait 5 s and more, deadlines minutes to days, and a busy worker loops many times a second
# sending alerts; each look is Lua calls to the Redis the villagers' hops share: looked at on every
# loop, they cost every hop 10% more CPU (docs/benchmarks.md, issue 17).
SWEEP_EVERY_S = 1.0


class Worker:
    def __init__(self, services: Services, *, name: str | None = None, audit_every: float = 60.0) -> None:
        self.services = services
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident() % 10000}"
        self.audit_every = audit_every
        self._last_audit = 0.0
        self._next_sweep = 0.0

    def run_once(self, block_ms: int | None = None, *, sweep: bool = True) -> int:
        """One round of everything; returns how much work it found (0 when idle). `sweep=False`
        skips the clocks (retries due, deadlines, duties): `run` looks at them every `SWEEP_EVERY_S`."""
        outbox, referrals = self.services.outbox, self.services.referrals
        work = 0
        if sweep:
            work += outbox.requeue_due_retries()
            work += referrals.sweep()
            work += referrals.desk.sweep()
        work += outbox.process(self.name, block_ms=block_ms)
        return work

    def drain(self, rounds: int = 50) -> int:
        """Run until idle (tests and `cpgw reconcile`)."""
        total = 0
        for _ in range(rounds):
            done = self.run_once()
            total += done
            if not done:
                break
        return total

    def audit(self) -> dict[str, int]:
        """Rebuild Redis's live state from SQL; idempotent, so any worker may run it at any time."""
        outbox, referrals = self.services.outbox, self.services.referrals
        outbox.ensure_groups()
        report = {
            "routed": referrals.route_unrouted(),
            "deadlines": referrals.rebuild_deadlines(),
            "duties": referrals.desk.rebuild(),
            "messages": outbox.rebuild(),
            "taken_over": outbox.take_over(self.name),
        }
        self._last_audit = time.monotonic()
        return report

    def run(self, stop: threading.Event) -> None:
        log.info("worker started", extra={"worker": self.name})
        failures = 0
        while not stop.is_set():
            try:
                if time.monotonic() - self._last_audit >= self.audit_every:
                    self.audit()
                due = time.monotonic() >= self._next_sweep
                if due:
                    self._next_sweep = time.monotonic() + SWEEP_EVERY_S
                self.run_once(block_ms=500, sweep=due)
                failures = 0
            except (redis.RedisError, SQLAlchemyError, OSError) as exc:
                # A dependency is down: wait and try again; SQL keeps the record meanwhile.
                failures += 1
                log.error("worker round failed", extra={"error": type(exc).__name__, "failures": failures})
                stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                self._last_audit = 0.0  # rebuild as soon as the dependency is back
        log.info("worker stopped", extra={"worker": self.name})


def worker_process(environ: dict[str, str]) -> ChildProcess:
    """`cpgw serve`'s worker: `cpgw worker --idle` in a child process, restarted if it dies.

    In its own process the worker's sending and escalating never hold the GIL that answers
    villagers' USSD hops (measured in one process: half the hops/s and a p99 twenty times the
    bare endpoint's; docs/benchmarks.md). And it runs on CPU time nothing else wants (SCHED_IDLE):
    sending an SMS through the provider's SDK is ~4 ms of CPU, and at nice 10 a burst of alerts
    still took a share of the cores the villagers' hops wait for. Its sends wait a few
    milliseconds (their target is seconds: report → first alert p95 0.04 s at 20 reports a second);
    Linux still gives an idle-class task a sliver of a busy machine, so alerts are slowed by a
    machine that is full, never stopped.
    """
    return ChildProcess("worker", ["worker", "--idle", "--parent", str(os.getpid())], environ)
