"""No route does blocking work on the event loop that answers villagers.

`async def login` once ran argon2 and its SQL on the loop: three clients posting logins took the
USSD first hop from 4.4 ms to over 400 ms. Rather than timing the loop (noisy on a shared
machine), this catches the cause itself: any SQL statement or argon2 hash run on the thread
that is running the event loop, while every page, API route and webhook is exercised. The USSD
webhook stores on the loop by design (gateway.channels.ussd_webhook) and is left out.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from sqlalchemy import event

from gateway.web.auth import create_token
from tests.console.conftest import PASSWORD


def _on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def blocking(client, monkeypatch) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Where blocking work ran on the event loop: the innermost frames of our own code."""
    found: list[str] = []

    def note(what: str) -> None:
        if _on_the_loop():
            ours = [f"{frame.filename.rsplit('/', 2)[-2:]}:{frame.lineno} {frame.name}"
                    for frame in traceback.extract_stack() if "/gateway/" in frame.filename]
            found.append(f"{what} at {ours[-3:]}")

    def statement(conn, cursor, text, *args) -> None:  # type: ignore[no-untyped-def]
        note(f"SQL {text.split()[0]}")

    engine = client.app.state.services.engine
    event.listen(engine, "before_cursor_execute", statement)
    for name in ("hash", "verify"):
        original = getattr(PasswordHasher, name)

        def wrapped(self, *args, _original=original, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            note(f"argon2 {_name}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, name, wrapped)
    yield found
    event.remove(engine, "before_cursor_execute", statement)


def test_sign_in_and_directory_import_stay_off_the_loop(client, browser, users, cases, blocking):
    person = browser()
    for username in ("nobody-1", "nobody-2", "meera"):  # unknown names cost argon2 too
        person.get("/console/login")
        person.post("/console/login", {"username": username, "password": "wrong password"})
    signed_in = browser("ranchi")
    signed_in.post("/console/directory/import", {"action": "preview"},
                   files={"contacts": ("c.csv", b"name,phone,unit,place_lgd_code\nX,+917999000401,VCPC,9001199\n")})
    assert blocking == []


def test_no_page_api_route_or_webhook_blocks_the_loop(client, engine, browser, users, cases, blocking):
    admin = {"Authorization": f"Bearer {create_token(engine, role='admin', district_lgd=None, name='loop')}"}
    person = browser("admin")
    ref = cases["ranchi"]
    for route in client.app.routes:
        if not isinstance(route, APIRoute) or route.path == "/webhooks/at/ussd":
            continue
        path = (route.path.replace("{ref}", ref).replace("{name}", "reports").replace("{contact_id}", "1")
                .replace("{key}", "x").replace("{username}", "x"))
        for method in route.methods:
            if path.startswith("/console"):
                person.get(path) if method == "GET" else person.post(path, {"text": "x", "outcome": "other"})
            elif path.startswith("/webhooks"):
                client.request(method, path, data={"id": "x1", "from": "+919800000001", "text": "HELP", "status": "Sent"})
            else:
                client.request(method, path, headers=admin, **({} if method == "GET" else {"json": {"text": "x"}}))
    person.post("/console/login", {"username": "admin", "password": PASSWORD})
    assert blocking == []
