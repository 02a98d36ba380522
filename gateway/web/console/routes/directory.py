"""The directory page: places and contacts of a district, contact edits, CSV import with a preview,
phones whose SMS keep failing, and coverage gaps."""

from __future__ import annotations

import base64
import binascii
import tempfile
from functools import partial
from pathlib import Path

import anyio
from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile
from starlette.responses import Response

from gateway.channels.poster_places import block_places, state_language
from gateway.channels.posters import POSTER_LANGUAGES, PosterError, render_posters
from gateway.record.models import Contact, Place, at_place
from gateway.web.console import contacts, coverage, imports
from gateway.web.console.guards import ConsoleError, services, staff, writer
from gateway.web.console.params import int_or_none, now
from gateway.web.console.places import districts, in_scope, scoped_district
from gateway.web.console.reading import read_only
from gateway.web.console.templating import redirect, render
from gateway.web.console.users import StaffMember

router = APIRouter(prefix="/console")


def _block_table(session: Session, district: int) -> list[dict[str, object]]:
    """Each block of the district with its panchayats, villages and active contacts counted, and
    its villages (name, panchayat, active village-committee contacts) for the page to unfold."""
    places = list(session.exec(select(Place).where(col(Place.district_lgd) == district)))
    names = {place.lgd_code: place.name for place in places if place.level == "gram_panchayat"}
    committees = dict(session.exec(  # type: ignore[call-overload]
        select(Contact.place_lgd_code, func.count()).join(Place, at_place())
        .where(col(Place.district_lgd) == district, col(Place.level) == "village", col(Contact.active))
        .group_by(Contact.place_lgd_code)).all())
    villages: dict[int | None, list[dict[str, object]]] = {}
    for place in sorted(places, key=lambda p: (names.get(p.gram_panchayat_lgd or 0, ""), p.name)):
        if place.level == "village":
            villages.setdefault(place.block_lgd, []).append({
                "place": place, "panchayat": names.get(place.gram_panchayat_lgd or 0, "—"),
                "committee": committees.get(place.lgd_code, 0)})
    rows = []
    for block in session.exec(select(Place).where(col(Place.level) == "block", col(Place.district_lgd) == district)
                              .order_by(col(Place.name))):
        counts = dict(session.exec(select(Place.level, func.count()).where(col(Place.block_lgd) == block.lgd_code)
                                   .group_by(Place.level)).all())  # type: ignore[call-overload]
        active = session.exec(select(func.count()).select_from(Contact).join(
            Place, at_place()).where(
            col(Place.block_lgd) == block.lgd_code, col(Contact.active))).one()
        rows.append({"place": block, "panchayats": counts.get("gram_panchayat", 0),
                     "villages": counts.get("village", 0), "contacts": active,
                     "village_list": villages.get(block.lgd_code, [])})
    return rows


@router.get("/directory")
def directory_page(request: Request, member: StaffMember = Depends(staff)) -> Response:
    svc = services(request)
    q = request.query_params
    who = member.principal
    district = scoped_district(who, int_or_none(q.get("district")))
    units = svc.referrals.rules.units.keys()
    unit = q.get("unit") if q.get("unit") in units else None
    active, search = q.get("active", ""), q.get("q", "")[:100]
    with read_only(svc.engine) as session:
        choices = districts(session, who)
        context = {
            "districts": choices, "district": district, "unit": unit, "active": active, "search": search,
            "units": units, "contacts": contacts.listing(session, district=district, unit=unit, active=active,
                                                        search=search),
            "limit": contacts.LIST_LIMIT, "blocks": _block_table(session, district) if district else [],
            "failing": contacts.failing(session, who, district, now(svc)), "failing_at": contacts.FAILING_AT_LEAST,
            "can_write": who.can_write, "done": q.get("done", ""),
        }
    if district is not None:
        context["gaps"], context["village_count"] = coverage.district_gaps(svc, district)
    return render(request, "directory.html", context)


