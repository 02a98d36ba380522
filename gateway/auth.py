"""API bearer tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.models import ApiToken

ROLES = ("admin", "district", "viewer")


class TokenError(ValueError):
    """A token request that makes no sense (unknown role, district role without a district)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling the API, and what they may see."""

    name: str
    role: str
    district_lgd: int | None

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "district")

    def sees_district(self, district_lgd: int | None) -> bool:
        return self.role != "district" or district_lgd == self.district_lgd


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, *, role: str, district_lgd: int | None, name: str) -> str:
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}")
    if role == "district" and district_lgd is None:
        raise TokenError("a district token needs --district LGD")
    token = "cpgw_" + secrets.token_urlsafe(32)
    with Session(engine) as session:
        session.add(ApiToken(name=name, role=role, district_lgd=district_lgd, token_hash=_hash(token)))
        session.commit()
    return token


def principal_for(engine: Engine, token: str) -> Principal | None:
    with Session(engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
    if row is None or row.revoked:
        return None
    return Principal(name=row.name or f"token {row.id}", role=row.role, district_lgd=row.district_lgd)
