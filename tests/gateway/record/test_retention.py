"""`cpgw purge` erases what identifies a reporter and keeps the audit trail; `cpgw rotate-key`
re-encrypts every stored number so the old secret can be dropped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.infra.crypto import PhoneCipher
from gateway.record.models import Case, CaseEvent, Message, OptOut, ReporterContact
from gateway.record.retention import purge_closed, rotate_stored_keys
from gateway.referrals.cases import NewReport, create_case

OLD, NEW = "old-secret-key-0123456789abcdef", "new-secret-key-0123456789abcdef"


def report(engine, cipher, phone: str = "+919833300001") -> Case:  # type: ignore[no-untyped-def]
    case, _ = create_case(engine=engine, cipher=cipher, report=NewReport(
        source_key=f"test:{uuid.uuid4()}", village_lgd=9001111, concern="other", urgent=False, channel="sms",
        language="en", reporter_phone=phone))
    return case


def test_purge_erases_numbers_of_old_closed_cases_and_keeps_their_history(demo):
    cipher = PhoneCipher(OLD)
    old, recent = report(demo, cipher), report(demo, cipher, "+919833300002")
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with Session(demo) as session:
        for case in (old, recent):
            row = session.get(Case, case.id)
            row.status = "resolved"
            row.updated_at = long_ago if case is old else datetime.now(UTC)
            session.add(row)
        session.add(Message(id=uuid.uuid4().hex, dedupe_key="in:x", direction="in", kind="villager",
                            body="REPORT 9001111 12", status="received", created_at=long_ago))
        session.commit()
    summary = purge_closed(demo, datetime.now(UTC) - timedelta(days=365))
    assert (summary.cases, summary.numbers, summary.messages) == (1, 1, 1)
    with Session(demo) as session:
        assert session.get(ReporterContact, old.id) is None
        assert session.get(ReporterContact, recent.id) is not None
        kinds = [e.kind for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == old.id))]
        assert kinds[0] == "reported" and kinds[-1] == "purged"
        assert session.exec(select(Message).where(Message.dedupe_key == "in:x")).one().body == ""


def test_purge_refuses_a_date_within_the_year(settings, engine, monkeypatch):
    monkeypatch.setenv("CPGW_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CPGW_DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    recent = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d")
    assert runner.invoke(app, ["purge", "--closed-before", recent]).exit_code == 2
    assert runner.invoke(app, ["purge", "--closed-before", "31/03/2025"]).exit_code == 2
    assert runner.invoke(app, ["purge", "--closed-before", "2020-01-01"]).exit_code == 0


def test_rotation_re_encrypts_and_re_tags_everything(demo):
    old = PhoneCipher(OLD)
    case = report(demo, old)
    with Session(demo) as session:
        session.add(OptOut(phone_tag=old.tag("+919833300003"), phone_encrypted=old.encrypt("+919833300003")))
        session.add(Message(id=uuid.uuid4().hex, dedupe_key="reply:y", direction="out", kind="reply",
                            to_encrypted=old.encrypt("+919833300004"), body="hi"))
        session.commit()
    summary = rotate_stored_keys(demo, PhoneCipher(NEW, previous=[OLD]))
    assert (summary.reporter_numbers, summary.messages, summary.opt_outs) == (1, 1, 1)
    new_only = PhoneCipher(NEW)
    with Session(demo) as session:
        contact = session.get(ReporterContact, case.id)
        assert new_only.decrypt(contact.phone_encrypted) == "+919833300001"
        assert contact.phone_tag == new_only.tag("+919833300001")
        assert session.get(OptOut, new_only.tag("+919833300003")) is not None
        message = session.exec(select(Message).where(Message.dedupe_key == "reply:y")).one()
        assert new_only.decrypt(message.to_encrypted) == "+919833300004"
    assert old.decrypt(contact.phone_encrypted) is None  # the old secret no longer opens anything


def test_rotate_key_command_with_the_generated_key(settings, engine, monkeypatch):
    for name in ("CPGW_DATA_DIR", "CPGW_DATABASE_URL"):
        monkeypatch.setenv(name, str(settings.data_dir) if name == "CPGW_DATA_DIR" else settings.resolved_database_url)
    monkeypatch.delenv("CPGW_SECRET_KEY", raising=False)
    monkeypatch.chdir(settings.data_dir)
    (settings.data_dir / "secret.key").write_text(OLD)
    result = CliRunner().invoke(app, ["rotate-key"])
    assert result.exit_code == 0, result.output
    assert (settings.data_dir / "secret.key.previous").read_text() == OLD
    assert (settings.data_dir / "secret.key").read_text() != OLD
