"""The referral loop: alert a case's step, wait for an acknowledgement, escalate when none comes.

Redis holds the fast state (the deadlines sorted set); SQL holds the record (the case's step,
round and due time, and an event for every transition). Every change of step is one guarded
UPDATE (`WHERE step = :seen AND round = :seen AND status = 'open'`), so two workers that both
think a deadline is theirs escalate it once; the alerts it causes are written in the same
transaction and published to the outbox after the commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import redis
from sqlalchemy import Engine, insert, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from gateway.infra import keys
from gateway.infra.clock import Clock, as_datetime
from gateway.infra.metrics import Metrics
from gateway.record.db import READ_ONLY
from gateway.record.models import (
    Case,
    CaseEvent,
    Contact,
    Message,
    OptOut,
    Place,
    ReporterContact,
    event_row,
    utcnow,
)
from gateway.referrals.claims import Schedule
from gateway.referrals.duties import DutyDesk
from gateway.referrals.outbox import Outbox, Publishable, Queued
from menus.catalog import Catalog
from menus.dlt import dlt_id
from routing import casework
from routing.directory import Directory
from routing.hours import deadline, next_opening, on_duty
from routing.ladder import Ladder, StepContact, route
from routing.lifecycle import IST
from routing.rules import Rules

log = logging.getLogger("cpgw.referrals")



class CaseNotOpen(ValueError):
    """The case is already acknowledged or resolved (or the step moved on)."""


@dataclass
class Referrals:
    engine: Engine
    redis: redis.Redis
    clock: Clock
    catalog: Catalog
    outbox: Outbox
    metrics: Metrics
    directory: Directory
    rules: Rules
    _deadlines: Schedule = field(init=False)
    desk: DutyDesk = field(init=False)  # the duties that follow an acknowledgement

    def __post_init__(self) -> None:
        self._deadlines = Schedule(self.redis, keys.DEADLINES, keys.DEADLINES_CLAIMED, keys.DEADLINE_LEASE_S)
        self.desk = DutyDesk(self.engine, self.redis, self.clock, self.catalog, self.outbox, self.rules)

    # --- a new case ----------------------------------------------------------------------------------

    def unit_name(self, lang: str | None, unit: str) -> str:
        """A unit as a villager or committee member reads it: the menu text (`unit.VCPC`: "the village
        committee"), else the name the rules declare (a deployment's own unit needs no text)."""
        key = f"unit.{unit}"
        return self.catalog.text(lang, key) if self.catalog.has(key) else self.rules.units.name(unit)

    def plan(self, village_lgd: int, concern: str, urgent: bool, level: str = "village") -> Ladder:
        """The ladder for a report; read from the directory before any write transaction opens."""
        return route(village_lgd, concern, urgent, self.directory, self.rules, level=level)

    def due(self, ladder: Ladder, step: int, now: float, seconds: int | None = None) -> float:
        """When a step's deadline (or, for a repeat, `seconds`) runs out: one that would run out while
        the step's units are off duty runs out when they open, so a closed office is not paged every
        half hour until morning (routing.hours)."""
        current = ladder.steps[step]
        return deadline(as_datetime(now), current.ack_within if seconds is None else seconds,
                        current.working_hours(), self._days_off(ladder)).timestamp()

    def off_duty(self, ladder: Ladder, step: int, now: float) -> bool:
        return not on_duty(as_datetime(now), ladder.steps[step].working_hours(), self._days_off(ladder))

    def _days_off(self, ladder: Ladder) -> frozenset[date]:
        """The holidays of the state the case is in."""
        state = ladder.place("state")
        return self.rules.days_off(state.lgd_code if state else None)

    def opens(self, case: Case) -> str | None:
        """"10:00" when a report that is not urgent waits for its first step's office to open (the
        villager is told so); None when someone is at work now, or the report is urgent (the night
        cover and the helplines answer)."""
        steps = (case.ladder or {}).get("steps")
        if case.urgent or not steps or not steps[0].get("hours"):
            return None  # (on the storing hop: no ladder parsed for a first step that never closes)
        ladder = Ladder.from_dict(case.ladder)  # type: ignore[arg-type]
        now = self.clock.now()
        if not self.off_duty(ladder, 0, now):
            return None
        opening = next_opening(as_datetime(now), ladder.steps[0].working_hours(), self._days_off(ladder))
        return opening.astimezone(IST).strftime("%H:%M") if opening else None

    def prepare(self, case: Case, ladder: Ladder, now: float) -> None:
        """Copy the ladder onto a case, with its first deadline (before the case is written)."""
        case.ladder = ladder.to_dict()
        case.step, case.round = 0, 0
        case.overdue = ladder.unroutable
        case.due_at = None if ladder.unroutable else as_datetime(self.due(ladder, 0, now))

    def first_alerts(self, case: Case, ladder: Ladder, village: PlaceNames | None) -> Rows:
        """The events and alerts of a case just prepared and inserted: gaps, then its first step."""
        assert case.id is not None
        events = [event_row(case.id, "coverage_gap", {"unit": gap.unit, "place": gap.place.lgd_code if gap.place else None,
                                                      "level": gap.place.level if gap.place else None})
                  for gap in ladder.gaps]
        if ladder.unroutable:
            return Rows([], [*events, event_row(case.id, "unroutable", {"reason": "nobody to alert"})])
        alerts = self._alert(case, ladder, step=0, round_=0, kind="alerted", reason="reported", village=village)
        return Rows(alerts.messages, [*events, *alerts.events])

    def after_commit(self, case: Case, messages: Iterable[Publishable], pipe: redis.client.Pipeline | None = None) -> None:
        """Publish a committed transition: its messages to the outbox, its deadline to Redis.

        Given a pipeline, only queue the commands: the caller sends them with its own, in one round trip.
        """
        own = pipe is None
        pipe = self.redis.pipeline(transaction=False) if pipe is None else pipe
        self.outbox.publish(messages, pipe)
        if case.status == "open" and case.due_at is not None and case.id is not None:
            pipe.zadd(keys.DEADLINES, {keys.deadline_member(case.id, case.step, case.round): case.due_at.timestamp()})
        if own:
            pipe.execute()

    # --- alerts --------------------------------------------------------------------------------------

    def _alert(self, case: Case, ladder: Ladder, *, step: int, round_: int, kind: str, reason: str,
               village: PlaceNames | None) -> Rows:
        """The rows of a step's alerts and its event; plain dicts, written with Core inserts.

        A case's alerts are written on the hop that tells the villager "sent": building ORM
        objects for them cost more than the rest of that hop together.
        """
        assert case.id is not None
        current = ladder.steps[step]
        template = "sms.reminder" if round_ else ("sms.alert_urgent" if case.urgent else "sms.alert")
        now = utcnow()
        messages = []
        night = self._night_cover(case, ladder, step)
        for contact in (*current.contacts, *night):
            lang = contact.language
            body = self.catalog.text(
                lang, template, ref=case.ref, concern=self.catalog.text(lang, f"concern.{case.concern}"),
                village=_place_name(village, lang) if village else str(case.village_lgd),
            )
            messages.append({
                "id": uuid.uuid4().hex, "dedupe_key": f"alert:{case.id}:{step}:{round_}:{contact.phone}",
                "case_id": case.id, "direction": "out", "kind": "reminder" if round_ else "alert",
                "priority": "alert", "to_phone": contact.phone, "unit": contact.unit, "contact_name": contact.name,
                "step": step, "body": body, "template": template, "dlt_template_id": dlt_id(template),
                "status": "queued", "attempts": 0, "created_at": now, "updated_at": now,
            })
        event = event_row(case.id, kind, {
            "step": step, "round": round_, "units": list(current.unit_keys), "reason": reason,
            "contacts": [contact.name for contact in current.contacts],
            "due_at": case.due_at.isoformat() if case.due_at else None,
            **({"night_cover": [f"{c.unit}: {c.name}" for c in night]} if night else {})})
        return Rows(messages, [event])

    def _night_cover(self, case: Case, ladder: Ladder, step: int) -> tuple[StepContact, ...]:
        """An urgent step whose units are all off duty also goes, at once, to the round-the-clock units
        the rules name as night cover (1098, the police), those not already in the step."""
        if not case.urgent or not ladder.night or not self.off_duty(ladder, step, self.clock.now()):
            return ()
        phones = {contact.phone for contact in ladder.steps[step].contacts}
        return tuple(contact for contact in ladder.night if contact.phone not in phones)

    # --- escalation ----------------------------------------------------------------------------------

    def escalate(
        self, case_id: int, step: int, round_: int, *, reason: str, actor: str = "system", reopen: bool = False,
        to_step: int | None = None,
    ) -> bool:
        """Move the case from (step, round) to what comes next; False if it already moved on.

        `reopen` (a person passing an acknowledged case up) also takes an acknowledged case; the
        sweeper never does, so a stale deadline cannot undo an acknowledgement. `to_step` (staff
        reassigning) jumps to a later step of the ladder instead of the next one.
        """
        statuses = casework.allowed_from("escalate") if reopen else ("open",)
        with Session(self.engine, expire_on_commit=False) as session:
            case = session.get(Case, case_id)
            if case is None or case.status not in statuses or case.ladder is None:
                return False
            ladder = Ladder.from_dict(case.ladder)
            now = self.clock.now()
            move = casework.next_move(len(ladder.steps), step, round_, overdue=case.overdue, to_step=to_step)
            new_step, new_round, kind, overdue = move.step, move.round, move.kind, move.overdue
            due = self.due(ladder, new_step, now, ladder.repeat_every if kind == "reminded" else None)
            moved = session.execute(
                update(Case)
                .where(col(Case.id) == case_id, col(Case.step) == step, col(Case.round) == round_,
                       col(Case.status).in_(statuses))
                .values(step=new_step, round=new_round, due_at=as_datetime(due), overdue=overdue, updated_at=utcnow(),
                        status="open", acknowledged_unit=None, acknowledged_name=None)
            )
            if moved.rowcount != 1:
                session.rollback()
                return False
            session.refresh(case)  # (SQLite: the read above was under the same IMMEDIATE lock)
            rows = self._alert(case, ladder, step=new_step, round_=new_round, kind=kind, reason=reason,
                               village=session.get(Place, {"level": case.village_level, "lgd_code": case.village_lgd}))
            if actor != "system":
                rows.events.append(event_row(case_id, "note", {"text": f"escalated: {reason}"}, actor=actor))
            messages = rows.write(session)
            session.commit()
        self.redis.zrem(keys.DEADLINES, keys.deadline_member(case_id, step, round_))
        self.after_commit(case, messages)
        self.metrics.escalations.labels(reason if reason in ("deadline", "undeliverable", "staff", "sms") else "other").inc()
        log.info("case escalated", extra={"ref": case.ref, "step": new_step, "round": new_round, "reason": reason})
        return True

    def sweep(self, limit: int = 200) -> int:
        """Claim due deadlines (atomically: each goes to one worker) and escalate them."""
        claimed = self._deadlines.claim(self.clock.now(), limit)
        for member in claimed:
            case_id, step, round_ = (int(part) for part in member.split(":"))
            with self._deadlines.handling(member):
                self.escalate(case_id, step, round_, reason="deadline")
        return len(claimed)

    def step_failed(self, message: Message) -> None:
        """Escalate at once when every contact of the case's current step has a final failure."""
        if message.case_id is None or message.kind not in ("alert", "reminder"):
            return
        with Session(self.engine) as session:
            case = session.get(Case, message.case_id)
            if case is None or case.status != "open" or case.step != message.step:
                return
            alerts = session.exec(select(Message).where(
                col(Message.case_id) == case.id, col(Message.step) == case.step,
                col(Message.kind).in_(("alert", "reminder")), col(Message.direction) == "out",
            )).all()
            phones = {m.to_phone for m in alerts}
            failed = {m.to_phone for m in alerts if m.status == "failed"}
            delivered_or_pending = {m.to_phone for m in alerts if m.status != "failed"}
            step, round_ = case.step, case.round
        if phones and failed == phones and not delivered_or_pending:
            self.escalate(message.case_id, step, round_, reason="undeliverable")

    # --- acknowledgement, resolution, notes ------------------------------------------------------------

    def acknowledge(self, case: Case, *, unit: str, name: str, actor: str, via: str) -> Case:
        """`unit` took the case up: its clock stops, and the duties the law sets next start theirs."""
        with Session(self.engine, expire_on_commit=False) as session:
            moved = session.execute(
                update(Case).where(col(Case.id) == case.id, col(Case.status) == "open")
                .values(status="acknowledged", acknowledged_unit=unit, acknowledged_name=name, due_at=None,
                        updated_at=utcnow())
            )
            if moved.rowcount != 1:
                session.rollback()
                raise CaseNotOpen(case.ref)
            current = session.get(Case, case.id)
            assert current is not None
            session.add(CaseEvent(case_id=case.id, kind="acknowledged", actor=actor,
                                  detail={"unit": unit, "name": name, "via": via, "step": current.step}))
            follow_up = self._follow_up(session, current, unit)
            duties = self.desk.plan(session, current, unit)
            session.commit()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(keys.DEADLINES, keys.deadline_member(current.id or 0, current.step, current.round))
        self.outbox.publish(follow_up, pipe)
        self.desk.schedule(duties, pipe)
        pipe.execute()
        self.metrics.acknowledgements.labels(via).inc()
        return current

    def _follow_up(self, session: Session, case: Case, unit: str) -> list[Message]:
        """Tell a reporter who agreed to be contacted that someone took the report up."""
        contact = session.get(ReporterContact, case.id) if case.callback else None
        if contact is None or (contact.phone_tag and session.get(OptOut, contact.phone_tag)):
            return []
        body = self.catalog.text(case.language, "sms.follow_up", ref=case.ref,
                                 unit=self.unit_name(case.language, unit))
        message = Message(id=uuid.uuid4().hex, dedupe_key=f"follow_up:{case.id}", case_id=case.id, direction="out",
                          kind="follow_up", priority="bulk", body=body, template="sms.follow_up",
                          dlt_template_id=dlt_id("sms.follow_up"))
        session.add(message)
        return [message]

    def resolve(self, case: Case, *, outcome: str, note: str, actor: str) -> Case:
        """Close the case (staff, or confirming a committee's proposal)."""
        current = self._move(case, "resolve", actor, "resolved", {"outcome": outcome, "note": note},
                             due_at=None, overdue=False)
        self.redis.zrem(keys.DEADLINES, keys.deadline_member(case.id or 0, case.step, case.round))
        return current

    def propose_closure(self, case: Case, *, note: str, actor: str) -> Case:
        """A committee member says it is done: the district checks before the case closes."""
        return self._move(case, "propose_closure", actor, "closure_proposed", {"note": note})

    def send_back(self, case: Case, *, note: str, actor: str) -> Case:
        """The district does not accept the closure: the unit that had it carries on, and hears why."""
        return self._move(case, "send_back", actor, "closure_sent_back", {"note": note}, notify="sms.sent_back")

    def reopen(self, case: Case, *, reason: str, actor: str) -> Case:
        """A resolved case comes back: to the unit that had it (told by SMS, its visit owed again),
        or, when nobody had taken it up, to its ladder at the step it stood at."""
        status = casework.reopened_status(case.acknowledged_unit)
        if status == "open":
            return self._reopen_to_ladder(case, reason=reason, actor=actor)
        return self._move(case, "reopen", actor, "reopened", {"reason": reason}, notify="sms.reopened", reopen=True)

    def assign(self, case: Case, *, username: str | None, name: str, phone: str | None, actor: str) -> Case:
        """Name the console user who follows the case (None: nobody); they hear of it by SMS."""
        with Session(self.engine, expire_on_commit=False) as session:
            moved = session.execute(update(Case).where(col(Case.id) == case.id)
                                    .values(assigned_to=username, updated_at=utcnow()))
            current = session.get(Case, case.id)
            if moved.rowcount != 1 or current is None:
                session.rollback()
                raise CaseNotOpen(case.ref)
            session.add(CaseEvent(case_id=case.id, kind="assigned", actor=actor,
                                  detail={"to": username, "name": name}))
            messages = []
            if username and phone:
                # In the worker's language when the directory knows their phone, else English: never
                # the reporter's (`case.language`).
                known = session.exec(select(Contact.language).where(col(Contact.phone) == phone)).first()
                lang = known or "en"
                body = self.catalog.text(lang, "sms.assigned", ref=current.ref,
                                         concern=self.catalog.text(lang, f"concern.{current.concern}"))
                message = Message(id=uuid.uuid4().hex, dedupe_key=f"assigned:{case.id}:{uuid.uuid4().hex[:8]}",
                                  case_id=case.id, direction="out", kind="assigned", priority="bulk", to_phone=phone,
                                  contact_name=name, body=body, template="sms.assigned",
                                  dlt_template_id=dlt_id("sms.assigned"))
                session.add(message)
                messages.append(message)
            session.commit()
        self.outbox.publish(messages)
        return current

    def _move(self, case: Case, action: casework.Action, actor: str, event: str, detail: dict[str, Any], *,
              notify: str | None = None, reopen: bool = False, **values: Any) -> Case:
        """One guarded status change (`WHERE status IN` where the action may start), its event, and
        the SMS to the unit that has the case when `notify` names a template."""
        target = casework.target(action)
        with Session(self.engine, expire_on_commit=False) as session:
            moved = session.execute(
                update(Case).where(col(Case.id) == case.id, col(Case.status).in_(casework.allowed_from(action)))
                .values(status=target, updated_at=utcnow(), **values))
            if moved.rowcount != 1:
                session.rollback()
                raise CaseNotOpen(case.ref)
            current = session.get(Case, case.id)
            assert current is not None
            session.add(CaseEvent(case_id=case.id, kind=event, actor=actor, detail=detail))
            duties = self.desk.reopen(session, current) if reopen else []
            messages = self._tell_owner(session, current, notify) if notify else []
            session.commit()
        pipe = self.redis.pipeline(transaction=False)
        self.outbox.publish(messages, pipe)
        self.desk.schedule(duties, pipe)
        pipe.execute()
        return current

    def _tell_owner(self, session: Session, case: Case, template: str) -> list[Message]:
        """The contacts of the unit that took the case up, as its ladder holds them."""
        contacts = Ladder.from_dict(case.ladder).contacts_of({case.acknowledged_unit or ""}) if case.ladder else ()
        stamp = uuid.uuid4().hex[:8]  # each reopening or sending back is news of its own
        messages = []
        for contact in contacts:
            body = self.catalog.text(contact.language, template, ref=case.ref)
            message = Message(id=uuid.uuid4().hex, dedupe_key=f"{template}:{case.id}:{stamp}:{contact.phone}",
                              case_id=case.id, direction="out", kind="notice", priority="alert",
                              to_phone=contact.phone, unit=contact.unit, contact_name=contact.name, body=body,
                              template=template, dlt_template_id=dlt_id(template))
            session.add(message)
            messages.append(message)
        return messages

    def _reopen_to_ladder(self, case: Case, *, reason: str, actor: str) -> Case:
        """Nobody had taken it up: alert its step once more (a new round) and start its clock."""
        with Session(self.engine, expire_on_commit=False) as session:
            current = session.get(Case, case.id)
            if current is None or current.status != "resolved" or current.ladder is None:
                raise CaseNotOpen(case.ref)
            ladder = Ladder.from_dict(current.ladder)
            due = as_datetime(self.due(ladder, current.step, self.clock.now()))
            moved = session.execute(update(Case).where(col(Case.id) == case.id, col(Case.status) == "resolved")
                                    .values(status="open", round=current.round + 1, due_at=due, updated_at=utcnow()))
            if moved.rowcount != 1:
                session.rollback()
                raise CaseNotOpen(case.ref)
            session.refresh(current)
            rows = self._alert(current, ladder, step=current.step, round_=current.round, kind="reminded",
                               reason="reopened", village=session.get(
                                   Place, {"level": current.village_level, "lgd_code": current.village_lgd}))
            rows.events.insert(0, event_row(current.id or 0, "reopened", {"reason": reason}, actor=actor))
            messages = rows.write(session)
            session.commit()
        self.after_commit(current, messages)
        return current

    def note(self, case: Case, *, text: str, actor: str) -> None:
        with Session(self.engine) as session:
            session.add(CaseEvent(case_id=case.id, kind="note", actor=actor, detail={"text": text}))
            session.commit()

    # --- repair from the record -----------------------------------------------------------------------

    def rebuild_deadlines(self, page: int = 5000) -> int:
        """Schedule every open case's next step from SQL; returns how many were missing in Redis.

        Pages through the open cases by id (only the four columns needed) and checks Redis a page
        at a time, so the audit costs the same memory at a million open cases as at ten.
        """
        table = Case.__table__
        repaired, last_id = 0, 0
        while True:
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
                rows = connection.execute(
                    sql_select(table.c.id, table.c.step, table.c.round, table.c.due_at)
                    .where(table.c.status == "open", table.c.due_at.is_not(None), table.c.id > last_id)
                    .order_by(table.c.id).limit(page)
                ).all()
            if not rows:
                break
            last_id = rows[-1].id
            repaired += self._deadlines.restore(
                {keys.deadline_member(row.id, row.step, row.round): _timestamp(row.due_at) for row in rows})
        if repaired:
            self.metrics.deadlines_repaired.inc(repaired)
            log.warning("deadlines rebuilt from SQL", extra={"count": repaired})
        return repaired

    def route_unrouted(self) -> int:
        """Cases stored while routing failed (rules or directory broken): route them now."""
        with Session(self.engine) as session:
            pending = [case.id for case in session.exec(
                select(Case).where(col(Case.status) == "open", col(Case.ladder).is_(None)))]
        routed = 0
        for case_id in pending:
            with Session(self.engine, expire_on_commit=False) as session:
                case = session.get(Case, case_id)
                if case is None or case.ladder is not None:
                    continue
                village, level, concern, urgent = case.village_lgd, case.village_level, case.concern, case.urgent
            try:
                ladder = self.plan(village, concern, urgent, level)
            except Exception:  # noqa: BLE001 — one broken case must not stop the others
                log.exception("routing still failing", extra={"case": case_id})
                continue
            with Session(self.engine, expire_on_commit=False) as session:
                moved = session.execute(update(Case).where(col(Case.id) == case_id, col(Case.ladder).is_(None))
                                        .values(updated_at=utcnow()))
                case = session.get(Case, case_id)
                if moved.rowcount != 1 or case is None:
                    session.rollback()
                    continue
                self.prepare(case, ladder, self.clock.now())
                session.add(case)
                session.flush()
                village_row = session.get(Place, {"level": case.village_level, "lgd_code": case.village_lgd})
                messages = self.first_alerts(case, ladder, village_row).write(session)
                session.commit()
            self.after_commit(case, messages)
            routed += 1
        return routed


def _timestamp(value: datetime) -> float:
    # SQLite hands back naive datetimes through Core: they are UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


_INSERT_EVENTS = insert(CaseEvent.__table__).returning(CaseEvent.__table__.c.id)  # type: ignore[attr-defined]
_INSERT_MESSAGES = insert(Message.__table__).returning(Message.__table__.c.id)  # type: ignore[attr-defined]


class PlaceNames(Protocol):
    """A place's names: a `Place`, or a Core row of the place table."""

    name: str
    names: dict[str, str] | None


class Executor(Protocol):
    """A Session or a Connection: both run Core statements inside their transaction."""

    def execute(self, statement: Any, parameters: Any = None) -> Any: ...


@dataclass
class Rows:
    """Rows to insert in one transaction: outbox messages and case events."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def write(self, db: Executor) -> list[Queued]:
        """Insert both lists, one multi-row INSERT each; the messages to publish once committed.

        One statement, not one per row (executemany): each statement is a moment the thread gives
        the GIL away inside the write transaction, and under load takes milliseconds to get it back.
        """
        if self.events:
            db.execute(_INSERT_EVENTS, self.events)
        if self.messages:
            db.execute(_INSERT_MESSAGES, self.messages)
        return self.queued()

    def queued(self) -> list[Queued]:
        return [Queued(row["id"], row["priority"]) for row in self.messages]


def _place_name(place: PlaceNames, lang: str) -> str:
    return (place.names or {}).get(lang) or place.name
