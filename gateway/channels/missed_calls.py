""""Give a missed call to report": a call to the reporting number, rejected or left to ring out, is
answered with an SMS that starts the villagers' SMS report, and leaves a call-back request that
the DCPU of the number's district sees in the console (`/console/callbacks`).

Three shapes of callback arrive at `POST /webhooks/missed-call`:
- generic: `from` (the caller), optional `to` (the number called) and `id` (the provider's call id);
- Exotel's Passthru applet (the usual Indian missed-call number): `CallSid`, `CallFrom`/`From`,
  `CallTo`/`To`;
- Africa's Talking's voice callback: `sessionId`, `callerNumber`, `destinationNumber`, `isActive`;
  AT waits for XML, and `<Reject/>` ends the call unanswered, so the caller pays nothing.

The caller's number is kept as a reporter's is (Fernet, with a keyed hash to find it again), and
everything a phone sends is rate-limited per phone (`gateway.infra.limits`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.infra import keys
from gateway.infra.crypto import PhoneCipher
from gateway.infra.limits import RateLimiter
from gateway.infra.phones import to_e164
from gateway.infra.settings import Settings, missed_call_numbers
from gateway.record.models import Message, MissedCall, utcnow
from gateway.referrals.outbox import Outbox
from menus.catalog import Catalog
from menus.dlt import dlt_id

log = logging.getLogger("cpgw.missed_calls")
TEMPLATE = "sms.missed_call"
AT_REJECT = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject/></Response>'


@dataclass(frozen=True)
class MissedCallIn:
    provider: str  # generic | exotel | africastalking
    caller: str
    called: str = ""
    call_id: str = ""
    ended: bool = False  # AT's second callback, when the call is over: nothing new to do


def read_fields(fields: Mapping[str, str]) -> MissedCallIn | None:
    """The call, from whichever provider's fields are there; None when no caller is named."""
    if "callerNumber" in fields or "sessionId" in fields:
        return MissedCallIn("africastalking", fields.get("callerNumber", ""), fields.get("destinationNumber", ""),
                            fields.get("sessionId", ""), ended=fields.get("isActive", "1") == "0")
    if "CallSid" in fields:
        return MissedCallIn("exotel", fields.get("CallFrom") or fields.get("From", ""),
                            fields.get("CallTo") or fields.get("To", ""), fields.get("CallSid", ""))
    if fields.get("from"):
        return MissedCallIn("generic", fields["from"], fields.get("to", ""), fields.get("id", ""))
    return None


@dataclass
class MissedCalls:
    settings: Settings
    engine: Engine
    redis: redis.Redis
    catalog: Catalog
    cipher: PhoneCipher
    limiter: RateLimiter
    outbox: Outbox

    def receive(self, call: MissedCallIn) -> str:
        """Record the call once, and send the reporting SMS once; returns what happened."""
        if call.ended:
            return "call ended"
        phone = to_e164(call.caller[:32])
        if phone is None:
            return "unreadable caller"
        tag = self.cipher.tag(phone)
        # As any SMS a villager sends, and a tighter allowance of its own: each call costs an SMS.
        if not self.limiter.allow("sms", tag) or not self.limiter.allow("missed_call", tag):
            return "limited"
        district, number_lang = self._number(call.called)
        lang = self.redis.get(keys.PHONE_LANGUAGE.format(phone=tag)) or number_lang or "en"
        # A provider's re-post of one call carries its id; a call without one is one a minute at most.
        source = call.call_id or f"{tag[:24]}:{int(utcnow().timestamp()) // 60}"
        row_id = uuid.uuid4().hex
        # Where to send the report: the service's SMS number, else the number called (often both).
        body = self.catalog.text(lang, TEMPLATE, number=self.settings.sms_number or to_e164(call.called) or call.called,
                                 helplines=self.settings.helpline_text())
        message = Message(id=row_id, dedupe_key=f"missed:{call.provider}:{source}"[:160], direction="out",
                          kind="reply", priority="alert", to_encrypted=self.cipher.encrypt(phone), body=body,
                          template=TEMPLATE, dlt_template_id=dlt_id(TEMPLATE))
        record = MissedCall(source_key=f"{call.provider}:{source}"[:160], provider=call.provider,
                            phone_encrypted=self.cipher.encrypt(phone), phone_tag=tag,
                            called_number=(to_e164(call.called) or call.called)[:20] or None,
                            district_lgd=district, language=lang, reply_message_id=row_id)
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add(message)
                session.add(record)
                session.commit()
        except IntegrityError:
            return "repeat"
        self.outbox.publish([message])
        log.info("missed call", extra={"provider": call.provider, "district": district})
        return "answered"

    def _number(self, called: str) -> tuple[int | None, str | None]:
        numbers = missed_call_numbers(self.settings)
        for candidate in (called, to_e164(called) if called else None, "*"):
            if candidate and candidate in numbers:
                return numbers[candidate]
        return None, None


# --- for the console ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackRequest:
    id: int
    created_at: datetime
    district_lgd: int | None
    language: str
    status: str
    called_back_at: datetime | None
    called_back_by: str | None
    calls: int  # missed calls from this phone still open, this one included


def open_requests(engine: Engine, district: int | None, *, include_done: bool = False,
                  limit: int = 200) -> list[CallbackRequest]:
    """Call-back requests, newest first; `district` None is every district (admins)."""
    with Session(engine) as session:
        query = select(MissedCall)
        if district is not None:
            query = query.where(col(MissedCall.district_lgd) == district)
        if not include_done:
            query = query.where(col(MissedCall.status) == "open")
        rows = session.exec(query.order_by(col(MissedCall.created_at).desc()).limit(limit)).all()
    counts: dict[str, int] = {}
    for row in rows:
        if row.status == "open":
            counts[row.phone_tag] = counts.get(row.phone_tag, 0) + 1
    return [CallbackRequest(row.id or 0, row.created_at, row.district_lgd, row.language, row.status,
                            row.called_back_at, row.called_back_by, counts.get(row.phone_tag, 0)) for row in rows]


def find(engine: Engine, request_id: int, district: int | None) -> MissedCall | None:
    """One request, only within `district` (None: any): another district's is as good as missing."""
    with Session(engine) as session:
        row = session.get(MissedCall, request_id)
    if row is None or (district is not None and row.district_lgd != district):
        return None
    return row


def mark_called_back(engine: Engine, row: MissedCall, who: str) -> int:
    """Close the request, and every other open one from the same phone (one call answers them all)."""
    with Session(engine) as session:
        done = session.execute(
            update(MissedCall).where(col(MissedCall.phone_tag) == row.phone_tag, col(MissedCall.status) == "open",
                                     col(MissedCall.district_lgd) == row.district_lgd if row.district_lgd is not None
                                     else col(MissedCall.district_lgd).is_(None))
            .values(status="called_back", called_back_at=utcnow(), called_back_by=who[:200]))
        session.commit()
    return int(done.rowcount or 0)
