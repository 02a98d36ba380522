"""`POST /webhooks/at/ussd` as a bare ASGI handler: the hottest path of the service.

Every keypress of every villager is one request, and Africa's Talking waits for the answer while
the villager looks at a blank screen. Through FastAPI's middleware stack and router a request
cost more than the whole menu step (docs/benchmarks.md), so `GatewayApp` hands this one path to
the handler below before FastAPI sees it. What the stack did for it, it does itself: the webhook
token, 400/403/405/413 with a reason, the latency histogram, and no 500 ever: whatever fails,
the villager gets a screen.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
import redis
from sqlalchemy.exc import SQLAlchemyError

from gateway.channels.effects import EffectsClient, Unreachable
from gateway.channels.ussd import Hop, Pending, Result, Work
from gateway.infra.settings import Settings
from gateway.services import Services
from menus.engine import unavailable

log = logging.getLogger("cpgw.ussd")
PATH = "/webhooks/at/ussd"
MAX_BODY = 64_000  # Africa's Talking's form is a few hundred bytes; a long history a few KB

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
After = Callable[[], Awaitable[None]]


class UssdEndpoint:
    """The USSD webhook; `sql_threads` caps how many hops store or look up a report at once in
    this process (without an effects process, or while it does not answer)."""

    def __init__(self, sql_threads: int = 16) -> None:
        # Storing or looking up a report is SQL: in the effects process under `cpgw serve`, else
        # on a thread of this one; everything else runs on the loop.
        # Reports stored at the same moment share one write transaction (referrals.cases.GroupCommit),
        # so more threads mean bigger batches, not more writers: with 4, reports queued for a thread
        # (121 ms at p50 under 32 callers, docs/benchmarks.md) while the threads waited for the GIL.
        self._sql_threads = anyio.CapacityLimiter(sql_threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        svc: Services = scope["app"].state.services
        status, screen, after = await self._answer(svc, scope, receive, getattr(scope["app"].state, "effects", None))
        await _respond(send, status, screen, allow=status == 405)
        svc.metrics.http_latency.labels(PATH).observe(time.perf_counter() - started)
        if status >= 400:
            log.info("request", extra={"method": scope["method"], "route": PATH, "status": status})
        if after is not None:
            await _afterwards(after)

    async def _answer(self, svc: Services, scope: Scope, receive: Receive,
                      effects: EffectsClient | None) -> tuple[int, str, After | None]:
        if scope["method"] != "POST":
            return 405, "END Method not allowed: Africa's Talking posts a form.", None
        if not _token_ok(scope, svc.settings):
            return 403, "END Forbidden: missing or wrong webhook token.", None
        body = await _read_body(receive)
        if body is None:
            return 413, "END Request too large.", None
        form = _form(body)
        session_id, phone = form.get("sessionId"), form.get("phoneNumber")
        if not session_id or not phone:
            missing = "sessionId" if not session_id else "phoneNumber"
            return 400, f"END Invalid request: {missing} is missing.", None
        hop = Hop(session_id[:200], phone[:32], form.get("networkCode", "")[:16], form.get("text", "").strip())
        return 200, *await self._hop(svc, hop, effects)

    async def _hop(self, svc: Services, hop: Hop, effects: EffectsClient | None) -> tuple[str, After | None]:
        """The hop's screen, and what is left to do once the villager has it: the session's last
        state, after a report stored or looked up (`UssdService.settle`)."""
        try:
            begun = await svc.ussd.begin(hop)
            if isinstance(begun, Pending):
                return svc.ussd.settle(begun, await self._carry_out(svc, svc.ussd.work(begun), effects))
            return begun, None
        except (redis.RedisError, SQLAlchemyError, OSError) as exc:
            # A dependency is down: the villager gets the helplines at once, never a silent failure.
            log.error("ussd hop failed", extra={"error": type(exc).__name__})
        except Exception:  # noqa: BLE001 — a bug must still leave the villager with a way to get help
            log.exception("ussd hop crashed")
        return unavailable(svc.ussd.context(hop.network_code), None).render(), None


    async def _carry_out(self, svc: Services, work: Work, effects: EffectsClient | None) -> Result:
        """Store or look up the report, once the phone's allowance lets it: in the effects process
        under `cpgw serve`, else (or while it does not answer) on a thread of this process."""
        if effects is not None:
            result = await effects.carry_out(work)
            if not isinstance(result, Unreachable):
                return result
        return await anyio.to_thread.run_sync(svc.ussd.carry_out, work, limiter=self._sql_threads)


async def _afterwards(after: After) -> None:
    """Work left once the villager has the screen: it fails alone, in the log (the answer is gone)."""
    try:
        await after()
    except Exception:  # noqa: BLE001 — nothing can be told to the villager any more
        log.exception("ussd hop's work after the answer failed")


def webhook_allowed(settings: Settings, given: str) -> bool:
    """Whether a webhook post may act: it carries the token (compared in constant time).

    Without a configured token only a development gateway is open; production refuses to start
    without one (`gateway.infra.settings.production_problems`), and refuses every post should a
    gateway be built around that check.
    """
    expected = settings.webhook_token
    if not expected:
        return settings.environment != "production"
    return hmac.compare_digest(given.encode(), expected.encode())


def _token_ok(scope: Scope, settings: Settings) -> bool:
    if not settings.webhook_token and settings.environment != "production":
        return True
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    header = next((value for name, value in scope.get("headers", ()) if name == b"x-webhook-token"), b"")
    return webhook_allowed(settings, query.get("token") or header.decode("latin-1"))


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None once it passes MAX_BODY (the rest is not kept)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _form(body: bytes) -> dict[str, str]:
    """An urlencoded form, leniently: bytes that are not UTF-8 are replaced, never an error."""
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True, errors="replace"))


async def _respond(send: Send, status: int, text: str, *, allow: bool = False) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
