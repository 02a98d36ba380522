"""The web app: webhooks, health, metrics and the JSON API. Routes parse, call one service, return.

The USSD webhook is the exception in form only: its handler lives in `gateway.channels.ussd_webhook`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import fastapi_offline
import redis
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from gateway.channels.effects import EffectsClient, EffectsProcess
from gateway.channels.sms import DeliveryReport, IncomingSms
from gateway.channels.ussd_webhook import PATH as USSD_PATH
from gateway.channels.ussd_webhook import (
    Receive,
    Scope,
    Send,
    UssdEndpoint,
    webhook_allowed,
)
from gateway.infra.clock import Clock
from gateway.infra.heap import freeze_start_up_objects
from gateway.infra.metrics import exposition
from gateway.infra.settings import Settings, load_settings
from gateway.record import db
from gateway.referrals.worker import worker_process
from gateway.services import Services, open_services
from gateway.web import api, console, india
from gateway.web.auth import principal_for

log = logging.getLogger("cpgw.http")


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def webhook_guard(request: Request) -> None:
    """403 unless the request carries `CPGW_WEBHOOK_TOKEN` (query `token` or `X-Webhook-Token`)."""
    given = request.query_params.get("token") or request.headers.get("x-webhook-token") or ""
    if not webhook_allowed(services(request).settings, given):
        raise HTTPException(status_code=403, detail="missing or wrong webhook token")


class AccessLog:
    """Logs method, route and status (never the query string: it may hold the webhook token)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            state = scope.get("app").state if scope.get("app") else None
            svc = getattr(state, "services", None)
            if svc is not None:
                svc.metrics.http_latency.labels(path).observe(elapsed)
            if status[0] >= 400 or log.isEnabledFor(logging.DEBUG):
                log.info("request", extra={"method": scope["method"], "route": path, "status": status[0],
                                           "ms": round(elapsed * 1000, 1)})


