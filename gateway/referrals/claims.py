"""A clock in Redis: a sorted set of members scored by when they fall due, claimed one worker each.

Acknowledgement deadlines ("case:step:round") and duties ("duty:round") are both such clocks.
`claim` moves due members to the claimed set with a lease (one Lua call, so two workers never
take the same member); a member whose worker died before `done` goes back once its lease runs
out, so a deadline is never lost with a worker. `restore` puts back what Redis lost (a restart
without persistence), from the record in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

CLAIM_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[2], ARGV[3], member)
end
return due
"""
EXPIRED_SCRIPT = """
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(stale) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], ARGV[1], member)
end
return #stale
"""


class Schedule:
    def __init__(self, client: redis.Redis, key: str, claimed_key: str, lease_s: float) -> None:
        self.redis, self.key, self.claimed_key, self.lease_s = client, key, claimed_key, lease_s
        self._claim: Any = client.register_script(CLAIM_SCRIPT)
        self._expired: Any = client.register_script(EXPIRED_SCRIPT)

    def claim(self, now: float, limit: int) -> list[str]:
        """Due members, each now this worker's until `done` (or its lease runs out)."""
        self._expired(keys=[self.key, self.claimed_key], args=[now, limit])
        return list(self._claim(keys=[self.key, self.claimed_key], args=[now, limit, now + self.lease_s]))

    @contextmanager
    def handling(self, member: str) -> Iterator[None]:
        """Handle one claimed member; it leaves the claimed set whatever happens."""
        try:
            yield
        finally:
            self.redis.zrem(self.claimed_key, member)

    def restore(self, due: dict[str, float]) -> int:
        """Schedule those of `due` (member → when) that are neither scheduled nor claimed; how many."""
        if not due:
            return 0
        members = list(due)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zmscore(self.key, members)
        pipe.zmscore(self.claimed_key, members)
        scheduled, claimed = pipe.execute()
        missing = {member: due[member] for member, at, taken in zip(members, scheduled, claimed, strict=True)
                   if at is None and taken is None}
        if missing:
            self.redis.zadd(self.key, missing)
        return len(missing)
