"""API tokens expire, can be listed and revoked, and record when they were last used; console users
can be deactivated (security review finding 11). Driven through `cpgw` as an operator would."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, UTCDateTime, select

from gateway.record import db
from gateway.record.models import ApiToken, User, utcnow
from gateway.web.auth import (
    LIFETIME,
    _record_use,
    issue_token,
    list_tokens,
    principal_for,
    revoke_token,
)
from gateway.web.console.users import create_user
from tests.console.conftest import PASSWORD, Browser


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def created(result) -> str:  # type: ignore[no-untyped-def]
    """The token `cpgw token create` printed: the last line of stdout, alone."""
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip("\n").splitlines()[-1]


def stored(engine, token_id: int) -> ApiToken:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        row = session.get(ApiToken, token_id)
        assert row is not None
        return row


def test_token_create_prints_the_token_alone_on_the_last_line_and_expires_in_90_days(cli, engine):
    token = created(cli("token", "create", "--role", "viewer", "--name", "NGO dashboard"))
    assert token.startswith("cpgw_") and " " not in token
    assert principal_for(engine, token) is not None
    (info,) = list_tokens(engine)
    assert info.expires_at is not None and info.expires_at - info.created_at == LIFETIME == timedelta(days=90)

    never = cli("token", "create", "--role", "admin", "--expires-in", "0")
    assert principal_for(engine, created(never)) is not None
    assert "never expires" in never.stderr and "Warning" in never.stderr
    assert list_tokens(engine)[-1].expires_at is None
    assert cli("token", "create", "--role", "admin", "--expires-in", "-1").exit_code == 2


def test_an_expired_token_gets_401(client, engine):
    last_week = utcnow() - timedelta(days=7)
    _, expired = issue_token(engine, role="admin", district_lgd=None, name="old", lifetime=timedelta(days=1),
                             now=last_week)
    _, current = issue_token(engine, role="admin", district_lgd=None, name="new", lifetime=timedelta(days=1))
    assert client.get("/api/v1/cases", headers=bearer(expired)).status_code == 401
    assert client.get("/api/v1/cases", headers=bearer(current)).status_code == 200


def test_a_revoked_token_gets_401(cli, client, engine):
    token = created(cli("token", "create", "--role", "admin", "--name", "leaked laptop"))
    assert client.get("/api/v1/cases", headers=bearer(token)).status_code == 200
    (info,) = list_tokens(engine)
    revoked = cli("token", "revoke", str(info.id))
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert client.get("/api/v1/cases", headers=bearer(token)).status_code == 401
    unknown = cli("token", "revoke", "4242")
    assert unknown.exit_code == 1 and "No token with id 4242" in unknown.output


def test_token_list_shows_each_token_by_name_and_never_its_secret(cli, engine):
    ranchi = created(cli("token", "create", "--role", "district", "--district", "9001", "--name", "DCPU Ranchi"))
    viewer = created(cli("token", "create", "--role", "viewer", "--name", "NGO dashboard", "--expires-in", "0"))
    cli("token", "revoke", str(list_tokens(engine)[-1].id))
    listed = cli("token", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and lines[0].split()[:4] == ["ID", "NAME", "ROLE", "DISTRICT"]
    assert "DCPU Ranchi" in lines[1] and "9001" in lines[1] and lines[1].endswith("active")
    assert "NGO dashboard" in lines[2] and "never" in lines[2] and lines[2].endswith("revoked")
    hashes = [stored(engine, info.id).token_hash for info in list_tokens(engine)]
    for secret in (ranchi, viewer, ranchi.removeprefix("cpgw_"), viewer.removeprefix("cpgw_"), *hashes):
        assert secret not in listed.output


def test_last_used_is_recorded_at_most_once_a_minute(client, engine):
    info, token = issue_token(engine, role="admin", district_lgd=None, name="script")
    assert stored(engine, info.id).last_used_at is None
    writes: list[str] = []

    @sa.event.listens_for(client.app.state.services.engine, "before_cursor_execute")
    def count(_connection, _cursor, sql, *_):  # type: ignore[no-untyped-def]
        if sql.lstrip().upper().startswith("UPDATE APITOKEN"):
            writes.append(sql)

    assert client.get("/api/v1/cases", headers=bearer(token)).status_code == 200
    first = stored(engine, info.id).last_used_at
    assert first is not None and abs(utcnow() - first) < timedelta(minutes=1) and len(writes) == 1
    assert client.get("/api/v1/cases", headers=bearer(token)).status_code == 200
    assert stored(engine, info.id).last_used_at == first and len(writes) == 1  # no SQL write at all
    assert principal_for(engine, token, now=first + timedelta(seconds=59)) is not None
    assert stored(engine, info.id).last_used_at == first
    later = first + timedelta(minutes=1, seconds=1)
    assert principal_for(engine, token, now=later) is not None
    assert stored(engine, info.id).last_used_at == later
    # Another replica that read the old time before this write: its guarded UPDATE matches nothing.
    _record_use(engine, info.id, later + timedelta(seconds=1))
    assert stored(engine, info.id).last_used_at == later


def test_user_deactivate_ends_a_live_console_session(cli, client, demo):
    create_user(demo, username="meera", password=PASSWORD, role="district", district_lgd=9001, name="Meera Devi")
    person = Browser(TestClient(client.app))
    assert person.login("meera").status_code == 303
    assert person.client.get("/console", follow_redirects=False).status_code == 200

    result = cli("user", "deactivate", "Meera")  # usernames are case-insensitive
    assert result.exit_code == 0 and "deactivated" in result.output
    page = person.client.get("/console", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login")
    assert person.login("meera").status_code == 401
    with Session(demo) as session:
        user = session.exec(select(User).where(User.username == "meera")).one()
        assert (user.active, user.session_epoch) == (False, 1)  # a later re-activation revives no old cookie

    unknown = cli("user", "deactivate", "nobody")
    assert unknown.exit_code == 1 and "No console user 'nobody'" in unknown.output
    listed = cli("user", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[0].split() == ["USERNAME", "NAME", "ROLE", "DISTRICT", "PHONE", "ACTIVE", "LAST",
                                                     "LOGIN"]
    assert listed.stdout.splitlines()[1].split()[:7] == ["meera", "Meera", "Devi", "district", "9001", "-", "no"]
    assert "$argon2" not in listed.output


@pytest.mark.storage
def test_tokens_made_before_the_migration_keep_working_until_revoked(database_url):
    engine = db.make_engine(database_url)
    try:
        command.upgrade(db.alembic_config(database_url), "0005")
        made = utcnow() - timedelta(days=400)
        token = "cpgw_made-before-tokens-expired"
        apitoken = sa.table("apitoken", sa.column("name"), sa.column("role"), sa.column("token_hash"),
                            sa.column("created_at", UTCDateTime()), sa.column("revoked"))
        with engine.begin() as connection:
            connection.execute(sa.insert(apitoken).values(
                name="from 2025", role="admin", token_hash=hashlib.sha256(token.encode()).hexdigest(),
                created_at=made, revoked=False))
        db.upgrade(engine)
        (info,) = list_tokens(engine)
        assert (info.name, info.created_at, info.expires_at, info.last_used_at) == ("from 2025", made, None, None)
        assert principal_for(engine, token) is not None
        revoke_token(engine, info.id)
        assert principal_for(engine, token) is None
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert [d for d in diff if "apitoken" in str(d)] == []
    finally:
        engine.dispose()
