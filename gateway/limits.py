"""Per-phone rate limits in Redis, shared by every replica: fixed windows, one counter each.

They keep a flooding phone from burying committees in alerts, and keep case references from
being guessed by trying `STATUS` with one number after another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from gateway import keys

# kind -> (allowed per window, window in seconds)
LIMITS: dict[str, tuple[int, int]] = {
    "sms": (30, 3600),  # any message from a phone that is not a directory contact
    "report": (3, 3600),  # cases created
    "status": (5, 3600),  # STATUS look-ups: 5 guesses an hour at a 90-million space
    "escalate": (1, 3600),  # ESC by one contact on one case: a second within the hour re-pages nobody
}


@dataclass
class RateLimiter:
    redis: redis.Redis
    now: Callable[[], float]  # the shared clock's now()

    def allow(self, kind: str, phone_tag: str) -> bool:
        limit, window = LIMITS[kind]
        key = keys.RATE.format(kind=kind, phone=phone_tag, window=int(self.now()) // window)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window * 2)
        used, _ = pipe.execute()
        return int(used) <= limit

    def first_notice(self, phone_tag: str) -> bool:
        """True once per hour per phone: whether to tell it that it is being limited."""
        window = int(self.now()) // 3600
        return bool(self.redis.set(keys.RATE_NOTICE.format(phone=phone_tag, window=window), 1, nx=True, ex=7200))
