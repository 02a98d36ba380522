"""Incoming SMS: committee members' commands, and delivery reports for what we sent.

Africa's Talking re-posts an incoming SMS every minute for 12 hours until it gets a 200, so each
`id` is recorded once (a unique key in SQL) and has one effect; a repeat is answered 200 and
ignored. Only a contact alerted for a case may act on it; anyone else gets a reply that says
nothing about the case, not even whether it exists.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from gateway.channels.villagers import VillagerSms
from gateway.infra.crypto import PhoneCipher
from gateway.infra.limits import RateLimiter
from gateway.infra.metrics import Metrics
from gateway.infra.phones import to_e164
from gateway.record.models import Case, CaseEvent, Contact, Message, utcnow
from gateway.referrals import actions
from gateway.referrals.actions import Principal
from gateway.referrals.loop import Referrals
from menus.catalog import Catalog
from menus.commands import Command, parse
from menus.dlt import dlt_id
from menus.keywords import intent, words
from routing.lifecycle import IST

log = logging.getLogger("cpgw.sms")
RETRY_UNFINISHED_AFTER = timedelta(seconds=45)  # longer than any live try (SQLite waits 30 s)
FINAL_FAILURES = {"Failed", "Rejected", "AbsentSubscriber", "Expired"}
IN_FLIGHT = {"Sent", "Submitted", "Buffered", "Queued"}
ALERTED = ("alert", "reminder", "duty", "notice")  # what makes a contact one who may act on a case
_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "failed": 2}


@dataclass(frozen=True)
class IncomingSms:
    sms_id: str
    sender: str
    text: str
    received_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryReport:
    provider_id: str
    status: str  # Africa's Talking's words (Kannel's DLR codes are mapped onto them: channels/kannel.py)
    failure_reason: str = ""
    message_id: str = ""  # ours, when the provider reports by it (Kannel's dlr-url carries it)


@dataclass
class SmsService:
    engine: Engine
    catalog: Catalog
    referrals: Referrals
    metrics: Metrics
    villagers: VillagerSms
    limiter: RateLimiter
    cipher: PhoneCipher

    # --- replies -------------------------------------------------------------------------------------

    def receive(self, sms: IncomingSms) -> str:
        """Handle one incoming SMS once; returns what happened (for logs and tests)."""
        phone = to_e164(sms.sender)
        with Session(self.engine) as session:
            # Only active contacts act: a deactivated member's number (or a recycled SIM) is a villager's.
            contacts = session.exec(select(Contact).where(Contact.phone == phone, col(Contact.active).is_(True))
                                    ).all() if phone else []
        command = parse(sms.text, self.referrals.rules.duties.keywords)
        first = words(sms.text)[:1]
        if first and intent(first[0])[0] == "report":
            contacts = []  # a one-line report, even from a committee member: the villagers' channel
        # A villager's number is not kept in clear, even on the record of what they sent.
        record = Message(
            id=uuid.uuid4().hex, dedupe_key=f"in:{sms.sms_id}"[:160], direction="in",
            kind="command" if contacts else "villager", from_phone=phone if contacts else None,
            body=sms.text[:1600], status="received",
            unit=contacts[0].unit if contacts else None, contact_name=contacts[0].name if contacts else None,
        )
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add(record)
                session.commit()
        except IntegrityError:
            earlier = self._unfinished(record.dedupe_key)
            if earlier is None:
                self.metrics.sms_received.labels("repeat").inc()
                return "repeat"
            record = earlier  # handling it failed before (SQL went down mid-way): do it now
        if phone is None:
            self._mark_handled(record)
            self.metrics.sms_received.labels("unreadable sender").inc()
            return "unreadable sender"
        try:
            outcome = self._handle(sms, phone, contacts, command)
            self._mark_handled(record)
        except (redis.RedisError, SQLAlchemyError):
            # The caller answers 503 and Africa's Talking posts the SMS again: forget that we saw
            # it, or the re-post would be dropped as a repeat and the report (or ACK) lost. Every
            # effect of handling is keyed on the SMS id, so doing it again does it once.
            self._forget(record)
            raise
        self.metrics.sms_received.labels(outcome).inc()
        # The outcome goes to the log (and metrics), never to the caller: see the webhook.
        log.info("sms received", extra={"sms_id": sms.sms_id[:120], "outcome": outcome})
        return outcome

    def _handle(self, sms: IncomingSms, phone: str, contacts: list[Contact], command: Command | None) -> str:
        if not contacts:
            return f"villager {self.villagers.handle(sms.sms_id, phone, sms.text)}"
        lang = contacts[0].language
        outcome, reply_key, values, case = self._command(phone, {c.unit for c in contacts}, lang, command)
        self._reply(phone, lang, reply_key, values, sms.sms_id, case)
        return outcome

    def _unfinished(self, dedupe_key: str) -> Message | None:
        """An earlier post of this SMS whose handling never finished, claimed for another try.

        Only once it has been left alone for `RETRY_UNFINISHED_AFTER` (Africa's Talking posts again
        after a minute), so that two posts arriving together are not both handled; the claim is a
        guarded UPDATE, so two workers cannot both take it.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.exec(select(Message).where(Message.dedupe_key == dedupe_key)).first()
            if row is None or row.status != "received" or row.updated_at > utcnow() - RETRY_UNFINISHED_AFTER:
                return None
            claimed = session.execute(
                update(Message).where(col(Message.id) == row.id, col(Message.updated_at) == row.updated_at)
                .values(updated_at=utcnow())
            )
            session.commit()
        return row if claimed.rowcount == 1 else None

    def _mark_handled(self, record: Message) -> None:
        with Session(self.engine) as session:
            session.execute(update(Message).where(col(Message.id) == record.id).values(status="handled"))
            session.commit()

    def _forget(self, record: Message) -> None:
        try:
            with Session(self.engine) as session:
                session.execute(delete(Message).where(col(Message.id) == record.id))
                session.commit()
        except SQLAlchemyError:
            log.error("could not forget a failed incoming SMS; its re-post will be taken as a repeat")

    def _command(
        self, phone: str, units: set[str], lang: str, command: Command | None
    ) -> tuple[str, str, dict[str, object], Case | None]:
        if command is None or command.verb == "HELP":
            return "help", "sms.help", {}, None
        if command.bad_ref:
            return "bad_ref", "sms.bad_ref", {}, None
        alerted = self._alerted_cases(phone, units)
        if command.ref is None:
            if command.verb == "DUTY":
                return "help", "sms.duty_usage", {}, None
            if command.verb != "ACK":
                return "help", "sms.help", {}, None
            open_cases = [case for case in alerted.values() if case.status == "open"]
            if len(open_cases) != 1:
                key = "sms.none_open" if not open_cases else "sms.which"
                return "ambiguous", key, {"count": len(open_cases)}, None
            case = open_cases[0]
        else:
            found = next((case for case in alerted.values() if case.ref == command.ref), None)
            if found is None:
                return "not_alerted", "sms.not_found", {}, None
            case = found
        return self._act(case, phone, units, lang, command)

    def _act(
        self, case: Case, phone: str, units: set[str], lang: str, command: Command
    ) -> tuple[str, str, dict[str, object], Case | None]:
        """The command, through the action layer every door uses (`gateway.referrals.actions`)."""
        unit, name = self._who(case, phone, units)
        who = actions.committee(name, unit)
        values: dict[str, object] = {"ref": case.ref}
        try:
            if command.verb == "ACK":
                actions.acknowledge(self.referrals, case, unit=unit, name=name, who=who)
                return "acknowledged", "sms.ack_ok", values, case
            if command.verb == "DONE":
                actions.propose_closure(self.referrals, case, note=command.note or "closed by SMS", who=who)
                return "closure_proposed", "sms.closure_proposed", values, case
            if command.verb == "ESC":
                return self._escalate(case, phone, who, command)
            if command.verb == "DUTY" and command.duty:
                return self._duty(case, lang, who, command)
        except actions.ActionRefused as exc:
            if exc.reason == "not_yours" and command.verb == "DUTY":
                return "duty_refused", "sms.duty_not_yours", {**values, **self._duty_values(case, lang, command)}, case
            if exc.reason == "unknown":
                return "duty_unknown", "sms.duty_unknown", values, case
            if exc.reason == "not_yours":
                return "done_refused", "sms.done_not_yours", values, case
            if exc.reason == "early":
                return "esc_early", "sms.esc_wait", values, case
            return "stale", *self._state_reply(self._fresh(case), lang), case
        return "status", *self._state_reply(case, lang), case

    def _escalate(self, case: Case, phone: str, who: Principal, command: Command
                  ) -> tuple[str, str, dict[str, object], Case | None]:
        """`ESC`: pass the case up now; once per contact and case an hour (a second re-pages nobody)."""
        allowance = f"{case.id}:{self.cipher.tag(phone)}"
        if self.limiter.spent("escalate", allowance):
            return "esc_limited", "sms.esc_wait", {"ref": case.ref}, case
        actions.escalate(self.referrals, case, reason=command.note, who=who)
        self.limiter.allow("escalate", allowance)  # counted once it went through: a refused ESC costs nothing
        return "escalated", "sms.esc_ok", {"ref": case.ref}, case

    def _duty(self, case: Case, lang: str, who: Principal, command: Command
              ) -> tuple[str, str, dict[str, object], Case | None]:
        """`FIR 123456789 45/2026`: the duty the keyword names, recorded with what followed the number."""
        assert command.duty is not None
        actions.record_duty(self.referrals, case, command.duty, details=command.note, who=who)
        return "duty_recorded", "sms.duty_ok", {"ref": case.ref, **self._duty_values(case, lang, command)}, case

    def _duty_values(self, case: Case, lang: str, command: Command) -> dict[str, object]:
        rule = self.referrals.rules.duties.rule(case.concern, command.duty or "")
        name = rule.name if rule else command.duty or ""
        return {"duty": self.referrals.desk.duty_name(lang, command.duty or "", name)}

    def _state_reply(self, case: Case, lang: str) -> tuple[str, dict[str, object]]:
        """The case's state in the contact's language: "already taken up by the block committee at …"."""
        if case.status == "acknowledged" and case.acknowledged_unit:
            at = case.updated_at.astimezone(IST).strftime("%d %b %H:%M") if case.updated_at else ""
            unit = self.referrals.unit_name(lang, case.acknowledged_unit)
            return "sms.already_ack", {"ref": case.ref, "unit": unit, "time": at}
        if case.status in ("resolved", "closure_proposed"):
            return "sms.already_done", {"ref": case.ref}
        return "sms.status", {"ref": case.ref, "status": self.catalog.text(lang, f"status.{case.status}")}

    def _alerted_cases(self, phone: str, units: set[str]) -> dict[int, Case]:
        """Cases this number was alerted for (or chased about a duty) as a member of a unit it is still
        an active contact of."""
        with Session(self.engine) as session:
            ids = session.exec(select(Message.case_id).where(
                col(Message.to_phone) == phone, col(Message.kind).in_(ALERTED),
                col(Message.unit).in_(units))).all()
            cases = session.exec(select(Case).where(col(Case.id).in_(set(ids)))).all() if ids else []
        return {case.id or 0: case for case in cases}

    def _who(self, case: Case, phone: str, units: set[str]) -> tuple[str, str]:
        with Session(self.engine) as session:
            alert = session.exec(select(Message).where(
                col(Message.case_id) == case.id, col(Message.to_phone) == phone, col(Message.unit).in_(units),
                col(Message.kind).in_(ALERTED)).order_by(col(Message.created_at).desc())).first()
        return (alert.unit or "", alert.contact_name or "") if alert else ("", "")

    def _fresh(self, case: Case) -> Case:
        with Session(self.engine) as session:
            return session.get(Case, case.id) or case

    def _reply(self, phone: str, lang: str, key: str, values: dict[str, object], sms_id: str, case: Case | None) -> None:
        body = self.catalog.text(lang, key, **{"ref": "", **values})  # unused values are ignored
        message = Message(id=uuid.uuid4().hex, dedupe_key=f"reply:{sms_id}"[:160], case_id=case.id if case else None,
                          direction="out", kind="reply", priority="alert", to_phone=phone, body=body, template=key,
                          dlt_template_id=dlt_id(key))
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add(message)
                session.commit()
        except IntegrityError:
            return  # this SMS was answered already (handled again after a failure): once is enough
        self.referrals.outbox.publish([message])

    # --- delivery reports ------------------------------------------------------------------------------

    def delivered(self, report: DeliveryReport) -> str:
        """Apply a delivery report; repeated or out-of-order reports change nothing."""
        status = "delivered" if report.status == "Success" else "failed" if report.status in FINAL_FAILURES else (
            "sent" if report.status in IN_FLIGHT else None)
        with Session(self.engine, expire_on_commit=False) as session:
            message = session.get(Message, report.message_id) if report.message_id else session.exec(
                select(Message).where(Message.provider_id == report.provider_id)).first()
            if message is None:
                return "unknown message"
            if status is None:
                message.provider_status = report.status[:40]
                session.add(message)
                session.commit()
                return "unknown status"
            if _RANK[message.status] >= _RANK[status] or message.status in ("delivered", "failed"):
                return "ignored"
            message.status, message.provider_status = status, report.status[:40]
            message.failure_reason = report.failure_reason[:200] or None
            message.updated_at = utcnow()
            session.add(message)
            if message.case_id is not None and status in ("delivered", "failed"):
                session.add(CaseEvent(case_id=message.case_id, kind=status, detail={
                    "message": message.id, "unit": message.unit, "contact": message.contact_name,
                    "step": message.step, "reason": report.failure_reason or None}))
            session.commit()
        if status == "failed":
            self.referrals.step_failed(message)
        return status

