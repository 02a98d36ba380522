"""The shared clock: Redis TIME, read through an offset so that a deadline costs no round trip."""

from __future__ import annotations

import time

import pytest
import redis

from gateway.infra.clock import RedisClock


class CountingRedis:
    """A real Redis client that counts TIME calls (the clock's only command)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client, self.calls = client, 0

    def time(self) -> tuple[int, int]:
        self.calls += 1
        return self.client.time()  # type: ignore[no-any-return]


def redis_seconds(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1_000_000


def test_the_clock_reads_redis_time_and_asks_again_only_after_the_resync_period(redis_client: redis.Redis) -> None:
    counting = CountingRedis(redis_client)
    clock = RedisClock(counting, resync_s=0.2)  # type: ignore[arg-type]
    first = clock.now()
    assert abs(first - redis_seconds(redis_client)) < 0.05
    for _ in range(100):
        clock.now()
    assert counting.calls == 1
    time.sleep(0.25)
    later = clock.now()
    assert counting.calls == 2
    assert later - first == pytest.approx(0.25, abs=0.1)
    assert abs(later - redis_seconds(redis_client)) < 0.05


def test_the_clock_never_goes_backwards_between_resyncs(redis_client: redis.Redis) -> None:
    clock = RedisClock(redis_client, resync_s=3600)
    readings = [clock.now() for _ in range(1000)]
    assert readings == sorted(readings)
