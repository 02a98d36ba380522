"""The JSON API (`/api/v1`), behind bearer tokens from `cpgw token create`.

A district token sees only its district: another district's case is a 404, exactly like a case
that does not exist, so references cannot be probed across districts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from gateway.infra.clock import as_datetime
from gateway.record.db import read_session
from gateway.record.directory import places_by_key
from gateway.record.models import Case, CaseDuty, CaseEvent, Message, Place
from gateway.referrals import actions
from gateway.referrals.actions import Principal
from gateway.referrals.duties import duties_of, duty_overdue, overdue_duties
from gateway.web.auth import principal_for
from menus.engine import PlaceKey
from menus.refs import parse_reference
from routing.lifecycle import STATUSES

router = APIRouter(prefix="/api/v1", tags=["cases"])


def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    found = principal_for(request.app.state.services.engine, token.strip())
    if found is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return found


class PlaceRef(BaseModel):
    lgd_code: int
    level: str
    name: str


class StepPublic(BaseModel):
    index: int
    units: list[str]


class Acknowledgement(BaseModel):
    unit: str
    name: str | None


class EventPublic(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class DutyPublic(BaseModel):
    key: str
    name: str
    owner: list[str]  # the units that owe it
    status: str  # open, done, not_applicable
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    details: str
    overdue: bool
    law: str
    keyword: str  # the SMS word that records it


class CaseSummary(BaseModel):
    ref: str
    status: str
    concern: str
    urgent: bool
    overdue: bool
    village: PlaceRef | None
    block: PlaceRef | None
    district: PlaceRef | None
    step: StepPublic | None
    acknowledged_by: Acknowledgement | None
    assigned_to: str | None
    duties: list[DutyPublic]
    created_at: datetime


class CasePublic(CaseSummary):
    """What the API shows of a case: never the reporter's number."""

    events: list[EventPublic]


def _places(session: Session, cases: list[Case]) -> dict[PlaceKey, Place]:
    return places_by_key(session, (key for case in cases for key in case.place_keys().values()))


def _place_ref(places: dict[PlaceKey, Place], key: PlaceKey | None) -> PlaceRef | None:
    place = places.get(key) if key else None
    return PlaceRef(lgd_code=place.lgd_code, level=place.level, name=place.name) if place else None


def _step(case: Case) -> StepPublic | None:
    steps = (case.ladder or {}).get("steps") or []
    if not 0 <= case.step < len(steps):
        return None
    return StepPublic(index=case.step, units=list(steps[case.step].get("units", [])))


def _summary(case: Case, places: dict[PlaceKey, Place], duties: list[CaseDuty], now: datetime) -> dict[str, Any]:
    ack = Acknowledgement(unit=case.acknowledged_unit, name=case.acknowledged_name) if case.acknowledged_unit else None
    keys = case.place_keys()
    return {
        "ref": case.ref, "status": case.status, "concern": case.concern, "urgent": case.urgent,
        "overdue": case.overdue, "village": _place_ref(places, keys["village"]),
        "block": _place_ref(places, keys["block"]), "district": _place_ref(places, keys["district"]),
        "step": _step(case), "acknowledged_by": ack, "assigned_to": case.assigned_to,
        "duties": [_duty(duty, now) for duty in duties], "created_at": case.created_at,
    }


def _duty(duty: CaseDuty, now: datetime) -> DutyPublic:
    return DutyPublic(key=duty.key, name=duty.name, owner=list(duty.owners), status=duty.status, due_at=duty.due_at,
                      done_at=duty.done_at, done_by=duty.done_by, details=duty.details, law=duty.law,
                      keyword=duty.keyword, overdue=duty_overdue(duty, now))


def _now(request: Request) -> datetime:
    return as_datetime(request.app.state.services.referrals.clock.now())  # the loop's clock: tests move it


