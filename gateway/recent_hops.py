"""The last hop this process answered for each live USSD session: a cache in front of Redis.

A session's history is append-only and the state after a given history never changes (the menu
is a pure function of it), so the (screen, state) stored in Redis under `text` can be remembered
here too, and the next hop, whose `text` is this one's plus one input, can start from it without
reading Redis. Redis stays the record: every hop is still written there, and a hop this process
did not see last (another replica answered, or this one restarted) is read from Redis as before.
Nothing here must survive: losing it costs one Redis read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import NamedTuple


class RecentHop(NamedTuple):
    text: str
    screen: str
    state_json: str
    at: float  # time.monotonic() when answered


class RecentHops:
    """At most `size` sessions, least recently used out first; entries older than `ttl_s` ignored."""

    def __init__(self, size: int = 20_000, ttl_s: float = 600.0) -> None:
        self._size, self._ttl_s = size, ttl_s
        self._hops: OrderedDict[str, RecentHop] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> RecentHop | None:
        with self._lock:
            hop = self._hops.get(session_id)
            if hop is None:
                return None
            if time.monotonic() - hop.at > self._ttl_s:
                # Redis has expired the session by now: answering from here would outlive it.
                del self._hops[session_id]
                return None
            self._hops.move_to_end(session_id)
            return hop

    def put(self, session_id: str, text: str, screen: str, state_json: str) -> None:
        with self._lock:
            self._hops[session_id] = RecentHop(text, screen, state_json, time.monotonic())
            self._hops.move_to_end(session_id)
            while len(self._hops) > self._size:
                self._hops.popitem(last=False)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._hops.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._hops)
