"""One clock for every replica and worker: Redis `TIME`, so deadlines mean the same everywhere.

Tests inject a `ManualClock` and fast-forward it instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol

import redis


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class RedisClock:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def now(self) -> float:
        seconds, micros = self._client.time()
        return seconds + micros / 1_000_000


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
