"""Jinja2 templates, the filters they use, and the headers every console page carries.

Times are shown in Indian Standard Time (a fixed +05:30: India has no daylight saving), because
the people reading them are DCPU staff, and stored in UTC as everything else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from routing.concerns import BY_KEY, KEYS
from routing.lifecycle import IST, OUTCOMES

HERE = Path(__file__).parent
CONCERN_LABELS = {
    "sexual_abuse": "Sexual abuse", "child_marriage": "Child marriage", "trafficking": "Trafficking",
    "missing_child": "Missing child", "abandoned_child": "Abandoned / found child",
    "physical_violence": "Physical violence", "child_labour": "Child labour", "begging": "Begging / street",
    "corporal_punishment": "Corporal punishment", "orphan_support": "Orphan support",
    "neglect_dropout": "Neglect / dropout", "other": "Other",
}
# Every page may hold a child's case: no caching, no framing, nothing but our own files.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def concern_label(key: str) -> str:
    return CONCERN_LABELS.get(key, key.replace("_", " ").capitalize())


def is_emergency(concern: str, urgent: bool) -> bool:
    """The reporter said the child is in danger now, or the concern is an emergency in law."""
    found = BY_KEY.get(concern)
    return urgent or (found is not None and found.priority == "emergency")


def span(seconds: float) -> str:
    """A duration as staff read it: `45m`, `3h 20m`, `2d 4h`."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def local(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(IST).strftime(fmt) + " IST"


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(span=span, local=local, concern=concern_label)
templates.env.globals.update(OUTCOMES=OUTCOMES, CONCERN_KEYS=KEYS, concern_label=concern_label)


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    """A page, with the signed-in staff member and the CSRF token every form needs."""
    context = dict(context or {})
    staff = getattr(request.state, "staff", None)
    context.setdefault("staff", staff)
    # Read with the staff member (gateway.web.console.guards.staff, on a thread): render may run on
    # the event loop, where no SQL belongs.
    context.setdefault("staff_district", getattr(request.state, "staff_district", None))
    session = getattr(request.state, "console_session", None)
    context.setdefault("csrf_token", session.csrf if session else "")
    return secure(templates.TemplateResponse(request, name, context, status_code=status))


def redirect(url: str) -> Response:
    """After a POST: 303, so a reload does not post the form again."""
    return secure(RedirectResponse(url, status_code=303))
