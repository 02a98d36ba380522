"""Console logins: argon2 hashes, and a lock-out after repeated failures that holds on every replica.

Failures are counted per username in SQL (`LoginThrottle`), not per process: an attacker who is
spread over the replicas behind a load balancer meets the same count. Unknown usernames are
counted too and cost the same argon2 work, so neither the lock-out nor the answer time tells
whether a username exists. The price is that anyone can lock a known username out for
`LOCK_FOR`; that is the lesser evil for a system that guards children's cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.infra.phones import to_e164
from gateway.record.models import LoginThrottle, Place, User, utcnow
from gateway.referrals.actions import Principal
from gateway.web.auth import ROLES
from gateway.web.console.reading import read_only

MAX_FAILURES = 5  # within WINDOW …
WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)  # … locks the username this long
MIN_PASSWORD = 10
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that the answer takes as long as for a real one.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserError(ValueError):
    """A user request that makes no sense (bad role, missing district, weak password, taken name)."""


@dataclass(frozen=True)
class StaffMember:
    """Who is signed in to the console, read from SQL on every request (a role change applies at once)."""

    id: int
    username: str
    name: str
    role: str
    district_lgd: int | None
    session_epoch: int

    @property
    def actor(self) -> str:
        """How the audit trail names them: the person and the login, e.g. `Meera Devi (meera)`."""
        return f"{self.name} ({self.username})" if self.name else self.username

    @property
    def principal(self) -> Principal:
        """The same scope rules as API tokens (gateway.web.auth)."""
        return Principal(name=self.actor, role=self.role, district_lgd=self.district_lgd)


def _staff(user: User) -> StaffMember:
    assert user.id is not None
    return StaffMember(user.id, user.username, user.name, user.role, user.district_lgd, user.session_epoch)


def normalise_username(username: str) -> str:
    return username.strip().lower()[:64]


def create_user(engine: Engine, *, username: str, password: str, role: str, district_lgd: int | None,
                name: str = "", phone: str | None = None) -> StaffMember:
    username = normalise_username(username)
    mobile = to_e164(phone) if phone else None
    if phone and mobile is None:
        raise UserError(f"phone: {phone!r} is not a mobile number (+91…)")
    if not username or not set(username) <= USERNAME_CHARS:
        raise UserError("username: letters, digits and . _ - @ only")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == "district" and district_lgd is None:
        raise UserError("a district user needs --district LGD")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters long")
    with Session(engine, expire_on_commit=False) as session:
        if district_lgd is not None:
            place = session.get(Place, {"level": "district", "lgd_code": district_lgd})
            if place is None or place.level != "district":
                raise UserError(f"no district with LGD code {district_lgd} in the directory")
        user = User(username=username, name=name.strip()[:200], role=role,
                    district_lgd=district_lgd if role == "district" else None,
                    password_hash=_hasher.hash(password), phone=mobile)
        session.add(user)
        try:
            session.commit()
        except IntegrityError as exc:
            raise UserError(f"user {username!r} already exists") from exc
        return _staff(user)


def staff_by_id(engine: Engine, user_id: int, epoch: int) -> StaffMember | None:
    """The signed-in user if the account is still active and the session not ended since."""
    with read_only(engine) as session:
        user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return _staff(user)


def end_sessions(engine: Engine, user_id: int) -> None:
    """Sign-out: every cookie issued so far for this user stops working, on every replica."""
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is not None:
            user.session_epoch += 1
            session.add(user)
            session.commit()


def deactivate_user(engine: Engine, username: str) -> StaffMember | None:
    """`cpgw user deactivate`: the login can no longer sign in, and every session it has ends now.

    One UPDATE both clears `active` and bumps the epoch (no read-then-write to race with a
    sign-out). Returns None when no user has this username.
    """
    username = normalise_username(username)
    with Session(engine, expire_on_commit=False) as session:
        session.exec(update(User).where(col(User.username) == username)
                     .values(active=False, session_epoch=col(User.session_epoch) + 1))
        user = session.exec(select(User).where(col(User.username) == username)).first()
        session.commit()
        return _staff(user) if user is not None else None


def set_phone(engine: Engine, username: str, phone: str) -> StaffMember | None:
    """`cpgw user phone`: where a worker's reminders go (an empty phone: nowhere). None: no such user."""
    mobile = to_e164(phone) if phone.strip() else None
    if phone.strip() and mobile is None:
        raise UserError(f"phone: {phone!r} is not a mobile number (+91…)")
    username = normalise_username(username)
    with Session(engine, expire_on_commit=False) as session:
        session.exec(update(User).where(col(User.username) == username).values(phone=mobile))
        user = session.exec(select(User).where(col(User.username) == username)).first()
        session.commit()
        return _staff(user) if user is not None else None


@dataclass(frozen=True)
class LoginResult:
    staff: StaffMember | None
    locked_until: datetime | None = None  # set when the username is locked out


def authenticate(engine: Engine, username: str, password: str, now: datetime) -> LoginResult:
    """Check a password, counting failures; a locked username is refused without checking."""
    username = normalise_username(username)
    with read_only(engine) as session:
        throttle = session.get(LoginThrottle, username)
        if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
            return LoginResult(None, throttle.locked_until)
        user = session.exec(select(User).where(col(User.username) == username)).first()
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password[:1024]) and stored is not _DUMMY_HASH
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        return LoginResult(None, _record_failure(engine, username, now))
    with Session(engine) as session:
        row = session.get(User, user.id)
        assert row is not None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        row.last_login_at = utcnow()
        session.add(row)
        found = session.get(LoginThrottle, username)
        if found is not None:
            session.delete(found)
        session.commit()
        return LoginResult(_staff(row))


def _record_failure(engine: Engine, username: str, now: datetime) -> datetime | None:
    """Count one failure; returns the lock-out's end when this failure triggers one."""
    for _ in range(2):  # a concurrent first failure may insert the row between our read and write
        with Session(engine) as session:
            row = session.exec(select(LoginThrottle).where(col(LoginThrottle.username) == username)
                               .with_for_update()).first()
            if row is None:
                row = LoginThrottle(username=username, failures=0, window_started_at=now)
            if row.window_started_at + WINDOW < now or (row.locked_until is not None and row.locked_until <= now):
                row.failures, row.window_started_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= MAX_FAILURES:
                row.locked_until = now + LOCK_FOR
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                continue
            return row.locked_until
    return None
