"""One clock for every replica and worker: Redis `TIME`, so deadlines mean the same everywhere.

Tests inject a `ManualClock` and fast-forward it instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol

import redis


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class RedisClock:
    """Redis time, read through an offset from this host's monotonic clock.

    Asking Redis on every call cost a round trip inside the transaction that stores a report.
    The offset is re-read every `resync_s`: a host's monotonic clock drifts by microseconds in
    that time, while deadlines are minutes; a jump of the host's wall clock does not matter at all.
    """

    def __init__(self, client: redis.Redis, resync_s: float = 30.0) -> None:
        self._client = client
        self._resync_s = resync_s
        self._offset = 0.0
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            if time.monotonic() - self._read_at >= self._resync_s:
                self._sync()
            return time.monotonic() + self._offset

    def _sync(self) -> None:
        """Offset = Redis time minus monotonic time, taken half-way through the round trip."""
        before = time.monotonic()
        seconds, micros = self._client.time()
        after = time.monotonic()
        self._offset = seconds + micros / 1_000_000 - (before + after) / 2
        self._read_at = after


class ManualClock:
    """A clock that only moves when told to: `advance(minutes=30)`."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> None:
        with self._lock:
            self._now += seconds + minutes * 60 + hours * 3600


def as_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
