"""Who may do what in the console: FastAPI dependencies, and the errors they raise.

`staff` signs a request in (or sends it to the login form); `writer` adds the CSRF check and the
rule that viewers only read. Every POST route of the console depends on `writer` or `poster`, so
no form can be posted without the token that only our own pages carry.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from gateway.infra.settings import secret_key
from gateway.record.models import Place
from gateway.services import Services
from gateway.web.console.reading import read_only
from gateway.web.console.sessions import (
    CSRF_FIELD,
    SessionCodec,
    SessionData,
    csrf_matches,
)
from gateway.web.console.templating import redirect, render
from gateway.web.console.users import StaffMember, staff_by_id


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login form, and back afterwards."""

    def __init__(self, next_url: str = "/console") -> None:
        super().__init__(next_url)
        self.next_url = next_url


class ConsoleError(Exception):
    """A refusal shown as a page: 403 (read-only, bad form token), 404 (no such case, or not yours)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def codec(request: Request) -> SessionCodec:
    state = request.app.state
    if getattr(state, "console_codec", None) is None:
        settings = services(request).settings
        state.console_codec = SessionCodec(secret_key(settings), always_secure=settings.environment == "production")
    return state.console_codec  # type: ignore[no-any-return]


def session_of(request: Request) -> SessionData | None:
    return codec(request).read(request)


def safe_next(url: str | None) -> str:
    """Only our own console pages: `next` must never send a signed-in user to another site."""
    if url and url.startswith("/console") and not url.startswith("//") and "\\" not in url:
        return url
    return "/console"


def staff(request: Request) -> StaffMember:
    data = session_of(request)
    member = staff_by_id(services(request).engine, data.user_id, data.epoch) if data and data.user_id else None
    if member is None or data is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/console")
    request.state.staff = member
    request.state.console_session = data
    if member.district_lgd is not None:
        with read_only(services(request).engine) as session:
            place = session.get(Place, {"level": "district", "lgd_code": member.district_lgd})
        request.state.staff_district = place.name if place else str(member.district_lgd)
    return member


async def poster(request: Request, member: StaffMember = Depends(staff)) -> StaffMember:
    """Any signed-in user posting one of our forms (sign-out)."""
    form = await request.form()
    if not csrf_matches(request.state.console_session, form.get(CSRF_FIELD)):
        raise ConsoleError(403, "This form has expired or did not come from the console. Reload the page and try again.")
    return member


async def writer(request: Request, member: StaffMember = Depends(poster)) -> StaffMember:
    """A staff member allowed to change cases and the directory: admin and district roles."""
    if not member.principal.can_write:
        raise ConsoleError(403, "Your role is read-only.")
    return member


def login_required_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return redirect(f"/console/login?next={quote(safe_next(exc.next_url), safe='/')}")


def console_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    return render(request, "error.html", {"status": exc.status, "message": exc.message}, status=exc.status)