@router.get("/cases", response_model=list[CaseSummary])
def list_cases(
    request: Request,
    who: Principal = Depends(principal),
    status: str | None = Query(None, description=f"one of {', '.join(STATUSES)}"),
    district: int | None = Query(None, description="district LGD code"),
    overdue: bool | None = Query(None),
    duty_overdue: bool | None = Query(None, description="true: only cases with a duty past its date"),
    assigned_to: str | None = Query(None, description="a console username"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(STATUSES)}")
    query = select(Case).order_by(col(Case.created_at).desc(), col(Case.id).desc())
    if who.role == "district":
        if district is not None and district != who.district_lgd:
            return []
        district = who.district_lgd
    if district is not None:
        query = query.where(Case.district_lgd == district)
    if status is not None:
        query = query.where(Case.status == status)
    if overdue is not None:
        query = query.where(Case.overdue == overdue)
    if assigned_to is not None:
        query = query.where(Case.assigned_to == assigned_to)
    now = _now(request)
    if duty_overdue is not None:
        late = select(CaseDuty.case_id).where(overdue_duties(now))
        query = query.where(col(Case.id).in_(late) if duty_overdue else col(Case.id).not_in(late))
    with read_session(request.app.state.services.engine) as session:
        cases = list(session.exec(query.offset(offset).limit(limit)))
        places = _places(session, cases)
        duties = duties_of(session, cases)
    return [_summary(case, places, duties.get(case.id or 0, []), now) for case in cases]


def _visible_case(session: Session, ref: str, who: Principal) -> Case:
    """The case `ref` names, if the caller may see it: 400 for a malformed reference, else 404."""
    reference = parse_reference(ref)
    if reference is None:
        raise HTTPException(400, "not a case reference: 6-10 digits with a valid check digit")
    case = session.exec(select(Case).where(Case.ref == reference)).first()
    if case is None or not who.sees_district(case.district_lgd):
        raise HTTPException(404, "no such case")
    return case


@router.get("/cases/{ref}", response_model=CasePublic)
def get_case(ref: str, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    with read_session(request.app.state.services.engine) as session:
        case = _visible_case(session, ref, who)
        events = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.at), col(CaseEvent.id))
        ).all()
        places = _places(session, [case])
        duties = duties_of(session, [case])
    body = _summary(case, places, duties.get(case.id or 0, []), _now(request))
    body["events"] = [EventPublic(at=e.at, kind=e.kind, actor=e.actor, detail=e.detail) for e in events]
    return body


# --- staff actions -------------------------------------------------------------------------------------


class AcknowledgeBody(BaseModel):
    unit: str = Field("DCPU", description="the unit acknowledging (on whose behalf)")
    name: str | None = Field(None, max_length=200, description="who acknowledged; default: the caller")


class EscalateBody(BaseModel):
    reason: str = Field("", max_length=500)


class ResolveBody(BaseModel):
    outcome: str = Field(..., min_length=1, max_length=100,
                         description="for example rescued, produced_before_cwc, referred_to_scheme, no_concern_found")
    note: str = Field("", max_length=2000)


class NoteBody(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000)


class DutyBody(BaseModel):
    details: str = Field("", max_length=500, description="what was done (an FIR number, the CWC's order); "
                                                          "with not_applicable, why it does not apply")
    not_applicable: bool = False
    reason: str = Field("", max_length=500, description="with not_applicable: why it does not apply (or in details)")
    due_at: datetime | None = Field(None, description="instead: a new date for the duty (a wedding's date)")


class AssignBody(BaseModel):
    username: str | None = Field(..., max_length=64, description="a console user of the case's district; null: nobody")


class ReasonBody(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500)


class SendBackBody(BaseModel):
    note: str = Field(..., min_length=1, max_length=2000)


def _case_for(request: Request, ref: str, who: Principal, *, write: bool) -> Case:
    if write and not who.can_write:
        raise HTTPException(403, "this token is read-only")
    with read_session(request.app.state.services.engine) as session:
        return _visible_case(session, ref, who)


