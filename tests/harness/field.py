"""A harness that reads like the field: phones report, committee phones expect SMS, time passes.

    field.report(village=9001111, concern="other")      # a villager dials and reports
    field.expect_sms(vcpc, "ACK")                       # the village committee's phones get the alert
    field.advance(hours=25)                             # nobody answered: the block committee is next
    field.reply(bcpc, f"ACK {ref}")
    field.expect_sms(reporter, "received")

Real Redis and SQL, the real `africastalking` SDK talking HTTP to a local stub of AT's API, and
a manual clock. Every SMS the stub receives must be expected by the test: `assert_quiet()` at the
end fails on any SMS nobody asked for.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from gateway.devtools.at_stub import Stub
from gateway.devtools.simulate import Phone
from gateway.devtools.traffic import file_report, reference_on
from gateway.infra.clock import ManualClock
from gateway.record.models import Case, Contact, Message
from gateway.referrals.worker import Worker

_numbers = itertools.count(1)


@dataclass
class Field:
    client: TestClient
    stub: Stub
    clock: ManualClock
    seen: set[str] = field(default_factory=set)  # message ids already expected
    token: str | None = None  # the webhook token, when the gateway has one (production)

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.services

    def worker(self, name: str = "w1") -> Worker:
        return Worker(self.services, name=name, audit_every=10**9)

    def run(self) -> None:
        self.worker().drain()

    def advance(self, *, minutes: float = 0, hours: float = 0) -> None:
        self.clock.advance(minutes=minutes, hours=hours)
        self.run()

    # --- villagers -------------------------------------------------------------------------------------

    def report(self, *, village: int, concern: str, urgent: bool = False, callback: bool = True,
               phone: str | None = None) -> str:
        """A complete English USSD report; returns the case reference."""
        number = phone or f"+9198765{next(_numbers):05d}"
        handset = Phone(self.client, number=number, token=self.token).dial()
        ref = reference_on(file_report(handset, village, concern, urgent=urgent, callback=callback))
        self.run()
        return ref

    # --- committee phones ------------------------------------------------------------------------------

    def contacts(self, unit: str, place: int, active: bool = True) -> list[str]:
        with Session(self.services.engine) as session:
            rows = session.exec(select(Contact).where(Contact.unit == unit, Contact.place_lgd_code == place,
                                                      Contact.active == active)).all()
        return sorted(row.phone for row in rows)

    def expect_sms(self, phone: str, *contains: str) -> str:
        """The next unseen SMS to `phone`; it must contain every fragment."""
        fresh = self._unseen(phone)
        assert fresh, f"no SMS to {phone}; sent so far: {[(s.to, s.message) for s in self.stub.sent]}"
        message_id, text = fresh[0]
        self.seen.add(message_id)
        for fragment in contains:
            assert fragment in text, f"{fragment!r} not in SMS to {phone}: {text!r}"
        return text

    def expect_no_sms(self, phone: str) -> None:
        assert not self._unseen(phone), f"unexpected SMS to {phone}: {self._unseen(phone)}"

    def assert_quiet(self) -> None:
        """Every SMS the provider received was expected by the test."""
        unexpected = [(s.to, s.message) for s in self.stub.sent if s.message_id not in self.seen]
        assert not unexpected, f"unexpected SMS: {unexpected}"

    def _unseen(self, phone: str) -> list[tuple[str, str]]:
        with self.stub.lock:
            return [(s.message_id, s.message) for s in self.stub.sent if s.to == phone and s.message_id not in self.seen]

    def reply(self, phone: str, text: str, sms_id: str | None = None) -> None:
        """An SMS from `phone`; the webhook's answer is a bare 200 whoever sends it (it reveals nothing)."""
        response = self.client.post("/webhooks/at/sms", headers=self._headers, data={
            "id": sms_id or str(uuid.uuid4()), "from": phone, "to": "1098", "text": text, "date": "2026-11-24 10:00:00"})
        assert (response.status_code, response.content) == (200, b""), response.text
        self.run()

    def deliver(self, phone: str, status: str, reason: str = "") -> None:
        """A delivery report for the last message sent to `phone`."""
        last = [s for s in self.stub.sent if s.to == phone][-1]
        response = self.client.post("/webhooks/at/sms/delivery", headers=self._headers, data={
            "id": last.message_id, "status": status, "phoneNumber": phone, "failureReason": reason})
        assert response.status_code == 200, response.text
        self.run()

    @property
    def _headers(self) -> dict[str, str]:
        return {"X-Webhook-Token": self.token} if self.token else {}

    # --- the record ------------------------------------------------------------------------------------

    def case(self, ref: str) -> Case:
        with Session(self.services.engine) as session:
            return session.exec(select(Case).where(Case.ref == ref)).one()

    def messages(self, ref: str) -> list[Message]:
        case = self.case(ref)
        with Session(self.services.engine) as session:
            return list(session.exec(select(Message).where(Message.case_id == case.id)))
