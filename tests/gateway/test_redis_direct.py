"""The hot path's direct Redis connection against a real redis-server."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from gateway.redis_direct import DirectRedis, Script

ECHO = Script("return {KEYS[1], ARGV[1]}")


@pytest.fixture
def direct(redis_client: redis.Redis):  # type: ignore[no-untyped-def]
    line = DirectRedis(redis_client)
    yield line
    line.close()


def test_replies_come_back_in_order_from_one_write(direct, redis_client):
    redis_client.set("k1", "a")
    assert direct.execute(("GET", "k1"), ("SET", "k2", "b"), ("MGET", "k1", "k2", "k3")) == [
        "a", "OK", ["a", "b", None]]  # raw replies: no client-side callbacks


def test_an_error_reply_is_raised_after_every_reply_is_read(direct, redis_client):
    redis_client.set("text", "not a hash")
    with pytest.raises(redis.ResponseError):
        direct.execute(("HGET", "text", "f"), ("SET", "after", "1"), ("GET", "text"))
    assert redis_client.get("after") == "1"  # the commands after the error still ran
    assert direct.execute(("GET", "after")) == ["1"]  # and the connection is still in step


def test_a_script_unknown_to_redis_is_sent_whole(direct, redis_client):
    assert direct.run(ECHO, ["key"], ["arg"]) == ["key", "arg"]
    redis_client.script_flush()  # what a restart does to the script cache
    assert direct.run(ECHO, ["key"], ["again"]) == ["key", "again"]
    assert redis_client.script_exists(ECHO.sha) == [True]


def test_a_dropped_connection_is_replaced_once(direct, redis_client):
    assert direct.execute(("PING",)) == ["PONG"]
    redis_client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    assert direct.execute(("PING",)) == ["PONG"]


def test_redis_down_is_raised(direct):
    down = DirectRedis(redis.Redis.from_url("redis://127.0.0.1:1/0"))
    with pytest.raises(redis.ConnectionError):
        down.execute(("PING",))


def test_each_thread_has_its_own_connection(direct, redis_client):
    ids: list[int] = []

    def client_id() -> None:
        ids.append(direct.execute(("CLIENT", "ID"))[0])

    threads = [threading.Thread(target=client_id) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client_id()
    client_id()
    assert len(set(ids)) == 4  # three threads, and this one twice on the same connection
    direct.close()
    deadline = time.monotonic() + 5  # the server notices a closed socket a moment later
    while any(f"id={i} " in (listed := redis_client.execute_command("CLIENT", "LIST")) for i in ids):
        assert time.monotonic() < deadline, listed
        time.sleep(0.01)