def _act(request: Request, ref: str, who: Principal, action: Callable[..., None], **arguments: Any) -> dict[str, Any]:
    """One staff action through the layer every door uses (`gateway.referrals.actions`): the same checks,
    the same outcomes, the same audit; its refusal becomes a 4xx with the reason."""
    case = _case_for(request, ref, who, write=True)
    try:
        action(request.app.state.services.referrals, case, who=who, **arguments)
    except actions.ActionRefused as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    return get_case(ref, request, who)


@router.post("/cases/{ref}/acknowledge", response_model=CasePublic)
def acknowledge(ref: str, body: AcknowledgeBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return _act(request, ref, who, actions.acknowledge, unit=body.unit, name=body.name or who.name)


@router.post("/cases/{ref}/escalate", response_model=CasePublic)
def escalate(ref: str, body: EscalateBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return _act(request, ref, who, actions.escalate, reason=body.reason)


@router.post("/cases/{ref}/resolve", response_model=CasePublic)
def resolve(ref: str, body: ResolveBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Close the case with one of the outcomes (`GET /api/v1/outcomes`); `other` needs a note."""
    return _act(request, ref, who, actions.resolve, outcome=body.outcome, note=body.note)


@router.post("/cases/{ref}/confirm-closure", response_model=CasePublic)
def confirm_closure(ref: str, body: ResolveBody, request: Request, who: Principal = Depends(principal)
                    ) -> dict[str, Any]:
    """Accept a closure a committee proposed (`DONE`) with its outcome; 409 if none is proposed."""
    return _act(request, ref, who, actions.confirm_closure, outcome=body.outcome, note=body.note)


@router.post("/cases/{ref}/duties/{key}", response_model=CasePublic)
def record_duty(ref: str, key: str, body: DutyBody, request: Request, who: Principal = Depends(principal)
                ) -> dict[str, Any]:
    """Record a duty done (with `details`), not applicable (with the reason), or give it a new `due_at`."""
    if body.due_at is not None and body.due_at.tzinfo is None:
        raise HTTPException(400, "due_at needs a time zone (e.g. 2026-12-20T10:00:00+05:30)")
    return _act(request, ref, who, actions.record_duty, key=key, details=body.details or body.reason,
                not_applicable=body.not_applicable, due_at=body.due_at)


@router.post("/cases/{ref}/assign", response_model=CasePublic)
def assign(ref: str, body: AssignBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return _act(request, ref, who, actions.assign, username=body.username)


@router.post("/cases/{ref}/send-back", response_model=CasePublic)
def send_back(ref: str, body: SendBackBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Do not accept a proposed closure: the unit that had the case carries on, told why by SMS."""
    return _act(request, ref, who, actions.send_back, note=body.note)


@router.post("/cases/{ref}/reopen", response_model=CasePublic)
def reopen(ref: str, body: ReasonBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return _act(request, ref, who, actions.reopen, reason=body.reason)


@router.post("/cases/{ref}/notes", response_model=CasePublic)
def add_note(ref: str, body: NoteBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    return _act(request, ref, who, actions.note, text=body.text)


class MessagePublic(BaseModel):
    direction: str
    to: str | None
    from_: str | None = Field(None, alias="from")
    unit: str | None
    kind: str
    body: str
    status: str
    at: datetime

    model_config = {"populate_by_name": True}


@router.get("/messages", response_model=list[MessagePublic], response_model_by_alias=True, tags=["messages"])
def list_messages(request: Request, case: str = Query(..., description="case reference"),
                  who: Principal = Depends(principal)) -> list[dict[str, Any]]:
    """SMS in and out for a case. A reporter's number is never shown: `to` reads "reporter"."""
    found = _case_for(request, case, who, write=False)
    with read_session(request.app.state.services.engine) as session:
        rows = session.exec(select(Message).where(Message.case_id == found.id)
                            .order_by(col(Message.created_at), col(Message.id))).all()
    return [
        {"direction": m.direction, "to": m.to_phone or ("reporter" if m.direction == "out" else None),
         "from": m.from_phone, "unit": m.unit, "kind": m.kind, "body": m.body, "status": m.status, "at": m.created_at}
        for m in rows
    ]
