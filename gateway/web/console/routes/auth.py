"""Sign-in and sign-out. The login form carries a CSRF token from a pre-session cookie."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.services import Services
from gateway.web.console.guards import codec, poster, safe_next, services, session_of
from gateway.web.console.params import now
from gateway.web.console.sessions import CSRF_FIELD, SessionData, csrf_matches, new_csrf
from gateway.web.console.templating import local, redirect, render
from gateway.web.console.users import (
    LoginResult,
    StaffMember,
    authenticate,
    end_sessions,
    staff_by_id,
)

router = APIRouter(prefix="/console")


def _form_page(request: Request, session: SessionData, *, next_url: str, error: str = "", status: int = 200,
               username: str = "") -> Response:
    request.state.console_session = session
    response = render(request, "login.html", {"next": next_url, "error": error, "username": username}, status)
    codec(request).write(request, response, session)
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    current = session_of(request)
    if current and current.user_id and staff_by_id(services(request).engine, current.user_id, current.epoch):
        return redirect(safe_next(next))
    anonymous = SessionData(csrf=current.csrf if current else new_csrf())
    return _form_page(request, anonymous, next_url=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    current = session_of(request)
    next_url = safe_next(str(form.get("next") or ""))
    if not csrf_matches(current, form.get(CSRF_FIELD)):
        return _form_page(request, SessionData(csrf=new_csrf()), next_url=next_url, status=403,
                          error="The form had expired. Please sign in again.")
    assert current is not None
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    address = request.client.host if request.client else "unknown"
    # argon2 and SQL on a thread: on the event loop they held up every villager's USSD hop.
    result = await anyio.to_thread.run_sync(_sign_in, services(request), address, username, password)
    if result is None:
        return _form_page(request, current, next_url=next_url, status=429, username=username[:64],
                          error="Too many failed sign-ins from this network. Please wait 15 minutes.")
    if result.staff is None:
        if result.locked_until is not None:
            error, status = (f"Too many failed sign-ins. This account is locked until "
                             f"{local(result.locked_until, '%H:%M')}."), 429
        else:
            error, status = "Wrong username or password.", 401
        return _form_page(request, current, next_url=next_url, error=error, status=status, username=username[:64])
    signed_in = SessionData(csrf=new_csrf(), user_id=result.staff.id, epoch=result.staff.session_epoch)
    response = redirect(next_url)
    codec(request).write(request, response, signed_in)
    return response


def _sign_in(svc: Services, address: str, username: str, password: str) -> LoginResult | None:
    """Check a password unless this address has failed too often (None); count its failures.

    Per address, beside the per-username lock-out: one address cannot spray passwords over many
    usernames, nor lock every known username out.
    """
    tag = svc.cipher.tag(f"address:{address}")  # addresses are personal data too: keyed, not kept
    if svc.limiter.spent("login", tag):
        return None
    result = authenticate(svc.engine, username, password, now(svc))
    if result.staff is None:
        svc.limiter.allow("login", tag)
    return result


@router.post("/logout")
def logout(request: Request, member: StaffMember = Depends(poster)) -> Response:
    end_sessions(services(request).engine, member.id)
    response = redirect("/console/login")
    codec(request).clear(request, response)
    return response
