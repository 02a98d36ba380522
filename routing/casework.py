"""A case's state machine: its status, step and round, and who may move it, as pure decisions.

The referral loop (gateway.referrals) applies these with guarded UPDATEs; nothing here touches
Redis or SQL, so every rule of a case's life is tested on its own (tests/test_casework.py).

    open ──ACK──▶ acknowledged ──DONE by a committee──▶ closure_proposed ──confirm──▶ resolved
      ▲  ╰──────────── staff resolve (open duties need a reason) ──────────────────────╯  │
      ╰── escalate (acknowledged → open, next step)        send back ──▶ acknowledged    │
                                          reopen (a reason, or a new report) ◀───────────╯
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["acknowledge", "escalate", "propose_closure", "confirm", "send_back", "reopen", "resolve"]

# Where each action may start, and where it leaves the case.
_FROM: dict[str, tuple[str, ...]] = {
    "acknowledge": ("open",),
    "escalate": ("open", "acknowledged", "closure_proposed"),
    "propose_closure": ("acknowledged",),
    "confirm": ("closure_proposed",),
    "send_back": ("closure_proposed",),
    "reopen": ("resolved",),
    "resolve": ("open", "acknowledged", "closure_proposed"),  # staff, with an outcome
}
_TO: dict[str, str] = {
    "acknowledge": "acknowledged", "escalate": "open", "propose_closure": "closure_proposed",
    "confirm": "resolved", "send_back": "acknowledged", "reopen": "acknowledged", "resolve": "resolved",
}
# Closing and reopening are the district's and the admin's; a committee proposes.
_STAFF_ONLY = frozenset({"confirm", "send_back", "reopen", "resolve"})


class NotAllowed(ValueError):
    """The action does not apply to a case in this status, or not for this role."""


def allowed_from(action: Action) -> tuple[str, ...]:
    return _FROM[action]


def target(action: Action) -> str:
    return _TO[action]


def next_status(status: str, action: Action, *, role: str) -> str:
    """The status `action` leaves a case in; raises NotAllowed with the reason a person reads."""
    if action in _STAFF_ONLY and role not in ("admin", "district"):
        raise NotAllowed("only a district or admin user can close or reopen a case")
    if status not in _FROM[action]:
        raise NotAllowed(f"the case is {status.replace('_', ' ')}")
    return _TO[action]


def reopened_status(acknowledged_unit: str | None) -> str:
    """A reopened case goes back to the unit that had it; with nobody, to the ladder from the start."""
    return "acknowledged" if acknowledged_unit else "open"


def resolve_reason_needed(open_duties: int, note: str) -> bool:
    """A case that still owes duties is closed only with a word on why (an FIR not needed, say)."""
    return open_duties > 0 and not note.strip()


@dataclass(frozen=True)
class Move:
    """Where an escalation takes a case: the next step, or the top step once more."""

    step: int
    round: int
    kind: Literal["escalated", "reassigned", "reminded"]
    overdue: bool  # the top step's deadline has passed: the DCPU's queue flags it


def next_move(steps: int, step: int, round_: int, *, overdue: bool, to_step: int | None = None) -> Move:
    """From (step, round) of a ladder of `steps` steps: a chosen later step, the next, or a repeat."""
    if to_step is not None and step < to_step < steps:
        return Move(to_step, 0, "reassigned", overdue)
    if step + 1 < steps:
        return Move(step + 1, 0, "escalated", overdue)
    return Move(step, round_ + 1, "reminded", True)
