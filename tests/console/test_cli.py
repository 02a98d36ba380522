"""`cpgw user create USERNAME --role ROLE [--district LGD]`: the password from CPGW_NEW_PASSWORD,
else asked twice; and the console's tables match their migration."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from gateway.record.models import utcnow
from gateway.web.console.users import authenticate
from tests.console.conftest import PASSWORD


def test_user_create_takes_the_password_from_the_environment(cli, demo, monkeypatch):
    monkeypatch.setenv("CPGW_NEW_PASSWORD", PASSWORD)
    result = cli("user", "create", "meera", "--role", "district", "--district", "9001", "--name", "Meera Devi")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "meera" in result.output
    signed_in = authenticate(demo, "meera", PASSWORD, utcnow()).staff
    assert signed_in is not None and (signed_in.role, signed_in.district_lgd, signed_in.actor) == (
        "district", 9001, "Meera Devi (meera)")


def test_user_create_asks_for_the_password_twice(cli, demo, monkeypatch):
    monkeypatch.delenv("CPGW_NEW_PASSWORD", raising=False)
    result = cli("user", "create", "asha", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert authenticate(demo, "asha", PASSWORD, utcnow()).staff is not None
    mismatch = cli("user", "create", "ravi", "--role", "viewer", input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()


def test_user_create_refuses_what_makes_no_sense(cli, monkeypatch):
    monkeypatch.setenv("CPGW_NEW_PASSWORD", PASSWORD)
    assert cli("user", "create", "x", "--role", "district").exit_code == 2
    assert cli("user", "create", "x", "--role", "root").exit_code == 2
    assert cli("user", "create", "x", "--role", "district", "--district", "424242").exit_code == 2
    monkeypatch.setenv("CPGW_NEW_PASSWORD", "short")
    assert cli("user", "create", "x", "--role", "admin").exit_code == 2
    monkeypatch.setenv("CPGW_NEW_PASSWORD", PASSWORD)
    assert cli("user", "create", "x", "--role", "admin").exit_code == 0
    assert cli("user", "create", "X", "--role", "admin").exit_code == 2  # taken (names are case-insensitive)


def test_the_migrations_create_what_the_models_describe(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    console = [d for d in diff if any(name in str(d) for name in ("'user'", "loginthrottle", "consoleaudit"))]
    assert console == []


def test_a_workers_phone_for_duty_reminders(cli, demo, monkeypatch):
    monkeypatch.setenv("CPGW_NEW_PASSWORD", PASSWORD)
    assert cli("user", "create", "po", "--role", "district", "--district", "9001", "--phone", "12").exit_code == 2
    assert cli("user", "create", "po", "--role", "district", "--district", "9001", "--phone", "+919876500001").exit_code == 0
    assert "+919876500001" in cli("user", "list").output
    assert cli("user", "phone", "po", "not a phone").exit_code == 2
    assert cli("user", "phone", "nobody", "+919876500002").exit_code == 1
    assert cli("user", "phone", "PO", "09876500002").exit_code == 0  # read as an Indian mobile
    assert "+919876500002" in cli("user", "list").output
    assert cli("user", "phone", "po").exit_code == 0
    assert "+9198765" not in cli("user", "list").output
