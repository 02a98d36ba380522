"""The record, in SQL: the directory, cases and their events, API tokens.

Split per entity as the FastAPI template does (`CaseBase` shared fields, `Case` the table,
`CasePublic` what the API shows). The reporter's number lives in its own table, encrypted, so
that no query for a case can carry it out by accident.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, and_
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def event_row(case_id: int, kind: str, detail: dict[str, Any], *, actor: str = "system",
              at: datetime | None = None) -> dict[str, Any]:
    """A `caseevent` row as a plain dict, for Core inserts (no ORM object built for it)."""
    return {"case_id": case_id, "at": at or utcnow(), "kind": kind, "actor": actor, "detail": detail}


class Place(SQLModel, table=True):
    """A place from the Local Government Directory, keyed by (level, code): LGD numbers each level
    separately, so district 606 and block 606 are two places. The chain up is denormalised for
    routing (each ancestor column holds a code at that column's level)."""

    __table_args__ = (Index("ix_place_parent", "parent_level", "parent_lgd_code"),)

    # The key's code comes first: a chain's ancestors are found by `lgd_code IN (…)` on it.
    lgd_code: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    level: str = Field(max_length=16, primary_key=True)
    name: str = Field(max_length=200)
    names: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    parent_level: str | None = Field(default=None, max_length=16)
    parent_lgd_code: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Ancestors by level, filled at import, so that "which district is this village in" is one row.
    state_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    district_lgd: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    sub_district_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    block_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    gram_panchayat_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    urban_local_body_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))


