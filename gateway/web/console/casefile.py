"""A case as the case page shows it: its facts, its ladder, and one timeline of events and SMS.

Committee members' numbers are shown (they are staff, and the directory lists them); the reporter's
number never is, except through `reveal_number`, which checks role and consent and records an
event every time it is called, so the case's own timeline answers "who has seen this number".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from gateway.infra.crypto import PhoneCipher
from gateway.record.models import Case, CaseEvent, Message, Place, ReporterContact, User
from gateway.referrals.actions import Principal
from gateway.referrals.duties import duties_of, duty_overdue
from gateway.web.console.places import of_cases
from gateway.web.console.templating import concern_label, span
from menus.refs import parse_reference
from routing.lifecycle import IST, OUTCOMES


class CaseNotFound(LookupError):
    """No such case, or not the staff member's district: the two look the same on purpose."""


class NumberNotAvailable(LookupError):
    """The reporter stayed anonymous (no call-back), or the number could not be read."""


def load(session: Session, who: Principal, ref: str) -> Case:
    reference = parse_reference(ref)
    case = session.exec(select(Case).where(col(Case.ref) == reference)).first() if reference else None
    if case is None or not who.sees_district(case.district_lgd):
        raise CaseNotFound(ref)
    return case


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: an event, or an SMS with its delivery state."""

    at: datetime
    kind: str  # the event kind, or "sms_out" / "sms_in"
    title: str
    actor: str
    text: str
    status: str | None = None  # an SMS's delivery state
    problem: str | None = None  # an SMS's failure reason


def _event_text(event: CaseEvent) -> tuple[str, str]:
    d: dict[str, Any] = event.detail or {}
    units = ", ".join(d.get("units", []))
    step = f"step {int(d['step']) + 1}" if isinstance(d.get("step"), int) else ""
    contacts = ", ".join(d.get("contacts", []))
    match event.kind:
        case "reported":
            urgent = ", child in danger now" if d.get("urgent") else ""
            return "Reported", f"by {d.get('channel', '?').upper()}: {concern_label(d.get('concern', ''))}{urgent}"
        case "alerted" | "escalated" | "reminded" | "reassigned":
            why = {"deadline": "deadline passed", "staff": "by staff", "undeliverable": "alerts undeliverable",
                   "sms": "by SMS", "reported": "new report"}.get(d.get("reason", ""), d.get("reason", ""))
            return event.kind.capitalize(), f"{step}: {units} ({why}); alerted {contacts or 'nobody'}"
        case "acknowledged":
            return "Acknowledged", f"{d.get('unit')}: {d.get('name')} (via {d.get('via')}, {step})"
        case "resolved":
            outcome = OUTCOMES.get(d.get("outcome", ""), d.get("outcome", ""))
            return "Resolved", f"{outcome}{': ' + d['note'] if d.get('note') else ''}"
        case "note":
            return "Note", str(d.get("text", ""))
        case "delivered" | "failed":
            reason = f" ({d['reason']})" if d.get("reason") else ""
            return f"SMS {event.kind}", f"to {d.get('contact') or 'reporter'} {d.get('unit') or ''}{reason}".strip()
        case "coverage_gap":
            return "Coverage gap", f"no active {d.get('unit')} contact at place {d.get('place')}"
        case "reporter_number_viewed":
            return "Reporter's number viewed", "the call-back number was shown"
        case "duty_done" | "duty_not_applicable":
            how = "done" if event.kind == "duty_done" else "not applicable"
            return f"Duty {how}", f"{d.get('duty')}{': ' + d['details'] if d.get('details') else ''}"
        case "duty_overdue":
            who = ", ".join(d.get("alerted", [])) or "nobody"
            where = "its owners" if d.get("step") is None else f"step {int(d['step']) + 1}"
            return "Duty overdue", f"{d.get('duty')}: {where} alerted ({who})"
        case "closure_proposed":
            return "Closure proposed", str(d.get("note", ""))
        case "closure_sent_back":
            return "Closure sent back", str(d.get("note", ""))
        case "reopened":
            return "Reopened", str(d.get("reason", ""))
        case "assigned":
            return "Assigned", f"to {d.get('name') or d.get('to')}" if d.get("to") else "nobody"
        case "duplicate_report":
            return "Reported again", f"the same reporter, by {d.get('channel', '?').upper()}"
        case _:
            return event.kind.replace("_", " ").capitalize(), ", ".join(f"{k}: {v}" for k, v in d.items())


def _event_entry(event: CaseEvent) -> Entry:
    title, text = _event_text(event)
    return Entry(event.at, event.kind, title, event.actor, text)


def _message_entry(message: Message) -> Entry:
    if message.direction == "in":
        who = message.contact_name or message.from_phone or "a villager"
        return Entry(message.created_at, "sms_in", f"SMS in ({message.kind})", who, message.body, message.status)
    if message.to_phone:
        who = f"{message.contact_name or '?'} · {message.unit or ''} · {message.to_phone}"
    else:
        who = "the reporter"
    return Entry(message.created_at, "sms_out", f"SMS out ({message.kind})", who, message.body, message.status,
                 message.failure_reason if message.status == "failed" else None)


def timeline(session: Session, case: Case) -> list[Entry]:
    events = session.exec(select(CaseEvent).where(col(CaseEvent.case_id) == case.id)
                          .order_by(col(CaseEvent.at), col(CaseEvent.id))).all()
    messages = session.exec(select(Message).where(col(Message.case_id) == case.id)
                            .order_by(col(Message.created_at), col(Message.id))).all()
    entries = [_event_entry(event) for event in events] + [_message_entry(message) for message in messages]
    return sorted(entries, key=lambda entry: entry.at)


@dataclass(frozen=True)
class StepView:
    index: int
    units: str
    contacts: list[str]
    within: str
    current: bool
    passed: bool
    law: str = ""  # why these units are alerted: the section of law the rule cites


def ladder(case: Case) -> list[StepView]:
    steps = (case.ladder or {}).get("steps") or []
    return [
        StepView(
            index=i, units=", ".join(f"{at['unit']} at {at['place']['name']}" for at in step.get("at", [])),
            contacts=[f"{c['name']} ({c['unit']})" for c in step.get("contacts", [])],
            within=span(step.get("ack_within", 0)), current=i == case.step and case.status != "resolved",
            passed=i < case.step, law=step.get("law", ""),
        )
        for i, step in enumerate(steps)
    ]


def places_of(session: Session, case: Case) -> dict[str, Place | None]:
    found = of_cases(session, [case])
    return {part: found.get(key) if key else None for part, key in case.place_keys().items()}


def can_see_number(who: Principal) -> bool:
    """Only roles that act on cases may call a reporter back; viewers never see the number."""
    return who.role in ("admin", "district")


def has_number(session: Session, case: Case) -> bool:
    return case.callback and session.get(ReporterContact, case.id) is not None


def reveal_number(session: Session, cipher: PhoneCipher, who: Principal, case: Case) -> str:
    """The reporter's number, decrypted, with an audit event committed before it is returned."""
    if not can_see_number(who):
        raise PermissionError("role may not see reporters' numbers")
    contact = session.get(ReporterContact, case.id) if case.callback else None
    phone = cipher.decrypt(contact.phone_encrypted) if contact else None
    if phone is None:
        raise NumberNotAvailable(case.ref)
    session.add(CaseEvent(case_id=case.id, kind="reporter_number_viewed", actor=who.name, detail={}))
    session.commit()
    return phone


