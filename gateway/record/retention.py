"""Keeping personal data no longer than needed, and re-keying it: `cpgw purge`, `cpgw rotate-key`.

Purging a closed case erases what could identify a reporter (their number, what a villager typed)
and keeps the audit trail the law asks for (the case, its events, who did what and when, the
alerts sent). Rotating the key re-encrypts every stored number under the current secret and
recomputes the keyed hashes (tags) that depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from gateway.infra.crypto import PhoneCipher
from gateway.record.models import (
    Case,
    CaseEvent,
    Message,
    MissedCall,
    OptOut,
    ReporterContact,
)

PURGED = ""


@dataclass(frozen=True)
class PurgeSummary:
    cases: int
    numbers: int
    messages: int


def purge_closed(engine: Engine, before: datetime) -> PurgeSummary:
    """Erase the reporter's number of cases resolved before `before`, and villagers' messages older.

    Villagers' messages are not tied to a case (a conversation may never become one), so what they
    typed and the encrypted number their replies went to are erased by age alone.
    """
    with Session(engine) as session:
        ids = list(session.exec(select(Case.id).where(col(Case.status) == "resolved", col(Case.updated_at) < before)))
        numbers = session.execute(delete(ReporterContact).where(col(ReporterContact.case_id).in_(ids))).rowcount
        session.execute(update(Case).where(col(Case.id).in_(ids)).values(callback=False))
        typed = session.execute(
            update(Message).where(col(Message.kind) == "villager", col(Message.created_at) < before,
                                  col(Message.body) != PURGED).values(body=PURGED)
        ).rowcount
        addressed = session.execute(
            update(Message).where(col(Message.to_encrypted).is_not(None), col(Message.created_at) < before)
            .values(to_encrypted=None)
        ).rowcount
        # A missed call's number once the DCPU called back (issue 19): the request stays, as a count.
        called = session.execute(
            update(MissedCall).where(col(MissedCall.status) == "called_back", col(MissedCall.created_at) < before,
                                     col(MissedCall.phone_encrypted) != PURGED).values(phone_encrypted=PURGED)
        ).rowcount
        for case_id in ids:
            session.add(CaseEvent(case_id=case_id, kind="purged", detail={"before": before.date().isoformat()}))
        session.commit()
    return PurgeSummary(cases=len(ids), numbers=numbers + called, messages=typed + addressed)


@dataclass(frozen=True)
class RotationSummary:
    reporter_numbers: int
    messages: int
    opt_outs: int
    missed_calls: int = 0


def rotate_stored_keys(engine: Engine, cipher: PhoneCipher) -> RotationSummary:
    """Re-encrypt (and re-tag) every stored number under the cipher's current key, in one transaction."""
    with Session(engine) as session:
        contacts = session.exec(select(ReporterContact)).all()
        for contact in contacts:
            contact.phone_encrypted = cipher.rotate(contact.phone_encrypted)
            contact.phone_tag = cipher.tag(cipher.decrypt(contact.phone_encrypted) or "")
            session.add(contact)
        messages = session.exec(select(Message).where(col(Message.to_encrypted).is_not(None))).all()
        for message in messages:
            message.to_encrypted = cipher.rotate(message.to_encrypted or "")
            session.add(message)
        calls = session.exec(select(MissedCall).where(col(MissedCall.phone_encrypted) != PURGED)).all()
        for call in calls:
            call.phone_encrypted = cipher.rotate(call.phone_encrypted)
            call.phone_tag = cipher.tag(cipher.decrypt(call.phone_encrypted) or "")
            session.add(call)
        opt_outs = session.exec(select(OptOut).where(col(OptOut.phone_encrypted).is_not(None))).all()
        retagged = [(row, cipher.rotate(row.phone_encrypted or "")) for row in opt_outs]
        for row, _ in retagged:
            session.delete(row)
        session.flush()
        for row, token in retagged:
            session.merge(OptOut(phone_tag=cipher.tag(cipher.decrypt(token) or ""), phone_encrypted=token, at=row.at))
        session.commit()
    return RotationSummary(len(contacts), len(messages), len(retagged), len(calls))
