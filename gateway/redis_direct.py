"""Redis commands written straight to a redis-py connection: storing a report on a thread.

A report stored off the event loop (PostgreSQL; SQLite while another writer holds the lock; SMS)
makes two Redis round trips (the repeat check, then the alerts' publication). Through the `redis.Redis` client one costs ~3x
what the round trip itself does (measured: a PING ~90 us of CPU through the client, ~30 us on its
connection; docs/benchmarks.md): the per-command pool check-out, retry wrapper and response
callbacks. So this sends commands on a redis-py `Connection` of its own, one per thread, made
from the client's own connection settings. (On the event loop, a hop's reads and writes, and a
report stored there, are awaited through `gateway.redis_loop` instead.)
What matters is kept, because it is the library's: connecting (TCP, unix socket, TLS, AUTH),
the hiredis parser, health checks, timeouts. A connection that fails is dropped and the commands
are sent once more on a fresh one (they are reads, or writes that are safe to repeat); a second
failure is raised, as the client would.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

import redis
from redis.connection import AbstractConnection

Command = Sequence[Any]


class Script:
    """A Lua script run by its SHA1, sent whole (which caches it) when Redis does not know it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


def queued_commands(pipeline: redis.client.Pipeline) -> list[Command]:
    """The commands queued on a redis-py pipeline (built with its command methods), taken off it.

    Code shared with the worker queues its commands on a pipeline (`Outbox.publish`); the hot
    path sends them on its own connections, without the pipeline's execution machinery.
    """
    commands = [args for args, _options in pipeline.command_stack]
    pipeline.reset()
    return commands


class DirectRedis:
    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._local = threading.local()
        self._made: list[AbstractConnection] = []
        self._lock = threading.Lock()

    def execute(self, *commands: Command) -> list[Any]:
        """Send the commands in one write and return their replies, in order.

        An error reply is raised (the first one) only once every reply is read, so that the
        connection stays in step with the server.
        """
        try:
            return self._exchange(self._connection(), commands)
        except (redis.ConnectionError, redis.TimeoutError):
            return self._exchange(self._connection(), commands)  # the failed one was disconnected

    def run(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a script; a Redis that restarted (or was flushed of scripts) is sent its source."""
        try:
            return self.execute(("EVALSHA", script.sha, len(keys), *keys, *args))[0]
        except redis.exceptions.NoScriptError:
            return self.execute(("EVAL", script.source, len(keys), *keys, *args))[0]

    def close(self) -> None:
        with self._lock:
            for connection in self._made:
                connection.disconnect()
            self._made.clear()
        self._local = threading.local()

    def _connection(self) -> AbstractConnection:
        connection: AbstractConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._make()
            with self._lock:
                self._made.append(connection)
            self._local.connection = connection
        return connection

    @staticmethod
    def _exchange(connection: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
        connection.send_packed_command(connection.pack_commands(commands))
        replies: list[Any] = []
        error: redis.ResponseError | None = None
        for _ in commands:
            try:
                replies.append(connection.read_response())
            except redis.ResponseError as exc:
                error = error or exc
                replies.append(exc)
        if error is not None:
            raise error
        return replies
