"""Redis for the event loop: commands pipelined on one connection, the loop never blocked.

Every USSD hop reads or writes Redis once. With a blocking client the loop stood still for each
round trip, and on a busy 2-core machine that was a fifth of its time (docs/benchmarks.md);
redis-py's asyncio client costs several times more CPU per command than the round trip itself.
This is the small thing in between: one connection per event loop, each command written as soon
as it is asked for, replies matched to callers in order (Redis answers a connection's commands in
the order they came), parsed by hiredis (the parser redis-py uses). It speaks only what the hot
path needs: commands and scripts. Connecting reads the URL with redis-py's own `parse_url`
(`redis://`, `rediss://`, `unix://`, user, password, db).

A connection that breaks fails every command waiting on it with `redis.ConnectionError`; each
call is sent once more on a fresh connection (the hot path's commands are reads, or writes that
are safe to repeat). A command with no answer within `timeout_s` raises `redis.TimeoutError` and
drops the connection, since its replies can no longer be matched.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Sequence
from typing import Any

import hiredis
import redis
from redis.connection import SSLConnection, parse_url

from gateway.redis_direct import Command, Script

# Africa's Talking gives a hop ~10 s: a Redis that does not answer must leave time for the helplines.
CONNECT_TIMEOUT_S = 2.0


def _reply_error(message: str) -> redis.ResponseError:
    if message.startswith("NOSCRIPT"):
        return redis.exceptions.NoScriptError(message)
    return redis.ResponseError(message)


class _Replies(asyncio.Protocol):
    """One connection's transport, and the callers waiting for its replies, oldest first."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.closed = asyncio.get_running_loop().create_future()  # set once the socket is really closed
        self._reader = hiredis.Reader(encoding="utf-8", errors="replace")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if not self.waiting:  # a reply nobody asked for: this connection cannot be trusted
                self.fail(redis.ConnectionError("unexpected reply from Redis"))
                return
            future = self.waiting.popleft()
            if not future.done():  # a caller that timed out or was cancelled is skipped, in step
                future.set_result(_reply_error(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(redis.ConnectionError(f"Redis connection lost: {exc or 'closed'}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def fail(self, error: Exception) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.transport.abort()
            except RuntimeError:  # its event loop is closed: the socket goes when the transport is collected
                pass

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, commands: Sequence[Command]) -> list[asyncio.Future[Any]]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self.waiting.extend(futures)
        self.transport.write(b"".join(hiredis.pack_command(tuple(command)) for command in commands))
        return futures


class LoopRedis:
    def __init__(self, url: str, *, timeout_s: float = 3.0) -> None:
        self._options = parse_url(url)
        self._timeout_s = timeout_s
        self._replies: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *commands: Command) -> list[Any]:
        """Send the commands together and return their replies in order; an error reply is raised."""
        try:
            replies = await self._exchange(commands)
        except redis.ConnectionError:
            replies = await self._exchange(commands)  # once more, on a fresh connection
        for reply in replies:
            if isinstance(reply, redis.ResponseError):
                raise reply
        return replies

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Any], *,
                  before: Sequence[Command] = ()) -> Any:
        """Run a script by its SHA1, after the commands `before` (in the same round trip).

        A Redis that does not know the script (restarted) is sent its source; the commands
        before it were carried out already and are not sent again.
        """
        try:
            return (await self.execute(*before, ("EVALSHA", script.sha, len(keys), *keys, *args)))[-1]
        except redis.exceptions.NoScriptError:
            return (await self.execute(("EVAL", script.source, len(keys), *keys, *args)))[0]

    def close(self) -> None:
        if self._replies is not None:
            self._replies.fail(redis.ConnectionError("closed"))
            self._replies = None

    async def aclose(self) -> None:
        """`close`, returning once the socket is closed: the event loop closes it a moment after
        the abort, and an embedded Redis stops only when its last client has gone
        (`gateway.redisconn`), so shutting down must wait for that moment."""
        replies, loop = self._replies, asyncio.get_running_loop()
        self.close()
        if replies is not None and self._loop is loop and replies.transport is not None:
            await asyncio.wait([replies.closed], timeout=CONNECT_TIMEOUT_S)

    async def _exchange(self, commands: Sequence[Command]) -> list[Any]:
        connection = await self._connection()
        futures = connection.send(commands)
        try:
            async with asyncio.timeout(self._timeout_s):
                if len(futures) == 1:  # most calls: one command, no gather to build
                    return [await futures[0]]
                # Every outcome retrieved (a lost connection fails them all at once), the first raised.
                replies = await asyncio.gather(*futures, return_exceptions=True)
        except TimeoutError:
            connection.fail(redis.ConnectionError("a command timed out on this connection"))
            raise redis.TimeoutError(f"no answer from Redis within {self._timeout_s}s") from None
        lost = next((r for r in replies if isinstance(r, redis.ConnectionError)), None)
        if lost is not None:
            raise lost
        return list(replies)

    async def _connection(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop (tests start several)
            self._loop, self._replies, self._connecting = loop, None, asyncio.Lock()
        if self._replies is not None and self._replies.open:
            return self._replies
        assert self._connecting is not None
        async with self._connecting:
            if self._replies is None or not self._replies.open:
                self._replies = await self._connect(loop)
        return self._replies

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Replies:
        options = self._options
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                if "path" in options:
                    _, replies = await loop.create_unix_connection(_Replies, options["path"])
                else:
                    _, replies = await loop.create_connection(
                        _Replies, options.get("host", "localhost"), options.get("port", 6379), ssl=self._tls())
                await self._hello(replies)
        except (OSError, TimeoutError) as exc:
            raise redis.ConnectionError(f"cannot connect to Redis: {exc}") from exc
        return replies

    async def _hello(self, replies: _Replies) -> None:
        """AUTH and SELECT, as redis-py does when it connects."""
        options, commands = self._options, []
        if options.get("password"):
            commands.append(("AUTH", *filter(None, (options.get("username"), options["password"]))))
        if options.get("db"):
            commands.append(("SELECT", options["db"]))
        if commands:
            for reply in await asyncio.gather(*replies.send(commands)):
                if isinstance(reply, redis.ResponseError):
                    replies.fail(reply)
                    raise redis.ConnectionError(f"Redis refused the connection: {reply}")

    def _tls(self) -> ssl.SSLContext | None:
        if self._options.get("connection_class") is not SSLConnection:
            return None
        context = ssl.create_default_context()
        if self._options.get("ssl_cert_reqs") in ("none", "optional"):
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context
