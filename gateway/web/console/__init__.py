"""The DCPU console: a server-rendered web app for the staff who act on cases (issue 6).

    /console            the queue (emergencies and cases past a deadline first), live-refreshed
    /console/cases/REF  a case: timeline of events and SMS, actions, the reporter's number on request
    /console/directory  places, contacts (edit, deactivate), CSV import with preview, failing phones, gaps
    /console/dashboard  reports, time to acknowledgement, missed deadlines: SVG charts and CSV exports

Pieces, each in its own module: `users` (argon2, lock-out), `sessions` (signed cookie, CSRF),
`guards` (who may do what), `queue`, `casefile`, `actions`, `contacts`, `imports`, `coverage`,
`stats`, `charts`, `exports`; `routes/` holds the thin HTML routes and `api` the JSON routes that
give API clients the same abilities (mounted at /api/v1 beside gateway.web.api, in the OpenAPI at /docs).

Nothing is loaded from the internet: the page script and stylesheet are files in `static/`, the
fonts are made from the machine's Noto files (`fonts`), and charts are SVG written on the server.
Pages name the script and stylesheet with a version (`?v=` and a hash of the file): those URLs are
cached for a year, so a phone on a weak connection fetches them once per release.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"


@cache
def _hashed(name: str, size: int, mtime_ns: int) -> str:
    """Size and time are in the cache key only: a file that changes is hashed again."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def _static_version(name: str) -> str:
    """A hash of the file, read again only when the file changes (someone editing the CSS on a dev server)."""
    found = (STATIC / name).stat()
    return _hashed(name, found.st_size, found.st_mtime_ns)


def static_url(name: str) -> str:
    """`/console/static/NAME?v=HASH`, for templates."""
    return f"/console/static/{name}?v={_static_version(name)}"


class CachedStatic(StaticFiles):
    """StaticFiles, with a year's caching for the versioned URLs templates give, revalidation otherwise."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            given = QueryParams(scope.get("query_string", b"")).get("v")
            fixed = given is not None and given == _static_version(path)
            response.headers["Cache-Control"] = IMMUTABLE if fixed else "no-cache"
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def mount(app: FastAPI) -> None:
    """Add the console's pages, its static files and its JSON API to the gateway's app."""
    from gateway.web.console import api, fonts
    from gateway.web.console.guards import (
        ConsoleError,
        LoginRequired,
        console_error_handler,
        login_required_handler,
    )
    from gateway.web.console.routes import router
    from gateway.web.console.templating import templates

    templates.env.globals.update(static_url=static_url, fonts_url=fonts.stylesheet_url)
    app.include_router(router)
    app.include_router(api.router)
    app.mount("/console/static", CachedStatic(directory=STATIC), name="console-static")
    app.mount(fonts.PREFIX, fonts.router(), name="console-fonts")
    app.add_exception_handler(LoginRequired, login_required_handler)
    app.add_exception_handler(ConsoleError, console_error_handler)
