"""The JSON API for what the console does beyond gateway.web.api: the queue, reassign, the reporter's
number, directory edits and imports, failing phones, coverage gaps, the dashboard and its CSV.

Same bearer tokens, same rules: a district token sees only its district (another district's case
or contact is a 404), a viewer token only reads and never sees a reporter's number.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.responses import JSONResponse, Response

from gateway.referrals import actions
from gateway.referrals.actions import Principal
from gateway.services import Services
from gateway.web.api import get_case, principal
from gateway.web.console import (
    casefile,
    contacts,
    coverage,
    exports,
    imports,
    queue,
    stats,
)
from gateway.web.console.params import now
from gateway.web.console.places import in_scope, scoped_district
from gateway.web.console.reading import read_only
from menus.refs import parse_reference
from routing.lifecycle import IST, OUTCOMES

router = APIRouter(prefix="/api/v1")


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


class QueueItem(BaseModel):
    ref: str
    concern: str
    urgent: bool
    emergency: bool
    status: str
    village: str
    block: str
    district: str
    step: int = Field(description="current ladder step, 0-based as in /cases")
    units: list[str]
    seconds_since_report: float
    seconds_to_deadline: float | None = Field(description="negative when the deadline has passed")
    late: bool = Field(description="open and past a deadline")
    acknowledged_by: str | None


@router.get("/queue", response_model=list[QueueItem], tags=["cases"])
def list_queue(
    request: Request, who: Principal = Depends(principal),
    district: int | None = Query(None), block: int | None = Query(None), concern: str | None = Query(None),
    status: str = Query("active", description=f"one of {', '.join(queue.STATUS_CHOICES)}"),
    late: bool = Query(False, description="only open cases past a deadline"),
) -> list[dict[str, Any]]:
    """The console's queue: emergencies and cases past a deadline first."""
    if status not in queue.STATUS_CHOICES:
        raise HTTPException(400, f"status must be one of {', '.join(queue.STATUS_CHOICES)}")
    svc = _services(request)
    wanted = queue.QueueFilter(district=scoped_district(who, district), block=block, concern=concern, status=status,
                               late_only=late)
    with read_only(svc.engine) as session:
        rows, _ = queue.find(session, who, wanted, now(svc))
    return [{**row.__dict__, "units": list(row.units), "seconds_since_report": row.age_s,
             "seconds_to_deadline": row.left_s} for row in rows]


class ReassignBody(BaseModel):
    to_step: int = Field(..., ge=1, description="the ladder step to move to, 1-based; must be after the current one")
    reason: str = Field(..., min_length=1, max_length=500)


def _case(request: Request, ref: str, who: Principal) -> Any:
    if parse_reference(ref) is None:
        raise HTTPException(400, "not a case reference: 6-10 digits with a valid check digit")
    with read_only(_services(request).engine) as session:
        try:
            return casefile.load(session, who, ref)
        except casefile.CaseNotFound:
            raise HTTPException(404, "no such case") from None


def _refused(exc: actions.ActionRefused) -> HTTPException:
    return HTTPException(exc.status, str(exc))


