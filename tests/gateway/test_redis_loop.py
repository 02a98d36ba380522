"""The event loop's pipelined Redis connection against a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
import redis

from gateway.redis_direct import Script
from gateway.redis_loop import LoopRedis

ECHO = Script("return {KEYS[1], ARGV[1]}")
# Keeps Redis busy for one whole second, wherever in a second it starts.
BUSY_ONE_SECOND = ("local function us() local t = redis.call('TIME') return t[1] * 1000000 + t[2] end "
                   "local stop = us() + 1000000 while us() < stop do end return 1")


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


@pytest.fixture
def line(redis_url: str, redis_client: redis.Redis):  # type: ignore[no-untyped-def]
    loop_redis = LoopRedis(redis_url)
    yield loop_redis
    loop_redis.close()


def test_replies_come_back_in_order(line, redis_client):
    redis_client.set("k1", "a")

    async def go():  # type: ignore[no-untyped-def]
        return await line.execute(("GET", "k1"), ("SET", "k2", "b"), ("MGET", "k1", "k2", "k3"))

    assert run(go()) == ["a", "OK", ["a", "b", None]]


def test_concurrent_callers_each_get_their_own_reply(line, redis_client):
    """Hundreds of commands in flight on one connection: matched to their callers in order."""

    async def go():  # type: ignore[no-untyped-def]
        async def one(i: int) -> list:
            return await line.execute(("SET", f"c{i}", str(i)), ("GET", f"c{i}"))

        return await asyncio.gather(*(one(i) for i in range(300)))

    assert run(go()) == [["OK", str(i)] for i in range(300)]


def test_an_error_reply_is_raised_and_the_connection_stays_in_step(line, redis_client):
    redis_client.set("text", "not a hash")

    async def go():  # type: ignore[no-untyped-def]
        with pytest.raises(redis.ResponseError):
            await line.execute(("HGET", "text", "f"), ("SET", "after", "1"))
        return await line.execute(("GET", "after"))

    assert run(go()) == ["1"]


def test_a_script_unknown_to_redis_is_sent_whole(line, redis_client):
    async def go():  # type: ignore[no-untyped-def]
        first = await line.run(ECHO, ["key"], ["arg"])
        redis_client.script_flush()  # what a restart does to the script cache
        return first, await line.run(ECHO, ["key"], ["again"])

    assert run(go()) == (["key", "arg"], ["key", "again"])


def test_commands_before_a_script_go_once_even_when_the_script_is_sent_whole(line, redis_client):
    """A stored report's publication rides with its hop's script: a Redis that lost its scripts
    gets the script's source, not the publication a second time."""
    redis_client.script_flush()

    async def go():  # type: ignore[no-untyped-def]
        return await line.run(ECHO, ["k"], ["v"], before=[("RPUSH", "published", "alert")])

    assert run(go()) == ["k", "v"]
    assert redis_client.lrange("published", 0, -1) == ["alert"]


def test_a_dropped_connection_is_replaced(line, redis_client):
    async def go():  # type: ignore[no-untyped-def]
        assert await line.execute(("PING",)) == ["PONG"]
        redis_client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        return await line.execute(("PING",))

    assert run(go()) == ["PONG"]


def test_redis_down_is_a_connection_error():
    async def go():  # type: ignore[no-untyped-def]
        await LoopRedis("redis://127.0.0.1:1/0").execute(("PING",))

    with pytest.raises(redis.ConnectionError):
        run(go())


def test_no_answer_in_time_is_a_timeout_and_the_connection_is_dropped(redis_url, redis_client):
    slow = LoopRedis(redis_url, timeout_s=0.2)

    async def go():  # type: ignore[no-untyped-def]
        with pytest.raises(redis.TimeoutError):
            await slow.execute(("EVAL", BUSY_ONE_SECOND, 0))
        await asyncio.sleep(1.2)  # the busy script ends; a fresh connection answers at once
        return await slow.execute(("PING",))

    try:
        assert run(go()) == ["PONG"]
    finally:
        slow.close()


def test_a_refused_password_is_a_connection_error(redis_url, redis_client):
    """AUTH is sent as redis-py sends it; this server has no password, so it refuses any."""
    scheme, rest = redis_url.split("://", 1)
    with pytest.raises(redis.ConnectionError, match="refused"):
        run(LoopRedis(f"{scheme}://:wrong@{rest}").execute(("PING",)))


def test_a_database_number_selects_that_database(redis_url, redis_client):
    if not redis_url.startswith("unix://"):
        pytest.skip("the shared test Redis is flushed per database by other tests")
    other = LoopRedis(f"{redis_url}?db=3")

    async def go():  # type: ignore[no-untyped-def]
        await other.execute(("SET", "where", "db3"))
        return await other.execute(("GET", "where"))

    try:
        assert run(go()) == ["db3"]
        assert redis_client.get("where") is None  # the fixture's client is on db 0
        assert redis.Redis.from_url(f"{redis_url}?db=3", decode_responses=True).getdel("where") == "db3"
    finally:
        other.close()
