"""Staff actions on a case, for the console's forms and the JSON API alike, each audited by name.

Acknowledge, escalate, note and resolve are `gateway.referrals` verbs with the API's rules.
*Reassign* is the console's own: it moves an open or acknowledged case straight to a chosen
**later** step of its ladder (say from the village committee to the DCPU, skipping the block),
alerts that step's contacts with its own deadline, and records the staff member's reason as a
note. Only forward, for two reasons: handing a case back down is what "acknowledge on behalf of a
unit" already records, and every alert is deduplicated per (case, step, round, phone), so a step
that was alerted once cannot be alerted at round 0 again without colliding with its first alerts.
"""

from __future__ import annotations


from gateway.auth import Principal
from gateway.console.templating import OUTCOMES
from gateway.models import UNITS, Case
from gateway.referrals import CaseNotOpen
from gateway.services import Services
from routing.ladder import Ladder


class ActionRefused(ValueError):
    """The action does not apply to the case as it is now; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _writable(who: Principal) -> None:
    if not who.can_write:
        raise ActionRefused("this role is read-only", 403)


def acknowledge(services: Services, case: Case, *, unit: str, name: str, who: Principal) -> None:
    """Record that `unit` (a person in it, `name`) took the case up, as told by phone, say."""
    _writable(who)
    if unit not in UNITS:
        raise ActionRefused(f"unit must be one of {', '.join(UNITS)}", 400)
    try:
        services.referrals.acknowledge(case, unit=unit, name=name.strip()[:200] or who.name, actor=who.name,
                                       via="staff")
    except CaseNotOpen as exc:
        raise ActionRefused(f"the case is {case.status}, not open") from exc


def escalate(services: Services, case: Case, *, reason: str, who: Principal) -> None:
    """Alert the next step now (or repeat the last one), also when the case was acknowledged."""
    _writable(who)
    if case.status == "resolved":
        raise ActionRefused("the case is resolved")
    if case.ladder is None:
        raise ActionRefused("the case has no ladder yet (routing pending)")
    if not services.referrals.escalate(case.id or 0, case.step, case.round, reason="staff", actor=who.name,
                                       reopen=True):
        raise ActionRefused("the case moved on meanwhile; reload and try again")
    if reason.strip():
        services.referrals.note(case, text=f"escalation reason: {reason.strip()[:500]}", actor=who.name)


def reassign(services: Services, case: Case, *, to_step: int, reason: str, who: Principal) -> None:
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
    moved = services.referrals.escalate(case.id or 0, case.step, case.round, reason="staff", actor=who.name,
                                        reopen=True, to_step=to_step)
    if not moved:
        raise ActionRefused("the case moved on meanwhile; reload and try again")
    units = ", ".join(ladder.steps[to_step].unit_keys)
    services.referrals.note(case, text=f"reassigned to step {to_step + 1} ({units}): {reason.strip()[:500]}",
                            actor=who.name)


def note(services: Services, case: Case, *, text: str, who: Principal) -> None:
    _writable(who)
    text = text.strip()
    if not text:
        raise ActionRefused("the note is empty", 400)
    services.referrals.note(case, text=text[:2000], actor=who.name)


def resolve(services: Services, case: Case, *, outcome: str, note: str, who: Principal) -> None:
    """Close the case with one of OUTCOMES; "other" needs a note saying what happened."""
    _writable(who)
    if outcome not in OUTCOMES:
        raise ActionRefused(f"outcome must be one of {', '.join(OUTCOMES)}", 400)
    if outcome == "other" and not note.strip():
        raise ActionRefused("say what happened in the note", 400)
    try:
        services.referrals.resolve(case, outcome=outcome, note=note.strip()[:2000], actor=who.name)
    except CaseNotOpen as exc:
        raise ActionRefused("the case is already resolved") from exc
