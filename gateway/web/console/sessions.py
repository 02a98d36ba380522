"""The console's session cookie: signed (itsdangerous, keyed by CPGW_SECRET_KEY), never encrypted.

It holds only a user id, the user's session epoch and the CSRF token, nothing secret about cases;
the signature stops tampering and the timestamp ends a session after `MAX_AGE`. The same cookie
exists before sign-in (with a CSRF token only) so the login form is protected as well; signing in
issues a fresh token, so a token planted before sign-in is worthless after it.

Flags: HttpOnly (scripts cannot read it), SameSite=Lax (a cross-site POST does not carry it),
Secure whenever the request came over https and always in production (where a proxy that is not
in `CPGW_TRUSTED_PROXIES` would otherwise make an https request look like http), Path=/console (the
API and webhooks never see it).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "cpgw_console"
MAX_AGE = 12 * 3600  # one working day; then sign in again
PATH = "/console"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class SessionData:
    csrf: str
    user_id: int | None = None
    epoch: int = 0


class SessionCodec:
    def __init__(self, secret: str, *, always_secure: bool = False) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="cpgw console session v1")
        self._always_secure = always_secure

    def _secure(self, request: Request) -> bool:
        return self._always_secure or request.url.scheme == "https"

    def read(self, request: Request) -> SessionData | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._serializer.loads(raw, max_age=MAX_AGE)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        user = data.get("u")
        return SessionData(csrf=data["c"], user_id=user if isinstance(user, int) else None,
                           epoch=int(data.get("e", 0)))

    def write(self, request: Request, response: Response, data: SessionData) -> None:
        payload = {"c": data.csrf, "u": data.user_id, "e": data.epoch}
        response.set_cookie(COOKIE, self._serializer.dumps(payload), max_age=MAX_AGE, path=PATH, httponly=True,
                            samesite="lax", secure=self._secure(request))

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax", secure=self._secure(request))


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(session: SessionData | None, given: object) -> bool:
    if session is None or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(session.csrf.encode(), given.encode())
