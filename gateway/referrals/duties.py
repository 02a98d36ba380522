"""Duties after an acknowledgement, applied: planned in SQL, scheduled in Redis, chased when overdue.

`routing.duties` decides (which duties a case owes, who is chased each round); this module does
the I/O. A duty's deadline lives in the sorted set `keys.DUTY_DEADLINES` as "duty_id:round",
claimed by one worker at a time like an acknowledgement deadline, and every chase is one guarded
UPDATE (`WHERE round = :seen AND status = 'open'`), so two workers chase a duty once. Redis lost?
`rebuild` puts every open duty back from SQL (the worker's audit, `cpgw reconcile`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from gateway.infra import keys
from gateway.infra.clock import Clock, as_datetime
from gateway.record.models import (
    Case,
    CaseDuty,
    CaseEvent,
    Contact,
    Message,
    User,
    utcnow,
)
from gateway.referrals.claims import Schedule
from gateway.referrals.outbox import Outbox
from menus.catalog import Catalog
from menus.dlt import dlt_id
from routing import duties as rules_duties
from routing.hours import Hours, next_opening, on_duty
from routing.ladder import Ladder, StepContact
from routing.lifecycle import IST
from routing.rules import Rules

log = logging.getLogger("cpgw.duties")
DUTY_LEASE_S = 120
OPEN = "open"


class DutyRefused(ValueError):
    """The duty cannot be recorded as asked; `reason` lets the SMS channel pick its reply."""

    def __init__(self, message: str, status: int = 409, reason: str = "stale") -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


@dataclass
class DutyDesk:
    engine: Engine
    redis: redis.Redis
    clock: Clock
    catalog: Catalog
    outbox: Outbox
    rules: Rules
    _clock: Schedule = field(init=False)

    def __post_init__(self) -> None:
        self._clock = Schedule(self.redis, keys.DUTY_DEADLINES, keys.DUTY_DEADLINES_CLAIMED, DUTY_LEASE_S)

    # --- planning ----------------------------------------------------------------------------------

    def plan(self, session: Session, case: Case, unit: str) -> list[CaseDuty]:
        """Add the duties the case owes now that `unit` took it up (once: a second ACK adds none)."""
        if session.exec(select(CaseDuty.id).where(CaseDuty.case_id == case.id)).first() is not None:
            return []
        ladder_units = {unit for step in Ladder.from_dict(case.ladder).steps for unit in step.unit_keys} \
            if case.ladder else set()
        planned = rules_duties.plan(self.rules.duties, case.concern, ladder_units=ladder_units,
                                    acknowledged_unit=unit, reported_at=_utc(case.created_at),
                                    acknowledged_at=as_datetime(self.clock.now()))
        rows = [CaseDuty(case_id=case.id or 0, key=p.key, name=p.name, owners=list(p.owners), keyword=p.keyword,
                         law=p.law, due_at=p.due_at, repeat_every=p.repeat_every) for p in planned]
        session.add_all(rows)
        return rows

    def schedule(self, duties: list[CaseDuty], pipe: redis.client.Pipeline | None = None) -> None:
        """Put committed open duties on the Redis clock."""
        members = {keys.duty_member(d.id or 0, d.round): _utc(d.due_at).timestamp() for d in duties if d.status == OPEN}
        if members:
            (pipe or self.redis).zadd(keys.DUTY_DEADLINES, members)

    # --- recording ---------------------------------------------------------------------------------

    def record(self, case: Case, key: str, *, actor: str, details: str = "", not_applicable: bool = False,
               owner_units: set[str] | None = None) -> CaseDuty:
        """Mark a duty done (or not applicable, with its reason in `details`); `owner_units`, when
        given (a committee member by SMS), must include one of the duty's owners."""
        with Session(self.engine, expire_on_commit=False) as session:
            duty = _owed(session, case, key)
            if owner_units is not None and not owner_units & set(duty.owners):
                raise DutyRefused(f"{duty.name} is for {', '.join(duty.owners)}", 403, reason="not_yours")
            if duty.status != OPEN:
                return duty  # recorded already (an SMS re-post, a second click): one effect
            status = "not_applicable" if not_applicable else "done"
            moved = session.execute(update(CaseDuty).where(col(CaseDuty.id) == duty.id, col(CaseDuty.status) == OPEN)
                                    .values(status=status, done_at=utcnow(), done_by=actor[:200], details=details[:500]))
            if moved.rowcount != 1:
                session.rollback()
                return duty
            session.add(CaseEvent(case_id=case.id, kind="duty_" + status, actor=actor,
                                  detail={"duty": key, "details": details[:500]}))
            session.commit()
            session.refresh(duty)
        self.redis.zrem(keys.DUTY_DEADLINES, keys.duty_member(duty.id or 0, duty.round))
        return duty

    def move_due(self, case: Case, key: str, due_at: datetime, *, actor: str) -> CaseDuty:
        """A new date for an open duty (the wedding's date, once known): chased afresh from it."""
        with Session(self.engine, expire_on_commit=False) as session:
            duty = _owed(session, case, key)
            if duty.status != OPEN:
                raise DutyRefused(f"{duty.name} is recorded already")
            old = duty.round
            duty.due_at, duty.round, duty.overdue = due_at.astimezone(UTC), old + 1, False
            session.add(duty)
            session.add(CaseEvent(case_id=case.id, kind="duty_moved", actor=actor,
                                  detail={"duty": key, "due_at": due_at.isoformat()}))
            session.commit()
            session.refresh(duty)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(keys.DUTY_DEADLINES, keys.duty_member(duty.id or 0, old))
        # A moved duty restarts its chase: the owners first. Round numbers keep rising so that a
        # chase's messages stay unique (duty:<id>:<round>:<phone>).
        self.schedule([duty], pipe)
        pipe.execute()
        return duty

    def reopen(self, session: Session, case: Case) -> list[CaseDuty]:
        """A reopened case owes its every-case duties (a visit) again, from now."""
        now = as_datetime(self.clock.now())
        rows = []
        for rule in self.rules.duties.every_case:
            duty = session.exec(select(CaseDuty).where(CaseDuty.case_id == case.id, CaseDuty.key == rule.key)).first()
            if duty is None:
                continue
            duty.status, duty.done_at, duty.done_by, duty.overdue = OPEN, None, None, False
            duty.round += 1
            duty.due_at = now + timedelta(seconds=rule.within)
            session.add(duty)
            rows.append(duty)
        return rows

    # --- chasing -----------------------------------------------------------------------------------

    def sweep(self, limit: int = 200) -> int:
        claimed = self._clock.claim(self.clock.now(), limit)
        for member in claimed:
            duty_id, round_ = (int(part) for part in member.split(":"))
            with self._clock.handling(member):
                self.chase(duty_id, round_)
        return len(claimed)

    def chase(self, duty_id: int, round_: int) -> bool:
        """An overdue duty: remind its owners (round 0), then one ladder step higher each round;
        while everyone it would go to is off duty, it waits for the first of them to open."""
        now = as_datetime(self.clock.now())
        with Session(self.engine, expire_on_commit=False) as session:
            duty = session.get(CaseDuty, duty_id)
            case = session.get(Case, duty.case_id) if duty else None
            if duty is None or case is None or duty.status != OPEN or duty.round != round_ or case.status == "resolved" \
                    or case.ladder is None:
                return False
            ladder = Ladder.from_dict(case.ladder)
            steps_units = [step.unit_keys for step in ladder.steps]
            owner_step = rules_duties.owner_step(steps_units, duty.owners, case.step)
            plan = rules_duties.chase(round_, owner_step, len(ladder.steps) - 1, now, duty.repeat_every)
            contacts = ladder.contacts_of(duty.owners) if plan.step is None else ladder.steps[plan.step].contacts
            opening = self._opening(ladder, {c.unit for c in contacts}, now)
            if opening is not None:  # nobody it would go to is at work: chase them when they open
                session.rollback()
                self.redis.zadd(keys.DUTY_DEADLINES, {keys.duty_member(duty_id, round_): opening.timestamp()})
                return False
            moved = session.execute(update(CaseDuty).where(col(CaseDuty.id) == duty_id, col(CaseDuty.round) == round_,
                                                           col(CaseDuty.status) == OPEN)
                                    .values(round=round_ + 1, overdue=True, due_at=plan.next_at))
            if moved.rowcount != 1:
                session.rollback()
                return False
            messages = self._messages(session, case, duty, contacts, round_, escalated=plan.step is not None)
            session.add(CaseEvent(case_id=case.id, kind="duty_overdue", detail={
                "duty": duty.key, "round": round_, "step": plan.step,
                "alerted": [f"{c.unit}: {c.name}" for c in contacts]}))
            session.commit()
        pipe = self.redis.pipeline(transaction=False)
        self.outbox.publish(messages, pipe)
        pipe.zadd(keys.DUTY_DEADLINES, {keys.duty_member(duty_id, round_ + 1): plan.next_at.timestamp()})
        pipe.execute()
        log.info("duty overdue", extra={"ref": case.ref, "duty": duty.key, "round": round_})
        return True

    def _opening(self, ladder: Ladder, units: set[str], now: datetime) -> datetime | None:
        """When the first of `units` opens, if none of them is at work now (all keep office hours);
        None when one is (or answers round the clock): an overdue duty is not texted to a DCPU's
        phones at 2 a.m., it waits for the morning, as an office's deadline does (routing.hours)."""
        state = ladder.place("state")
        specs = self.rules.units.specs(state.lgd_code if state else None)
        if not units or any(specs[u].round_the_clock or not specs[u].hours for u in units if u in specs):
            return None
        hours = tuple(Hours.parse(specs[u].hours or "") for u in units if u in specs)
        days_off = self.rules.days_off(state.lgd_code if state else None)
        if not hours or on_duty(now, hours, days_off):
            return None
        return next_opening(now, hours, days_off)

    def _messages(self, session: Session, case: Case, duty: CaseDuty, contacts: tuple[StepContact, ...],
                  round_: int, *, escalated: bool) -> list[Message]:
        due = _utc(duty.due_at).astimezone(IST).strftime("%d %b %H:%M")
        template = "sms.duty_escalated" if escalated else "sms.duty_due"
        recipients = [(c.phone, c.language, c.unit, c.name) for c in contacts]
        worker = self._assignee(session, case)
        if worker is not None and worker[0] not in {r[0] for r in recipients}:
            recipients.append(worker)
        messages = []
        for phone, lang, unit, name in recipients:
            body = self.catalog.text(lang, template, ref=case.ref, duty=self.duty_name(lang, duty.key, duty.name),
                                     keyword=duty.keyword, time=due)
            message = Message(id=uuid.uuid4().hex, dedupe_key=f"duty:{duty.id}:{round_}:{phone}", case_id=case.id,
                              direction="out", kind="duty", priority="alert", to_phone=phone, unit=unit,
                              contact_name=name, body=body, template=template, dlt_template_id=dlt_id(template))
            session.add(message)
            messages.append(message)
        return messages

    def _assignee(self, session: Session, case: Case) -> tuple[str, str, str | None, str] | None:
        """The named worker's phone, when they have one: they hear of every overdue duty of their cases."""
        if not case.assigned_to:
            return None
        user = session.exec(select(User).where(User.username == case.assigned_to)).first()
        if user is None or not user.phone or not user.active:
            return None
        contact = session.exec(select(Contact).where(Contact.phone == user.phone)).first()
        return user.phone, contact.language if contact else "en", None, user.name or user.username

    def duty_name(self, lang: str | None, key: str, fallback: str) -> str:
        text_key = f"duty.{key}"
        return self.catalog.text(lang, text_key) if self.catalog.has(text_key) else fallback

    # --- repair from the record --------------------------------------------------------------------

    def rebuild(self) -> int:
        """Schedule every open duty from SQL; returns how many Redis had lost."""
        with Session(self.engine) as session:
            rows = session.exec(select(CaseDuty.id, CaseDuty.round, CaseDuty.due_at).join(Case, col(Case.id) == col(
                CaseDuty.case_id)).where(col(CaseDuty.status) == OPEN, col(Case.status) != "resolved")).all()
        restored = self._clock.restore({keys.duty_member(row[0], row[1]): _utc(row[2]).timestamp() for row in rows})
        if restored:
            log.warning("duty deadlines rebuilt from SQL", extra={"count": restored})
        return restored


