"""API bearer tokens: random, shown once, stored only as a SHA-256 hash; they expire and can be revoked.

A token is refused once revoked or past `expires_at` (90 days by default; `None` means never, for
tokens made before expiry existed or on purpose with `cpgw token create --expires-in 0`). Each use
records `last_used_at`, but at most once a minute per token: checking a token is a read on every
API request, and a write on each would queue every request behind the SQL write lock.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from gateway.record.db import is_locked, read_session
from gateway.record.models import ApiToken, utcnow
from gateway.referrals.actions import Principal

ROLES = ("admin", "district", "viewer")
LIFETIME = timedelta(days=90)  # a new token's default; `None` (never expires) must be asked for
LAST_USED_EVERY = timedelta(minutes=1)  # how stale `last_used_at` may be before a use rewrites it

log = logging.getLogger("cpgw.auth")


class TokenError(ValueError):
    """A token request that makes no sense (unknown role, district role without a district)."""



@dataclass(frozen=True)
class TokenInfo:
    """What an operator may see of a token (`cpgw token list`): never the token, nor its hash."""

    id: int
    name: str
    role: str
    district_lgd: int | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _info(row: ApiToken) -> TokenInfo:
    assert row.id is not None
    return TokenInfo(row.id, row.name, row.role, row.district_lgd, row.created_at, row.expires_at,
                     row.last_used_at, row.revoked)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(engine: Engine, *, role: str, district_lgd: int | None, name: str,
                lifetime: timedelta | None = LIFETIME, now: datetime | None = None) -> tuple[TokenInfo, str]:
    """A new token and what is stored of it; `lifetime=None`: it never expires."""
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}")
    if role == "district" and district_lgd is None:
        raise TokenError("a district token needs --district LGD")
    if lifetime is not None and lifetime <= timedelta(0):
        raise TokenError("a token's lifetime must be positive (or None: never expires)")
    now = now or utcnow()
    token = "cpgw_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role, district_lgd=district_lgd, token_hash=_hash(token), created_at=now,
                   expires_at=now + lifetime if lifetime is not None else None)
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
        return _info(row), token


def create_token(engine: Engine, *, role: str, district_lgd: int | None, name: str,
                 lifetime: timedelta | None = LIFETIME) -> str:
    return issue_token(engine, role=role, district_lgd=district_lgd, name=name, lifetime=lifetime)[1]


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with read_session(engine) as session:
        return [_info(row) for row in session.exec(select(ApiToken).order_by(col(ApiToken.id)))]


def revoke_token(engine: Engine, token_id: int) -> TokenInfo | None:
    """Revoke for good (there is no un-revoke: make a new token); None when no token has this id."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            return None
        row.revoked = True
        session.add(row)
        session.commit()
        return _info(row)


def principal_for(engine: Engine, token: str, *, now: datetime | None = None) -> Principal | None:
    """Who holds `token`, or None when it is unknown, revoked or expired.

    Synchronous on purpose: the API calls it from FastAPI's threadpool. The lookup is a read-only
    transaction (on SQLite it never waits behind a writer); the last-used write happens only when
    the stored time is a minute old.
    """
    now = now or utcnow()
    with read_session(engine) as session:
        row = session.exec(select(ApiToken).where(col(ApiToken.token_hash) == _hash(token))).first()
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
        _record_use(engine, row.id, now)
    return Principal(name=row.name or f"token {row.id}", role=row.role, district_lgd=row.district_lgd)


def _record_use(engine: Engine, token_id: int | None, now: datetime) -> None:
    # Guarded: of the requests (on any replica) that all read a stale time, one writes; the others
    # match no row. A locked SQLite costs the caller nothing but this minute's last-used time.
    stale = or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) <= now - LAST_USED_EVERY)
    try:
        with engine.begin() as connection:
            connection.execute(update(ApiToken).where(col(ApiToken.id) == token_id, stale).values(last_used_at=now))
    except OperationalError as exc:
        if not is_locked(exc):
            raise
        log.warning("token last-used time not recorded: database locked", extra={"token_id": token_id})
