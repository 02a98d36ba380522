"""The DCPU console: a server-rendered web app for the staff who act on cases (issue 6).

    /console            the queue (emergencies and cases past a deadline first), live-refreshed
    /console/cases/REF  a case: timeline of events and SMS, actions, the reporter's number on request
    /console/directory  places, contacts (edit, deactivate), CSV import with preview, failing phones, gaps
    /console/dashboard  reports, time to acknowledgement, missed deadlines: SVG charts and CSV exports

Pieces, each in its own module: `users` (argon2, lock-out), `sessions` (signed cookie, CSRF),
`guards` (who may do what), `queue`, `casefile`, `actions`, `contacts`, `imports`, `coverage`,
`stats`, `charts`, `exports`; `routes/` holds the thin HTML routes and `api` the JSON routes that
give API clients the same abilities (mounted at /api/v1 beside gateway.web.api, in the OpenAPI at /docs).

Nothing is loaded from the internet: the page script and stylesheet are files in `static/`, and
charts are SVG written on the server.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the console's pages, its static files and its JSON API to the gateway's app."""
    from gateway.web.console import api
    from gateway.web.console.guards import (
        ConsoleError,
        LoginRequired,
        console_error_handler,
        login_required_handler,
    )
    from gateway.web.console.routes import router

    app.include_router(router)
    app.include_router(api.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(LoginRequired, login_required_handler)
    app.add_exception_handler(ConsoleError, console_error_handler)
