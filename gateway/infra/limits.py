"""Per-phone rate limits in Redis, shared by every replica: fixed windows, one counter each.

They keep a flooding phone from burying committees in alerts, and keep case references from
being guessed by trying `STATUS` with one number after another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from gateway.infra import keys

# kind -> (allowed per window, window in seconds)
LIMITS: dict[str, tuple[int, int]] = {
    "sms": (30, 3600),  # any message from a phone that is not a directory contact
    "report": (3, 3600),  # cases created
    "status": (5, 3600),  # STATUS look-ups: 5 guesses an hour at a 90-million space
    "missed_call": (3, 3600),  # missed calls answered: each costs an SMS and a call-back request
    "escalate": (1, 3600),  # ESC by one contact on one case: a second within the hour re-pages nobody
    # Failed console sign-ins from one address, whatever the usernames: password spraying, and
    # locking staff out by name (5 failures lock a username), stop here. An office behind one
    # NAT address still has room for its staff's typos.
    "login": (10, 900),
}


@dataclass
class RateLimiter:
    redis: redis.Redis
    now: Callable[[], float]  # the shared clock's now()

    def allow(self, kind: str, phone_tag: str) -> bool:
        """Count one use; False once the window's allowance is spent."""
        pipe = self.redis.pipeline()
        for command in self.counting(kind, phone_tag):
            pipe.execute_command(*command)
        used, _ = pipe.execute()
        return self.within(kind, used)

    def counting(self, kind: str, phone_tag: str) -> tuple[tuple[str | int, ...], ...]:
        """The commands that count one use, for a caller that sends them on its own connection."""
        key, window = self._key(kind, phone_tag), LIMITS[kind][1]
        return ("INCR", key), ("EXPIRE", key, window * 2)

    @staticmethod
    def within(kind: str, used: int | str) -> bool:
        """Whether the count that `counting` returned is still within the allowance."""
        return int(used) <= LIMITS[kind][0]

    def spent(self, kind: str, phone_tag: str) -> bool:
        """Whether the window's allowance is spent already, without counting a use."""
        return int(self.redis.get(self._key(kind, phone_tag)) or 0) >= LIMITS[kind][0]

    def _key(self, kind: str, tag: str) -> str:
        return keys.RATE.format(kind=kind, phone=tag, window=int(self.now()) // LIMITS[kind][1])

    def first_notice(self, phone_tag: str) -> bool:
        """True once per hour per phone: whether to tell it that it is being limited."""
        window = int(self.now()) // 3600
        return bool(self.redis.set(keys.RATE_NOTICE.format(phone=phone_tag, window=window), 1, nx=True, ex=7200))