class Compression:
    """gzip for the console and the JSON API, whose pages, CSS, JS and JSON shrink 2–16 times (the
    queue's rows the most) on a phone's slow connection; nothing else (the SMS webhooks answer a bare 200, /metrics is scraped
    on the LAN, and the USSD webhook never reaches this stack: `GatewayApp.__call__`).

    A console page holds the CSRF token and can echo what a stranger put in a link (a directory
    search), so it is compressed only when the browser says the request came from our own pages or
    the address bar (`Sec-Fetch-Site`): a page elsewhere that makes a signed-in browser fetch ours
    must not be able to guess the token from compressed sizes (BREACH). Static files and fonts hold
    no secret, and API calls carry a bearer token no other site can make a browser send.
    """

    ALWAYS = ("/console/static/", "/console/fonts/", "/api/", "/openapi.json")
    TRUSTED_SITES = ("same-origin", "none")
    # PDFs (posters) are compressed already; WOFF fonts are excluded by Starlette's default list.
    SKIP_TYPES = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf")

    def __init__(self, app: Any) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=500, compresslevel=6, exclude_content_types=self.SKIP_TYPES)

    def compress(self, scope: dict) -> bool:
        path: str = scope["path"]
        if path.startswith(self.ALWAYS):
            return True
        if path != "/console" and not path.startswith("/console/"):
            return False
        site = next((value for name, value in scope["headers"] if name == b"sec-fetch-site"), b"").decode("latin-1")
        return site in self.TRUSTED_SITES

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.compress(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class GatewayApp(FastAPI):
    """FastAPI, except that the USSD webhook goes straight to its own ASGI handler.

    See `gateway.channels.ussd_webhook`: on the path every villager's keypress takes, the middleware
    stack and router cost more than the menu itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ussd_endpoint = UssdEndpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == "http" and scope["path"] == USSD_PATH:
            scope["app"] = self
            await self.ussd_endpoint(scope, receive, send)
            return
        await super().__call__(scope, receive, send)  # type: ignore[arg-type]


def _children_environ(settings: Settings, services: Services) -> dict[str, str]:
    """The environment of serve's children (worker, effects process): this process's, with these
    settings and this Redis."""
    return {**os.environ, **settings.as_environ(), "CPGW_REDIS_URL": services.redis_handle.url,
            "CPGW_DATABASE_URL": settings.resolved_database_url}


def _local_docs(app: FastAPI) -> None:
    """/docs from Swagger UI's files in the `fastapi-offline` package: no page of ours loads a CDN.

    Off in production unless CPGW_API_DOCS=true (the OpenAPI is a map of every route for a stranger).
    """
    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs/static", StaticFiles(directory=static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} – API",
                                   swagger_js_url="/docs/static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/static/swagger-ui.css",
                                   swagger_favicon_url="/docs/static/favicon.png")


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The app; `clock` replaces Redis TIME (tests fast-forward it)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = open_services(settings, clock=clock, background_checkpoints=True)
        app.state.effects = None  # `cpgw serve` asks for an effects process; tests carry effects out here
        if getattr(app.state, "freeze_gc", False):
            freeze_start_up_objects()
        environ = _children_environ(settings, app.state.services)
        children = [worker_process(environ)] if getattr(app.state, "run_worker", False) else []
        if getattr(app.state, "effects_process", False):
            effects = EffectsProcess(environ)
            children.append(effects)
            app.state.effects = EffectsClient(effects.path)
        for child in children:
            child.start()
        try:
            yield
        finally:
            if app.state.effects is not None:
                await app.state.effects.aclose()
            for child in children:
                await anyio.to_thread.run_sync(child.stop)  # before the embedded Redis is stopped
            await app.state.services.aclose()
            if getattr(app.state, "shared_metrics", None) is not None:
                shutil.rmtree(app.state.shared_metrics, ignore_errors=True)

    app = GatewayApp(title="Child-protection referral gateway", version="1", lifespan=lifespan, docs_url=None,
                     redoc_url=None, openapi_url="/openapi.json" if settings.docs_enabled else None)
    if settings.docs_enabled:
        _local_docs(app)
    app.add_middleware(Compression)  # inside AccessLog, whose latency then includes the compressing
    app.add_middleware(AccessLog)
    app.include_router(api.router)
    console.mount(app)  # /console pages, their static files, and the console's JSON routes

    @app.post("/webhooks/at/sms", dependencies=[Depends(webhook_guard)])
    def sms_in(
        request: Request,
        id: str | None = Form(None),  # noqa: A002  (Africa's Talking's field names)
        from_: str | None = Form(None, alias="from"),
        text: str | None = Form(None),
        to: str | None = Form(None),  # noqa: ARG001
        date: str | None = Form(None),  # noqa: ARG001
    ) -> Response:
        if not id or not from_:
            return JSONResponse({"detail": f"{'id' if not id else 'from'} is missing"}, status_code=400)
        try:
            services(request).sms.receive(IncomingSms(id[:120], from_[:32], (text or "")[:1600]))
        except (redis.RedisError, SQLAlchemyError) as exc:
            # 503 makes Africa's Talking post it again a minute later: the SMS is not lost.
            log.exception("incoming sms failed", extra={"error": type(exc).__name__})
            return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)
        # A bare 200 whatever happened: the answer must not tell a caller which numbers are
        # committee contacts or whether a case exists (the outcome is in the metrics and logs).
        return Response(status_code=200)

    @app.post("/webhooks/at/sms/delivery", dependencies=[Depends(webhook_guard)])
    def sms_delivery(
        request: Request,
        id: str | None = Form(None),  # noqa: A002
        status: str | None = Form(None),
        failureReason: str | None = Form(None),  # noqa: N803
    ) -> Response:
        if not id or not status:
            return JSONResponse({"detail": f"{'id' if not id else 'status'} is missing"}, status_code=400)
        try:
            services(request).sms.delivered(DeliveryReport(id[:64], status[:40], (failureReason or "")[:200]))
        except (redis.RedisError, SQLAlchemyError) as exc:
            log.error("delivery report failed", extra={"error": type(exc).__name__})
            return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)
        return Response(status_code=200)  # bare: whether the id was ours is nobody's business

    india.mount(app, webhook_guard)  # Kannel's SMS and delivery reports, missed calls (issue 19)

    @app.post("/webhooks/at/ussd/events", dependencies=[Depends(webhook_guard)])
    def ussd_events() -> Response:
        # End-of-session notices are informational (the sandbox does not even send them).
        return Response(status_code=200)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz(request: Request) -> JSONResponse:
        svc = services(request)
        checks = {"redis": "ok", "sql": "ok"}
        try:
            svc.redis.ping()
        except (redis.RedisError, OSError):
            checks["redis"] = "down"
        try:
            db.ping(svc.engine)
        except SQLAlchemyError:
            checks["sql"] = "down"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ready" if ready else "unavailable", **checks}, status_code=200 if ready else 503)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        """Prometheus; in production only with an API bearer token (any role): counts of reports,
        alerts and failures by district are not for anyone who finds the address."""
        svc = services(request)
        if svc.settings.environment == "production":
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or principal_for(svc.engine, token.strip()) is None:
                return JSONResponse({"detail": "an API token is required (Authorization: Bearer …)"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
        return Response(exposition(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