def _owed(session: Session, case: Case, key: str) -> CaseDuty:
    duty = session.exec(select(CaseDuty).where(CaseDuty.case_id == case.id, CaseDuty.key == key)).first()
    if duty is None:
        raise DutyRefused(f"case {case.ref} owes no duty {key!r}", 404, reason="unknown")
    return duty


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- reading (the API, the console, the dashboard) ---------------------------------------------------


def duty_overdue(duty: CaseDuty, now: datetime) -> bool:
    """Open, and chased already or past its date (the sweeper may not have got to it yet)."""
    return duty.status == OPEN and (duty.overdue or _utc(duty.due_at) <= now)


def overdue_duties(now: datetime) -> Any:
    """The SQL condition of `duty_overdue`, for filtering cases."""
    return (col(CaseDuty.status) == OPEN) & (col(CaseDuty.overdue) | (col(CaseDuty.due_at) <= now))


def duties_of(session: Session, cases: list[Case]) -> dict[int, list[CaseDuty]]:
    """The duties of these cases (one query), by case id, in the order they fall due."""
    ids = [case.id for case in cases if case.id is not None]
    found: dict[int, list[CaseDuty]] = {}
    if ids:
        for duty in session.exec(select(CaseDuty).where(col(CaseDuty.case_id).in_(ids))
                                 .order_by(col(CaseDuty.due_at), col(CaseDuty.id))):
            found.setdefault(duty.case_id, []).append(duty)
    return found
