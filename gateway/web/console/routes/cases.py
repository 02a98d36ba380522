"""The queue, the case page and the staff actions on it. Each route parses, calls one verb, answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import Response

from gateway.record.models import Case
from gateway.referrals import actions
from gateway.web.console import casefile, params, queue
from gateway.web.console.guards import ConsoleError, services, staff, writer
from gateway.web.console.params import int_or_none, now
from gateway.web.console.places import blocks, districts, scoped_district
from gateway.web.console.reading import read_only
from gateway.web.console.templating import is_emergency, redirect, render
from gateway.web.console.users import StaffMember
from routing.concerns import KEYS

router = APIRouter(prefix="/console")
REFRESH_S = 20  # how often the queue refreshes itself
DONE = {"acknowledged": "Acknowledgement recorded.", "escalated": "Escalated: the next step is being alerted.",
        "reassigned": "Reassigned: the chosen step is being alerted.", "noted": "Note added.",
        "resolved": "Case resolved.", "duty": "Duty recorded.", "assigned": "Assignment saved.",
        "sent_back": "Closure sent back: the unit is told by SMS.", "reopened": "Case reopened."}


def _filters(request: Request, member: StaffMember) -> queue.QueueFilter:
    q = request.query_params
    concern = q.get("concern") or None
    status = q.get("status") or "active"
    return queue.QueueFilter(
        district=scoped_district(member.principal, int_or_none(q.get("district"))),
        block=int_or_none(q.get("block")),
        concern=concern if concern in KEYS else None,
        status=status if status in queue.STATUS_CHOICES else "active",
        late_only=q.get("late") == "1",
        assigned_to=member.username if q.get("mine") == "1" else None,
        duty_late_only=q.get("duty_late") == "1",
    )


def _queue_context(request: Request, member: StaffMember) -> dict[str, Any]:
    svc = services(request)
    wanted = _filters(request, member)
    with read_only(svc.engine) as session:
        rows, more = queue.find(session, member.principal, wanted, now(svc))
        district_choices = districts(session, member.principal)
        block_choices = blocks(session, wanted.district)
    return {"rows": rows, "more": more, "filters": wanted, "districts": district_choices, "blocks": block_choices,
            "statuses": list(queue.STATUS_CHOICES), "refresh_s": REFRESH_S, "query": request.url.query,
            "limit": queue.LIMIT}


@router.get("")
def queue_page(request: Request, member: StaffMember = Depends(staff)) -> Response:
    return render(request, "queue.html", _queue_context(request, member))


@router.get("/queue/rows")
def queue_rows(request: Request, member: StaffMember = Depends(staff)) -> Response:
    """The queue's table body alone: what the page's script swaps in on each refresh."""
    return render(request, "_queue_rows.html", _queue_context(request, member))


def _case_page(request: Request, member: StaffMember, ref: str, *, status: int = 200, error: str = "",
               number: str | None = None) -> Response:
    svc = services(request)
    who = member.principal
    with read_only(svc.engine) as session:
        try:
            case = casefile.load(session, who, ref)
        except casefile.CaseNotFound:
            raise ConsoleError(404, "No such case.") from None
        context = {
            "case": case, "places": casefile.places_of(session, case), "timeline": casefile.timeline(session, case),
            "ladder": casefile.ladder(case), "rule": (case.ladder or {}).get("rule", ""), "emergency": is_emergency(case.concern, case.urgent),
            "late": queue.is_late(case, now(svc)), "now": now(svc), "units": svc.referrals.rules.units.keys(),
            "step_units": queue.step_units(case), "can_write": who.can_write,
            "can_see_number": casefile.can_see_number(who) and casefile.has_number(session, case),
            "number": number, "error": error, "done": DONE.get(request.query_params.get("done", ""), ""),
            "duties": casefile.duties(session, case, now(svc)),
            "assignable": casefile.assignable(session, case) if who.role in ("admin", "district") else [],
        }
    return render(request, "case.html", context, status)


@router.get("/cases/{ref}")
def case_page(ref: str, request: Request, member: StaffMember = Depends(staff)) -> Response:
    return _case_page(request, member, ref)


def _act(request: Request, member: StaffMember, ref: str, done: str, verb: Any, **values: Any) -> Response:
    """Load the case in scope, run the action, and go back to the case page (or show why not)."""
    svc = services(request)
    with read_only(svc.engine) as session:
        try:
            case: Case = casefile.load(session, member.principal, ref)
        except casefile.CaseNotFound:
            raise ConsoleError(404, "No such case.") from None
    try:
        verb(svc.referrals, case, who=member.principal, **values)
    except actions.ActionRefused as exc:
        return _case_page(request, member, ref, status=exc.status, error=str(exc))
    return redirect(f"/console/cases/{case.ref}?done={done}")


@router.post("/cases/{ref}/acknowledge")
def acknowledge(ref: str, request: Request, unit: str = Form(""), name: str = Form(""),
                member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "acknowledged", actions.acknowledge, unit=unit, name=name)


@router.post("/cases/{ref}/escalate")
def escalate(ref: str, request: Request, reason: str = Form(""), member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "escalated", actions.escalate, reason=reason)


@router.post("/cases/{ref}/reassign")
def reassign(ref: str, request: Request, to_step: str = Form(""), reason: str = Form(""),
             member: StaffMember = Depends(writer)) -> Response:
    step = int_or_none(to_step)
    return _act(request, member, ref, "reassigned", actions.reassign, to_step=(step or 0) - 1, reason=reason)


@router.post("/cases/{ref}/notes")
def add_note(ref: str, request: Request, text: str = Form(""), member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "noted", actions.note, text=text)


@router.post("/cases/{ref}/resolve")
def resolve(ref: str, request: Request, outcome: str = Form(""), note: str = Form(""),
            member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "resolved", actions.resolve, outcome=outcome, note=note)


@router.post("/cases/{ref}/duties/{key}")
def record_duty(ref: str, key: str, request: Request, action: str = Form("done"), details: str = Form(""),
                due: str = Form(""), member: StaffMember = Depends(writer)) -> Response:
    """One duty: done (with details), not applicable (details say why), or a new date (`due`, IST)."""
    due_at = None
    if action == "move":
        due_at = params.ist_datetime(due)
        if due_at is None:
            return _case_page(request, member, ref, status=400, error="Give the new date as a date and time.")
    return _act(request, member, ref, "duty", actions.record_duty, key=key, details=details,
                not_applicable=action == "na", due_at=due_at)


@router.post("/cases/{ref}/assign")
def assign(ref: str, request: Request, username: str = Form(""), member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "assigned", actions.assign, username=username.strip() or None)


@router.post("/cases/{ref}/send-back")
def send_back(ref: str, request: Request, note: str = Form(""), member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "sent_back", actions.send_back, note=note)


@router.post("/cases/{ref}/reopen")
def reopen(ref: str, request: Request, reason: str = Form(""), member: StaffMember = Depends(writer)) -> Response:
    return _act(request, member, ref, "reopened", actions.reopen, reason=reason)


@router.post("/cases/{ref}/reporter-number")
def show_number(ref: str, request: Request, member: StaffMember = Depends(writer)) -> Response:
    """Show the call-back number once, in this response only, and record that it was seen."""
    svc = services(request)
    with Session(svc.engine) as session:
        try:
            case = casefile.load(session, member.principal, ref)
            number = casefile.reveal_number(session, svc.cipher, member.principal, case)
        except casefile.CaseNotFound:
            raise ConsoleError(404, "No such case.") from None
        except casefile.NumberNotAvailable:
            raise ConsoleError(404, "The reporter did not agree to a call-back: there is no number.") from None
        except PermissionError:
            raise ConsoleError(403, "Your role may not see reporters' numbers.") from None
    return _case_page(request, member, ref, number=number)
