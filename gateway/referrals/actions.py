"""Acting on a case — acknowledge, escalate, reassign, note, resolve — for every door alike.

The JSON API, the console's forms and committee members' SMS commands (`ACK`, `ESC`, `DONE`) all
come here, so that a rule holds whichever way a case is touched: one list of outcomes, one check
of who may close a case, one audit entry naming who did it. The states a case moves through, and
who may move it, are `routing.casework`'s: a committee's `DONE` proposes closure, a district or
admin user confirms it (resolve) or sends it back, and reopens a resolved case with a reason.
Each action refuses with `ActionRefused`, whose `status` is the HTTP answer and whose `reason` lets the SMS channel pick
its reply in the contact's language.

Who acts is a `Principal`: staff (API tokens, console users: admin and district roles write,
viewers only read), or a committee member writing by SMS (`committee(...)`), who acts for their
unit. A committee member may propose closing a case only once their unit has taken it up, and may pass an
acknowledged case up only if it is their unit's; passing up the top of the ladder before its
deadline would only send the same people the same alert again, so it is refused.

*Reassign* is staff's own: it moves an open or acknowledged case straight to a chosen **later**
step of its ladder (say from the village committee to the DCPU, skipping the block), alerts that
step's contacts with its own deadline, and records the reason as a note. Only forward, for two
reasons: handing a case back down is what "acknowledge on behalf of a unit" already records, and
every alert is deduplicated per (case, step, round, phone), so a step that was alerted once cannot
be alerted at round 0 again without colliding with its first alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from gateway.infra.clock import as_datetime
from gateway.record.models import Case, CaseDuty, User
from gateway.referrals.duties import DutyRefused
from gateway.referrals.loop import CaseNotOpen, Referrals
from routing import casework
from routing.ladder import Ladder
from routing.lifecycle import OUTCOMES

COMMITTEE = "committee"  # the role of a committee member acting by SMS


@dataclass(frozen=True)
class Principal:
    """Who acts on a case, and what they may see: staff (API tokens, console users) or a committee member."""

    name: str
    role: str  # admin, district, viewer (web.auth); or COMMITTEE: a member writing by SMS
    district_lgd: int | None
    unit: str | None = None  # a committee member's unit

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "district", "committee")

    def sees_district(self, district_lgd: int | None) -> bool:
        return self.role != "district" or district_lgd == self.district_lgd


class ActionRefused(ValueError):
    """The action does not apply to the case as it is now, or not for this actor.

    `status`: the HTTP status to answer with; `reason`: what the SMS channel tells a member
    (`stale`: the case moved on; `not_yours`: another unit's; `early`: not yet due).
    """

    def __init__(self, message: str, status: int = 409, reason: str = "stale") -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


def committee(name: str, unit: str) -> Principal:
    """A committee member writing by SMS, as the audit trail names them: `Asha (VCPC, SMS)`."""
    return Principal(name=f"{name} ({unit}, SMS)", role=COMMITTEE, district_lgd=None, unit=unit)


def _writable(who: Principal) -> None:
    if not who.can_write:
        raise ActionRefused("this role is read-only", 403)


def acknowledge(referrals: Referrals, case: Case, *, unit: str, name: str, who: Principal) -> Case:
    """Record that `unit` (a person in it, `name`) took the case up."""
    _writable(who)
    declared = referrals.rules.units.keys()
    if unit not in declared:
        raise ActionRefused(f"unit must be one of {', '.join(declared)}", 400)
    try:
        return referrals.acknowledge(case, unit=unit, name=name.strip()[:200] or who.name, actor=who.name,
                                     via="sms" if who.role == COMMITTEE else "staff")
    except CaseNotOpen as exc:
        raise ActionRefused(f"the case is {case.status}, not open") from exc


def escalate(referrals: Referrals, case: Case, *, reason: str, who: Principal) -> None:
    """Alert the next step now (or repeat the last one), also when the case was acknowledged."""
    _writable(who)
    if case.status == "resolved":
        raise ActionRefused("the case is resolved")
    if case.ladder is None:
        raise ActionRefused("the case has no ladder yet (routing pending)")
    if who.role == COMMITTEE:
        _committee_may_escalate(referrals, case, who)
    if not referrals.escalate(case.id or 0, case.step, case.round, reason="sms" if who.role == COMMITTEE else "staff",
                              actor=who.name, reopen=True):
        raise ActionRefused("the case moved on meanwhile; reload and try again")
    if reason.strip():
        referrals.note(case, text=f"escalation reason: {reason.strip()[:500]}", actor=who.name)


def _committee_may_escalate(referrals: Referrals, case: Case, who: Principal) -> None:
    if case.status == "acknowledged" and case.acknowledged_unit != who.unit:
        raise ActionRefused("another unit took the case up", reason="stale")
    at_top = case.step + 1 >= len(Ladder.from_dict(case.ladder or {}).steps)
    due = case.due_at if case.due_at is None or case.due_at.tzinfo else case.due_at.replace(tzinfo=UTC)
    if case.status == "open" and at_top and due is not None and due > _now(referrals):
        raise ActionRefused("the last step was alerted and its deadline has not passed", reason="early")


def reassign(referrals: Referrals, case: Case, *, to_step: int, reason: str, who: Principal) -> None:
    """Move the case to a later step of its ladder and alert that step (see the module docstring)."""
    _writable(who)
    if case.status == "resolved":
        raise ActionRefused("the case is resolved")
    if case.ladder is None:
        raise ActionRefused("the case has no ladder yet (routing pending)")
    if not reason.strip():
        raise ActionRefused("say why the case is reassigned", 400)
    ladder = Ladder.from_dict(case.ladder)
    if not case.step < to_step < len(ladder.steps):
        raise ActionRefused("choose a step after the current one", 400)
    if not referrals.escalate(case.id or 0, case.step, case.round, reason="staff", actor=who.name, reopen=True,
                              to_step=to_step):
        raise ActionRefused("the case moved on meanwhile; reload and try again")
    units = ", ".join(ladder.steps[to_step].unit_keys)
    referrals.note(case, text=f"reassigned to step {to_step + 1} ({units}): {reason.strip()[:500]}", actor=who.name)


def note(referrals: Referrals, case: Case, *, text: str, who: Principal) -> None:
    _writable(who)
    text = text.strip()
    if not text:
        raise ActionRefused("the note is empty", 400)
    referrals.note(case, text=text[:2000], actor=who.name)


def resolve(referrals: Referrals, case: Case, *, outcome: str, note: str, who: Principal) -> Case:
    """Close the case with one of OUTCOMES (staff), or confirm a committee's proposal; "other"
    needs a note saying what happened, and so does a case that still owes duties."""
    _writable(who)
    if outcome not in OUTCOMES:
        raise ActionRefused(f"outcome must be one of {', '.join(OUTCOMES)}", 400)
    if outcome == "other" and not note.strip():
        raise ActionRefused("say what happened in the note", 400)
    _allowed(case, "resolve", who)
    if casework.resolve_reason_needed(open_duties(referrals, case), note):
        raise ActionRefused("the case still owes duties: say in the note why it can close", 400)
    try:
        return referrals.resolve(case, outcome=outcome, note=note.strip()[:2000], actor=who.name)
    except CaseNotOpen as exc:
        raise ActionRefused("the case is already resolved") from exc


def confirm_closure(referrals: Referrals, case: Case, *, outcome: str, note: str, who: Principal) -> Case:
    """A district or admin user accepts what a committee's `DONE` proposed: the case closes."""
    if case.status != "closure_proposed":
        raise ActionRefused(f"no closure to confirm: the case is {case.status}", 409)
    return resolve(referrals, case, outcome=outcome, note=note, who=who)


def propose_closure(referrals: Referrals, case: Case, *, note: str, who: Principal) -> Case:
    """`DONE` from the unit that took the case up: the district confirms before it closes."""
    _writable(who)
    if who.role == COMMITTEE and (case.status != "acknowledged" or case.acknowledged_unit != who.unit):
        raise ActionRefused("only the unit that took the case up can close it", 403, reason="not_yours")
    return _move(case, "propose_closure", who, lambda: referrals.propose_closure(case, note=note.strip()[:2000], actor=who.name))


def send_back(referrals: Referrals, case: Case, *, note: str, who: Principal) -> Case:
    _writable(who)
    if not note.strip():
        raise ActionRefused("say why the closure is not accepted", 400)
    return _move(case, "send_back", who, lambda: referrals.send_back(case, note=note.strip()[:2000], actor=who.name))


def reopen(referrals: Referrals, case: Case, *, reason: str, who: Principal) -> Case:
    _writable(who)
    if not reason.strip():
        raise ActionRefused("say why the case is reopened", 400)
    return _move(case, "reopen", who, lambda: referrals.reopen(case, reason=reason.strip()[:500], actor=who.name))


def assign(referrals: Referrals, case: Case, *, username: str | None, who: Principal) -> Case:
    """Name the console user of the case's district who follows it (None or "" : nobody)."""
    _writable(who)
    if who.role not in ("admin", "district"):
        raise ActionRefused("only a district or admin user assigns cases", 403)
    if case.status == "resolved":
        raise ActionRefused("the case is resolved")
    user = None
    if username:
        with Session(referrals.engine) as session:
            user = session.exec(select(User).where(User.username == username, col(User.active).is_(True))).first()
        if user is None:
            raise ActionRefused(f"no active console user {username!r}", 400)
        if user.role == "viewer" or (user.role == "district" and user.district_lgd != case.district_lgd):
            raise ActionRefused(f"{username} cannot act on this district's cases", 400)
    return referrals.assign(case, username=user.username if user else None, name=user.name if user else "",
                            phone=user.phone if user else None, actor=who.name)


def record_duty(referrals: Referrals, case: Case, key: str, *, details: str, who: Principal,
                not_applicable: bool = False, due_at: datetime | None = None) -> CaseDuty:
    """Record a duty done, mark it not applicable (with a reason), or give it a new date."""
    _writable(who)
    if case.status in ("open", "resolved") and due_at is None:
        raise ActionRefused(f"the case is {case.status}: duties start once a unit takes it up")
    try:
        if due_at is not None:
            return referrals.desk.move_due(case, key, due_at, actor=who.name)
        if not_applicable and not details.strip():
            raise ActionRefused("say why the duty does not apply", 400)
        return referrals.desk.record(case, key, actor=who.name, details=details.strip(), not_applicable=not_applicable,
                                     owner_units={who.unit or ""} if who.role == COMMITTEE else None)
    except DutyRefused as exc:
        raise ActionRefused(str(exc), exc.status, exc.reason) from exc


def open_duties(referrals: Referrals, case: Case) -> int:
    with Session(referrals.engine) as session:
        return len(session.exec(select(CaseDuty.id).where(CaseDuty.case_id == case.id,
                                                          CaseDuty.status == "open")).all())


def _move(case: Case, action: casework.Action, who: Principal, apply: Callable[[], Case]) -> Case:
    """A change of status: allowed from where the case stands, for this role, and still so when applied."""
    _allowed(case, action, who)
    try:
        return apply()
    except CaseNotOpen as exc:
        raise ActionRefused("the case moved on meanwhile") from exc


def _allowed(case: Case, action: casework.Action, who: Principal) -> None:
    try:
        casework.next_status(case.status, action, role=who.role)
    except casework.NotAllowed as exc:
        status = 403 if "only" in str(exc) else 409
        raise ActionRefused(str(exc), status, reason="not_yours" if status == 403 else "stale") from exc


def _now(referrals: Referrals) -> datetime:
    return as_datetime(referrals.clock.now())