@router.post("/cases/{ref}/reassign", tags=["cases"])
def reassign(ref: str, body: ReassignBody, request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Move the case to a later step of its ladder and alert that step now (reason recorded as a note)."""
    if not who.can_write:
        raise HTTPException(403, "this token is read-only")
    case = _case(request, ref, who)
    try:
        actions.reassign(_services(request).referrals, case, to_step=body.to_step - 1, reason=body.reason, who=who)
    except actions.ActionRefused as exc:
        raise _refused(exc) from exc
    return get_case(ref, request, who)


class ReporterNumber(BaseModel):
    ref: str
    phone: str


@router.post("/cases/{ref}/reporter-number", response_model=ReporterNumber, tags=["cases"])
def reporter_number(ref: str, request: Request, who: Principal = Depends(principal)) -> dict[str, str]:
    """The call-back number of a reporter who agreed to one; every call is recorded on the case
    (event `reporter_number_viewed`). A POST, because it writes that record."""
    if not casefile.can_see_number(who):
        raise HTTPException(403, "this role may not see reporters' numbers")
    case = _case(request, ref, who)
    svc = _services(request)
    with Session(svc.engine) as session:
        try:
            phone = casefile.reveal_number(session, svc.cipher, who, case)
        except casefile.NumberNotAvailable:
            raise HTTPException(404, "the reporter did not agree to a call-back") from None
    return {"ref": case.ref, "phone": phone}


@router.get("/outcomes", tags=["cases"])
def outcomes() -> dict[str, str]:
    """Outcomes the console offers when resolving a case (the API's resolve takes any text)."""
    return OUTCOMES


# --- directory -------------------------------------------------------------------------------------


class ContactPublic(BaseModel):
    id: int
    name: str
    phone: str
    unit: str
    place_lgd_code: int
    place_level: str
    place: str
    role: str
    language: str
    active: bool


class ContactPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, min_length=5, max_length=20)
    role: str | None = Field(None, max_length=100)
    language: str | None = Field(None, max_length=16)
    active: bool | None = None


def _contact_json(contact: Any, place: Any) -> dict[str, Any]:
    return {"id": contact.id, "name": contact.name, "phone": contact.phone, "unit": contact.unit,
            "place_lgd_code": contact.place_lgd_code, "place_level": contact.place_level, "place": place.name,
            "role": contact.role,
            "language": contact.language, "active": contact.active}


@router.get("/directory/contacts", response_model=list[ContactPublic], tags=["directory"])
def list_contacts(request: Request, who: Principal = Depends(principal), district: int | None = Query(None),
                  unit: str | None = Query(None), active: bool | None = Query(None)) -> list[dict[str, Any]]:
    with read_only(_services(request).engine) as session:
        rows = contacts.listing(session, district=scoped_district(who, district), unit=unit,
                                active="" if active is None else ("yes" if active else "no"), search="")
    return [_contact_json(contact, place) for contact, place in rows]


@router.patch("/directory/contacts/{contact_id}", response_model=ContactPublic, tags=["directory"])
def patch_contact(contact_id: int, body: ContactPatch, request: Request,
                  who: Principal = Depends(principal)) -> dict[str, Any]:
    """Edit or deactivate (`{"active": false}`) a contact; audited with the token's name."""
    if not who.can_write:
        raise HTTPException(403, "this token is read-only")
    svc = _services(request)
    with Session(svc.engine) as session:
        found = contacts.in_scope(session, who, contact_id)
        if found is None:
            raise HTTPException(404, "no such contact")
        contact, place = found
        values = {field: getattr(contact, field) for field in ("name", "phone", "role", "language", "active")}
        values.update(body.model_dump(exclude_none=True))
        try:
            contacts.update_contact(session, contact, actor=who.name, **values)
        except contacts.ContactError as exc:
            raise HTTPException(400, str(exc)) from exc
        result = _contact_json(contact, place)
    svc.referrals.directory.forget()  # type: ignore[attr-defined]
    return result


@router.post("/directory/import", tags=["directory"])
async def import_directory(request: Request, who: Principal = Depends(principal),
                           dry_run: bool = Query(True, description="only report what would change"),
                           places: UploadFile | None = File(None), contacts_file: UploadFile | None = File(None, alias="contacts")) -> Response:
    """Upsert places and/or contacts from CSV (the CLI's format). With `dry_run` (the default)
    nothing is written; otherwise all or nothing. 400 with `problems` when a row is refused."""
    if not who.can_write:
        raise HTTPException(403, "this token is read-only")
    places_csv = await places.read(imports.MAX_BYTES + 1) if places else None
    contacts_csv = await contacts_file.read(imports.MAX_BYTES + 1) if contacts_file else None
    if places_csv is None and contacts_csv is None:
        raise HTTPException(400, "send a places file, a contacts file, or both")
    svc = _services(request)
    preview = await anyio.to_thread.run_sync(partial(  # a directory import is seconds of SQL: never on the loop
        imports.run, svc.engine, who, places_csv=places_csv, contacts_csv=contacts_csv, apply=not dry_run,
        units=svc.referrals.rules.units.keys(), levels=svc.referrals.rules.levels))
    if preview.applied:
        svc.referrals.directory.forget()  # type: ignore[attr-defined]
    body = {"applied": preview.applied, "problems": preview.problems, **{
        name: {"new": s.new, "changed": s.changed, "unchanged": s.unchanged,
               "changes": [{"key": c.key, "kind": c.kind, "fields": {k: list(v) for k, v in c.fields.items()}}
                           for c in s.changes]}
        for name, s in (("places", preview.places), ("contacts", preview.contacts))}}
    return JSONResponse(body, status_code=200 if preview.ok else 400)


class FailingPublic(BaseModel):
    phone: str
    failures: int
    last_failure: datetime
    last_reason: str
    contacts: list[str]
    delivered_since: int


@router.get("/directory/failing", response_model=list[FailingPublic], tags=["directory"])
def failing_phones(request: Request, who: Principal = Depends(principal),
                   district: int | None = Query(None)) -> list[dict[str, Any]]:
    """Committee phones whose SMS keep failing (at least two final failures in 30 days)."""
    svc = _services(request)
    with read_only(svc.engine) as session:
        return [row.__dict__ for row in contacts.failing(session, who, scoped_district(who, district), now(svc))]


@router.get("/directory/gaps", tags=["directory"])
def gaps(request: Request, district: int = Query(..., description="district LGD code"),
         who: Principal = Depends(principal)) -> dict[str, Any]:
    """Units with nobody active in a district, grouped by where the unit should sit."""
    svc = _services(request)
    with read_only(svc.engine) as session:
        place = in_scope(session, who, "district", district)
    if place is None:
        raise HTTPException(404, "no such district")
    groups, villages = coverage.district_gaps(svc, district)
    return {"district": district, "villages": villages,
            "gaps": [{"unit": g.unit, "place": g.place, "villages": g.villages} for g in groups]}


# --- dashboard -------------------------------------------------------------------------------------


def _board(request: Request, who: Principal, district: int | None, since: date | None, until: date | None) -> stats.Dashboard:
    svc = _services(request)
    moment = now(svc)
    since, until = stats.clamp_period(since, until, moment.astimezone(IST).date())
    with read_only(svc.engine) as session:
        return stats.build(session, district=scoped_district(who, district), since=since, until=until, now=moment)


@router.get("/dashboard", tags=["dashboard"])
def dashboard(request: Request, who: Principal = Depends(principal), district: int | None = Query(None),
              since: date | None = Query(None), until: date | None = Query(None)) -> dict[str, Any]:
    """Reports by concern and block, minutes to acknowledgement per step and week (median, p90),
    missed deadlines per week, open cases past a deadline now, duty compliance (FIRs and CWC
    productions within 24 hours), hours to each duty and to closure, outcomes by concern; default:
    the last 12 weeks."""
    return _board(request, who, district, since, until).as_json()


@router.get("/exports/{name}.csv", tags=["dashboard"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export(name: str, request: Request, who: Principal = Depends(principal), district: int | None = Query(None),
           since: date | None = Query(None), until: date | None = Query(None)) -> Response:
    """CSV for the District Child Protection Plan: `cases`, `reports`, `ack_times`, `weekly`, `duties`, `closure`."""
    if name not in exports.WRITERS:
        raise HTTPException(404, f"no such export; one of {', '.join(exports.WRITERS)}")
    board = _board(request, who, district, since, until)
    return Response(exports.WRITERS[name](board), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{exports.filename(name, board)}"'})