class Contact(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("phone", "unit", "place_level", "place_lgd_code", name="uq_contact_phone_unit_place"),
        Index("ix_contact_place_unit", "place_lgd_code", "place_level", "unit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=20, index=True)
    unit: str = Field(max_length=16)
    place_level: str = Field(max_length=16)
    place_lgd_code: int = Field(sa_column=Column(BigInteger, nullable=False))
    role: str = Field(default="", max_length=100)
    language: str = Field(default="en", max_length=16)
    active: bool = True


class Coverage(SQLModel, table=True):
    """A jurisdiction LGD does not describe (a police station) and a place it covers, with all below it.

    Routing finds, for a village, the stations covering it, its panchayat or its block
    (`record.routing_directory`); `cpgw directory import-coverage` writes these rows.
    """

    __table_args__ = (Index("ix_coverage_covers", "covers_lgd_code", "covers_level"),)

    place_level: str = Field(max_length=16, primary_key=True)
    place_code: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    covers_level: str = Field(max_length=16, primary_key=True)
    covers_lgd_code: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


def at_place() -> Any:
    """The join of a contact to its place: (level, code), since LGD numbers each level apart."""
    return and_(Place.level == Contact.place_level, Place.lgd_code == Contact.place_lgd_code)


class CaseBase(SQLModel):
    ref: str = Field(max_length=10, unique=True)
    status: str = Field(default="open", max_length=16, index=True)
    concern: str = Field(max_length=32)
    urgent: bool = False
    village_lgd: int = Field(sa_column=Column(BigInteger, nullable=False))
    village_level: str = Field(default="village", max_length=16)  # village, or an urban ward
    district_lgd: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    channel: str = Field(default="ussd", max_length=8)
    language: str = Field(default="en", max_length=16)
    callback: bool = False  # the reporter agreed to be called back
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Case(CaseBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Idempotency: one case per USSD session or SMS id, however often the provider retries.
    source_key: str = Field(max_length=120, unique=True)
    block_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    ladder: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    step: int = 0
    round: int = 0  # how many times the last step has been repeated
    due_at: datetime | None = None  # when the current step must be acknowledged by
    overdue: bool = Field(default=False, index=True)  # the last step's deadline has passed
    acknowledged_unit: str | None = Field(default=None, max_length=16)
    acknowledged_name: str | None = Field(default=None, max_length=200)
    assigned_to: str | None = Field(default=None, max_length=64, index=True)  # a console user's username
    updated_at: datetime = Field(default_factory=utcnow)

    def place_keys(self) -> dict[str, tuple[str, int] | None]:
        """The case's village (or ward), block and district as (level, code) place keys."""
        return {"village": (self.village_level, self.village_lgd),
                "block": ("block", self.block_lgd) if self.block_lgd else None,
                "district": ("district", self.district_lgd) if self.district_lgd else None}


class ReporterContact(SQLModel, table=True):
    """The number of a reporter who agreed to a call-back, encrypted, apart from the case."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    phone_encrypted: str = Field(max_length=500)
    phone_tag: str | None = Field(default=None, max_length=64, index=True)  # keyed hash, for STOP


class CaseDuty(SQLModel, table=True):
    """A duty the law sets after an acknowledgement (routing.duties): FIR, CWC production, a visit.

    Planned once, at the first acknowledgement; `round` counts how often an overdue duty has been
    chased (0: not yet), so each chase is deduplicated like an alert.
    """

    __table_args__ = (UniqueConstraint("case_id", "key", name="uq_case_duty"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    key: str = Field(max_length=32)
    name: str = Field(max_length=200)
    owners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    keyword: str = Field(max_length=32)
    law: str = Field(default="", max_length=300)
    due_at: datetime
    status: str = Field(default="open", max_length=16, index=True)  # open | done | not_applicable
    done_at: datetime | None = None
    done_by: str | None = Field(default=None, max_length=200)
    details: str = Field(default="", max_length=500)
    round: int = 0
    repeat_every: int = 12 * 3600
    overdue: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class CaseEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=32)
    actor: str = Field(default="system", max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ApiToken(SQLModel, table=True):
    """An API bearer token (`cpgw token create`); only its SHA-256 hash is kept.

    `expires_at` None: the token works until revoked (tokens made before migration 0006, or with
    `--expires-in 0`). `last_used_at` is written at most once a minute (gateway.web.auth), so that an
    operator can tell a dormant token from a live one without a write on every API request.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    district_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked: bool = False


MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "received", "handled")


class Message(SQLModel, table=True):
    """Every SMS in or out. The outbox stream carries only the id; this row is the truth.

    Only committee members' numbers are kept in clear (`to_phone`, to match their replies). A
    follow-up to a reporter finds the number in `reportercontact`, a reply to a villager carries
    it encrypted (`to_encrypted`); either is decrypted only at the moment of sending.
    """

    __table_args__ = (Index("ix_message_case_created", "case_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    dedupe_key: str = Field(max_length=160, unique=True)  # one alert per case, step, round and phone
    case_id: int | None = Field(default=None, foreign_key="case.id")
    direction: str = Field(max_length=3)  # "out" or "in"
    kind: str = Field(max_length=16)  # alert, reminder, reply, follow_up, command
    priority: str = Field(default="alert", max_length=8)  # alert | bulk: alerts leave first
    to_phone: str | None = Field(default=None, max_length=20, index=True)
    to_encrypted: str | None = Field(default=None, max_length=500)  # a villager's number (Fernet)
    from_phone: str | None = Field(default=None, max_length=20)
    unit: str | None = Field(default=None, max_length=16)
    contact_name: str | None = Field(default=None, max_length=200)
    step: int | None = None
    body: str = Field(max_length=1600)
    template: str | None = Field(default=None, max_length=40)
    dlt_template_id: str | None = Field(default=None, max_length=40)  # TRAI DLT registration it matches
    status: str = Field(default="queued", max_length=12, index=True)
    provider_id: str | None = Field(default=None, max_length=64, unique=True)
    provider_status: str | None = Field(default=None, max_length=40)
    failure_reason: str | None = Field(default=None, max_length=200)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OptOut(SQLModel, table=True):
    """Phones (as keyed hashes) that replied STOP: no follow-up SMS goes to them.

    The number is also kept encrypted, only so that `cpgw rotate-key` can compute its new tag.
    """

    phone_tag: str = Field(primary_key=True, max_length=64)
    phone_encrypted: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow)


# --- the DCPU console ------------------------------------------------------------------------------


class User(SQLModel, table=True):
    """A console login (`cpgw user create`). Only an argon2 hash of the password is kept.

    `session_epoch` is copied into every session cookie; bumping it (sign-out, deactivation) ends
    all of the user's sessions on every replica at once, without a server-side session store.
    """

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=200)  # shown in the audit trail with the username
    role: str = Field(max_length=16)  # admin | district | viewer, as API tokens
    district_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    password_hash: str = Field(max_length=200)
    active: bool = True
    session_epoch: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    phone: str | None = Field(default=None, max_length=20)  # E.164: SMS reminders for the cases assigned to them


class LoginThrottle(SQLModel, table=True):
    """Failed console logins per username, in SQL so that a lock-out holds on every replica."""

    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    window_started_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None


class ConsoleAudit(SQLModel, table=True):
    """What console users changed outside a case (contacts, directory imports): who, when, what."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- missed calls (issue 19) -----------------------------------------------------------------------


class MissedCall(SQLModel, table=True):
    """A missed call to the reporting number: the caller got the SMS that starts a report, and the
    DCPU of `district_lgd` sees a call-back request until someone marks it called back.

    The caller's number is kept as a reporter's is: encrypted, with a keyed hash to find it again.
    `source_key` makes a provider's re-post of the same call one row.
    """

    __table_args__ = (Index("ix_missedcall_district_status", "district_lgd", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=160, unique=True)
    provider: str = Field(max_length=24)  # generic, exotel, africastalking
    phone_encrypted: str = Field(max_length=500)
    phone_tag: str = Field(max_length=64, index=True)
    called_number: str | None = Field(default=None, max_length=20)
    district_lgd: int | None = Field(default=None, sa_column=Column(BigInteger))
    language: str = Field(default="en", max_length=16)
    status: str = Field(default="open", max_length=16)  # open | called_back
    reply_message_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    called_back_at: datetime | None = None
    called_back_by: str | None = Field(default=None, max_length=200)