@router.get("/directory/posters/{block_lgd}.pdf")
def posters_pdf(block_lgd: int, request: Request, member: StaffMember = Depends(staff)) -> Response:
    """A block's posters as a PDF download (the same as `cpgw posters`), inside the staff member's scope."""
    svc = services(request)
    with read_only(svc.engine) as session:
        block = in_scope(session, member.principal, "block", block_lgd)
    if block is None:
        raise ConsoleError(404, "No such block in your district.")
    lang = request.query_params.get("lang") or state_language(block.state_lgd)
    if lang not in POSTER_LANGUAGES:
        raise ConsoleError(400, f"No poster texts in {lang!r}.")
    places, _ = block_places(svc.engine, block_lgd, lang)
    settings = svc.settings
    with tempfile.TemporaryDirectory(prefix="cpgw-posters-") as folder:
        out = Path(folder) / "posters.pdf"
        try:
            render_posters(places, lang, out, ussd_code=settings.ussd_code, sms_number=settings.sms_number)
        except PosterError as exc:
            raise ConsoleError(409, str(exc)) from exc
        data = out.read_bytes()
    name = f"posters-{block_lgd}-{lang}.pdf"
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/directory/contacts/{contact_id}")
def contact_page(contact_id: int, request: Request, member: StaffMember = Depends(staff)) -> Response:
    with read_only(services(request).engine) as session:
        found = contacts.in_scope(session, member.principal, contact_id)
        if found is None:
            raise ConsoleError(404, "No such contact.")
        contact, place = found
        return render(request, "contact.html", {"contact": contact, "place": place, "error": "",
                                                "languages": contacts.LANGUAGES, "can_write": member.principal.can_write})


@router.post("/directory/contacts/{contact_id}")
def contact_save(contact_id: int, request: Request, name: str = Form(""), phone: str = Form(""),
                 role: str = Form(""), language: str = Form("en"), active: str = Form(""),
                 member: StaffMember = Depends(writer)) -> Response:
    svc = services(request)
    with Session(svc.engine) as session:
        found = contacts.in_scope(session, member.principal, contact_id)
        if found is None:
            raise ConsoleError(404, "No such contact.")
        contact, place = found
        try:
            contacts.update_contact(session, contact, name=name, phone=phone, role=role, language=language,
                                    active=active == "yes", actor=member.actor)
        except contacts.ContactError as exc:
            session.rollback()
            contact = session.get(Contact, contact_id)
            return render(request, "contact.html", {"contact": contact, "place": place, "error": str(exc),
                                                    "languages": contacts.LANGUAGES, "can_write": True}, 400)
        district = place.district_lgd
    svc.referrals.directory.forget()  # type: ignore[attr-defined]
    return redirect(f"/console/directory?district={district or ''}&done=saved")


@router.post("/directory/contacts/{contact_id}/deactivate")
def contact_deactivate(contact_id: int, request: Request, member: StaffMember = Depends(writer)) -> Response:
    svc = services(request)
    with Session(svc.engine) as session:
        found = contacts.in_scope(session, member.principal, contact_id)
        if found is None:
            raise ConsoleError(404, "No such contact.")
        contact, place = found
        contacts.update_contact(session, contact, name=contact.name, phone=contact.phone, role=contact.role,
                                language=contact.language, active=False, actor=member.actor)
        district = place.district_lgd
    svc.referrals.directory.forget()  # type: ignore[attr-defined]
    return redirect(f"/console/directory?district={district or ''}&done=deactivated")


async def _upload(value: object, kept: object) -> bytes | None:
    """A file chosen on the form, or the same file carried back from the preview (base64)."""
    if isinstance(value, UploadFile) and value.filename:
        return await value.read(imports.MAX_BYTES + 1)
    if isinstance(kept, str) and kept:
        try:
            return base64.b64decode(kept, validate=True)
        except (binascii.Error, ValueError):
            raise ConsoleError(400, "The import form was damaged; choose the files again.") from None
    return None


@router.post("/directory/import")
async def directory_import(request: Request, member: StaffMember = Depends(writer)) -> Response:
    form = await request.form()
    places_csv = await _upload(form.get("places"), form.get("places_b64"))
    contacts_csv = await _upload(form.get("contacts"), form.get("contacts_b64"))
    if places_csv is None and contacts_csv is None:
        raise ConsoleError(400, "Choose a places file, a contacts file, or both.")
    apply = form.get("action") == "apply"
    svc = services(request)
    preview = await anyio.to_thread.run_sync(partial(  # a directory import is seconds of SQL: never on the loop
        imports.run, svc.engine, member.principal, places_csv=places_csv, contacts_csv=contacts_csv, apply=apply,
        units=svc.referrals.rules.units.keys(), levels=svc.referrals.rules.levels))
    if preview.applied:
        svc.referrals.directory.forget()  # type: ignore[attr-defined]
    return render(request, "import.html", {
        "preview": preview,
        "places_b64": base64.b64encode(places_csv).decode() if places_csv else "",
        "contacts_b64": base64.b64encode(contacts_csv).decode() if contacts_csv else "",
    }, 200 if preview.ok else 400)