@dataclass(frozen=True)
class DutyView:
    key: str
    name: str
    owners: str
    status: str  # open, done, not_applicable
    due_at: datetime
    overdue: bool
    done: str  # "by Asha (VCPC, SMS), 06 Dec 14:10: 45/2026", or ""
    law: str
    keyword: str


def duties(session: Session, case: Case, now: datetime) -> list[DutyView]:
    """What the law asks after the acknowledgement, in the order it falls due."""
    views = []
    for duty in duties_of(session, [case]).get(case.id or 0, []):
        done = ""
        if duty.status != "open":
            at = duty.done_at.replace(tzinfo=duty.done_at.tzinfo or UTC).astimezone(IST).strftime("%d %b %H:%M") \
                if duty.done_at else ""
            done = f"by {duty.done_by}, {at}" + (f": {duty.details}" if duty.details else "")
        views.append(DutyView(duty.key, duty.name, ", ".join(duty.owners), duty.status,
                              duty.due_at.replace(tzinfo=duty.due_at.tzinfo or UTC), duty_overdue(duty, now), done,
                              duty.law, duty.keyword))
    return views


def assignable(session: Session, case: Case) -> list[tuple[str, str]]:
    """Console users who may follow the case: its district's, and admins (username, label)."""
    users = session.exec(select(User).where(col(User.active).is_(True), col(User.role).in_(("admin", "district")))
                         .order_by(col(User.username))).all()
    return [(u.username, f"{u.name or u.username} ({u.username})") for u in users
            if u.role == "admin" or u.district_lgd == case.district_lgd]
