"""The Indian route's webhooks: Kannel's incoming SMS and delivery reports, and missed calls.

Thin, like the Africa's Talking routes in `gateway.web.app`, and calling the same services: an SMS
through Kannel is handled by `SmsService.receive`, a Kannel delivery report by
`SmsService.delivered` — one SMS service, two doors. Fields are read from the form body or the
query string: smsbox's `post-url` puts them in the URL (its body is the bare text), providers'
missed-call callbacks use either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import redis
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from gateway.channels import kannel
from gateway.channels.missed_calls import AT_REJECT, MissedCalls, read_fields
from gateway.services import Services

log = logging.getLogger("cpgw.http")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def _fields(request: Request) -> dict[str, str]:
    """Query parameters, overlaid by form fields when the body is a form (never a token's value)."""
    fields = {key: value for key, value in request.query_params.items() if key != "token"}
    if request.headers.get("content-type", "").split(";")[0].strip() in FORM_TYPES:
        form = await request.form()
        fields.update({key: value for key, value in form.items() if isinstance(value, str) and key != "token"})
    return fields


def missed_calls(services: Services, app_state: Any) -> MissedCalls:
    """The missed-call service, built once per app from what the gateway already holds open."""
    found = getattr(app_state, "missed_calls", None)
    if found is None or found.engine is not services.engine:
        villagers = services.sms.villagers
        found = app_state.missed_calls = MissedCalls(
            settings=services.settings, engine=services.engine, redis=services.redis, catalog=services.sms.catalog,
            cipher=services.cipher, limiter=services.limiter, outbox=villagers.outbox)
    return found


def mount(app: FastAPI, guard: Callable[[Request], Coroutine[Any, Any, None]]) -> None:
    """Add the routes; `guard` is the webhook token check every webhook shares."""

    @app.post("/webhooks/kannel/sms", dependencies=[Depends(guard)])
    async def kannel_sms(request: Request) -> Response:
        fields = await _fields(request)
        sms_id, sender = fields.get("id", ""), fields.get("from", "")
        if not sms_id or not sender:
            return JSONResponse({"detail": f"{'id' if not sms_id else 'from'} is missing"}, status_code=400)
        sms = kannel.incoming(sms_id=sms_id, sender=sender, text=fields.get("text", ""))
        try:
            await _run(_services(request).sms.receive, sms)
        except (redis.RedisError, SQLAlchemyError) as exc:
            # 503: smsbox posts it again (http-request-retry in the shipped config).
            log.exception("incoming sms failed", extra={"error": type(exc).__name__})
            return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)
        # Bare and empty: whatever smsbox gets back it would send to the phone as a reply.
        return Response(status_code=200)

    async def kannel_delivery(request: Request) -> Response:
        fields = await _fields(request)
        message_id, code = fields.get("id", ""), fields.get("status", "")
        if not message_id or not code:
            return JSONResponse({"detail": f"{'id' if not message_id else 'status'} is missing"}, status_code=400)
        report = kannel.delivery(message_id=message_id, code=code)
        if report is None:
            return Response(status_code=200)  # a code Kannel does not define: nothing to move
        try:
            await _run(_services(request).sms.delivered, report)
        except (redis.RedisError, SQLAlchemyError) as exc:
            log.error("delivery report failed", extra={"error": type(exc).__name__})
            return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)
        return Response(status_code=200)

    app.add_api_route("/webhooks/kannel/delivery", kannel_delivery, methods=["POST"], dependencies=[Depends(guard)])
    # smsbox calls a message's dlr-url with GET: the same handler, read from the query string.
    app.add_api_route("/webhooks/kannel/delivery", kannel_delivery, methods=["GET"], dependencies=[Depends(guard)],
                      include_in_schema=False)

    async def missed_call(request: Request) -> Response:
        fields = await _fields(request)
        call = read_fields(fields)
        if call is None:
            return JSONResponse({"detail": "from is missing"}, status_code=400)
        services = _services(request)
        try:
            outcome = await _run(missed_calls(services, request.app.state).receive, call)
        except (redis.RedisError, SQLAlchemyError) as exc:
            log.exception("missed call failed", extra={"error": type(exc).__name__})
            return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)
        log.info("missed call handled", extra={"outcome": outcome})
        if call.provider == "africastalking":
            # AT waits for call instructions: reject it, so the call costs the caller nothing.
            return Response(AT_REJECT, media_type="application/xml")
        return Response(status_code=200)

    app.add_api_route("/webhooks/missed-call", missed_call, methods=["POST"], dependencies=[Depends(guard)])
    # Exotel's Passthru applet calls with GET.
    app.add_api_route("/webhooks/missed-call", missed_call, methods=["GET"], dependencies=[Depends(guard)],
                      include_in_schema=False)


async def _run(function: Callable[[Any], Any], argument: object) -> Any:
    """The services are synchronous (SQL, Redis): off the event loop, as FastAPI does for `def` routes."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, argument)
