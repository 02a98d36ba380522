"""Call-back requests from missed calls (issue 19): the list a DCPU works through, the caller's
number on request (each view recorded), and "called back". A district user sees and acts on its
own district only; another district's request is a 404, as another district's case is."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.responses import Response

from gateway.channels import missed_calls
from gateway.record.models import ConsoleAudit
from gateway.web.console.guards import ConsoleError, services, staff, writer
from gateway.web.console.params import int_or_none
from gateway.web.console.places import scoped_district
from gateway.web.console.templating import redirect, render
from gateway.web.console.users import StaffMember

router = APIRouter(prefix="/console")


def _page(request: Request, member: StaffMember, *, number: str | None = None, shown: int | None = None,
          done: str | None = None) -> Response:
    district = scoped_district(member.principal, int_or_none(request.query_params.get("district")))
    rows = missed_calls.open_requests(services(request).engine, district,
                                      include_done=request.query_params.get("all") == "1")
    return render(request, "callbacks.html", {"rows": rows, "number": number, "shown": shown, "done": done,
                                              "can_write": member.principal.can_write, "district": district})


def _mine(request: Request, member: StaffMember, request_id: int) -> missed_calls.MissedCall:
    district = member.principal.district_lgd if member.principal.role == "district" else None
    row = missed_calls.find(services(request).engine, request_id, district)
    if row is None:
        raise ConsoleError(404, "No such call-back request.")
    return row


@router.get("/callbacks")
def callbacks_page(request: Request, member: StaffMember = Depends(staff)) -> Response:
    return _page(request, member, done="Marked as called back." if request.query_params.get("done") else None)


@router.post("/callbacks/{request_id}/number")
def show_number(request_id: int, request: Request, member: StaffMember = Depends(writer)) -> Response:
    """The caller's number, in this response only; the view is recorded with the staff member's name."""
    svc = services(request)
    row = _mine(request, member, request_id)
    number = svc.cipher.decrypt(row.phone_encrypted) if row.phone_encrypted else None
    if number is None:
        raise ConsoleError(404, "The number of this call is no longer kept.")
    with Session(svc.engine) as session:
        session.add(ConsoleAudit(actor=member.actor, action="callback_number_viewed", detail={"missed_call": row.id}))
        session.commit()
    return _page(request, member, number=number, shown=row.id)


@router.post("/callbacks/{request_id}/called-back")
def called_back(request_id: int, request: Request, member: StaffMember = Depends(writer)) -> Response:
    row = _mine(request, member, request_id)
    missed_calls.mark_called_back(services(request).engine, row, member.actor)
    return redirect("/console/callbacks?done=1")
