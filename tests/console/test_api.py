"""The console's JSON API (mounted at /api/v1 beside gateway.web.api): every role and scope, the
reporter's number with its audit event, directory edits and imports, the dashboard and CSV."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from gateway.record.models import Case, CaseEvent, Contact, Place
from gateway.web.auth import create_token


def auth(engine, role: str, district: int | None = None, name: str | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = create_token(engine, role=role, district_lgd=district, name=name or role)
    return {"Authorization": f"Bearer {token}"}


def test_the_queue_needs_a_token_and_keeps_to_the_district(client, engine, cases):
    assert client.get("/api/v1/queue").status_code == 401
    admin = client.get("/api/v1/queue", headers=auth(engine, "admin")).json()
    assert {row["ref"] for row in admin} == set(cases.values())
    ranchi = client.get("/api/v1/queue?district=9101", headers=auth(engine, "district", 9001)).json()
    assert [row["ref"] for row in ranchi] == [cases["ranchi"]]
    row = ranchi[0]
    assert row["late"] is False and row["seconds_to_deadline"] > 0 and row["units"] == ["VCPC", "CMPO", "CWC"]
    assert client.get("/api/v1/queue?status=nope", headers=auth(engine, "admin")).status_code == 400


@pytest.mark.parametrize(("role", "district", "status"), [
    ("admin", None, 200), ("district", 9001, 200), ("district", 9101, 404), ("viewer", None, 403)])
def test_the_reporters_number_by_role_and_scope(client, engine, cases, role, district, status):
    ref = cases["ranchi"]
    response = client.post(f"/api/v1/cases/{ref}/reporter-number", headers=auth(engine, role, district, "Meera"))
    assert response.status_code == status
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        views = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.kind == "reporter_number_viewed")).all()
    if status == 200:
        assert response.json() == {"ref": ref, "phone": "+919812300001"}
        assert [view.actor for view in views] == ["Meera"]
    else:
        assert "9812300001" not in response.text and not views


def test_no_number_for_an_anonymous_reporter(client, engine, cases):
    response = client.post(f"/api/v1/cases/{cases['purulia']}/reporter-number", headers=auth(engine, "admin"))
    assert response.status_code == 404


def test_reassign_by_role_and_scope(client, engine, cases):
    ref = cases["ranchi"]  # child marriage, not urgent: VCPC, CMPO, CWC; BCPC, DCPU; DCPO; DM, SCPS
    assert client.post(f"/api/v1/cases/{ref}/reassign", json={"to_step": 2, "reason": "x"},
                       headers=auth(engine, "viewer")).status_code == 403
    assert client.post(f"/api/v1/cases/{ref}/reassign", json={"to_step": 2, "reason": "x"},
                       headers=auth(engine, "district", 9101)).status_code == 404
    assert client.post(f"/api/v1/cases/{ref}/reassign", json={"to_step": 9, "reason": "x"},
                       headers=auth(engine, "admin")).status_code == 400  # no step 9 to move to
    assert client.post(f"/api/v1/cases/{ref}/reassign", json={"to_step": 2, "reason": "x"},
                       headers=auth(engine, "admin")).status_code == 200


def test_directory_contacts_and_edits_by_scope(client, engine):
    ranchi = auth(engine, "district", 9001, "Meera")
    listed = client.get("/api/v1/directory/contacts?district=9101", headers=ranchi).json()
    with Session(engine) as session:
        ranchi_places = {p.lgd_code for p in session.exec(select(Place).where(Place.district_lgd == 9001))}
        purulia = session.exec(select(Contact).join(Place, Place.lgd_code == Contact.place_lgd_code)
                               .where(Place.district_lgd == 9101)).first()
    assert listed and all(c["place_lgd_code"] in ranchi_places for c in listed)
    mine = listed[0]["id"]
    assert client.patch(f"/api/v1/directory/contacts/{purulia.id}", json={"active": False}, headers=ranchi).status_code == 404
    assert client.patch(f"/api/v1/directory/contacts/{mine}", json={"active": False},
                        headers=auth(engine, "viewer")).status_code == 403
    edited = client.patch(f"/api/v1/directory/contacts/{mine}", json={"active": False, "role": "on leave"}, headers=ranchi)
    assert edited.status_code == 200 and edited.json()["active"] is False and edited.json()["role"] == "on leave"
    assert client.patch(f"/api/v1/directory/contacts/{mine}", json={"phone": "12345"}, headers=ranchi).status_code == 400


def test_directory_import_dry_run_then_apply(client, engine):
    admin = auth(engine, "admin")
    files = {"contacts": ("contacts.csv", b"name,phone,unit,place_lgd_code\nDEMO API,+917999000301,VCPC,9001199\n", "text/csv")}
    dry = client.post("/api/v1/directory/import", files=files, headers=admin)
    assert dry.status_code == 200 and dry.json()["applied"] is False and dry.json()["contacts"]["new"] == 1
    done = client.post("/api/v1/directory/import?dry_run=false", files=files, headers=admin)
    assert done.status_code == 200 and done.json()["applied"] is True
    bad = {"contacts": ("contacts.csv", b"name,phone,unit,place_lgd_code\nX,+917999000302,POLICE,9001199\n", "text/csv")}
    refused = client.post("/api/v1/directory/import?dry_run=false", files=bad, headers=admin)
    assert refused.status_code == 400 and "line 2" in refused.json()["problems"][0]
    outside = client.post("/api/v1/directory/import", files=files, headers=auth(engine, "district", 9101))
    assert outside.status_code == 400 and "outside your district" in outside.json()["problems"][0]


def test_gaps_and_failing_by_scope(client, engine):
    gaps = client.get("/api/v1/directory/gaps?district=9001", headers=auth(engine, "district", 9001)).json()
    assert gaps["villages"] > 0 and any(g["unit"] == "VCPC" for g in gaps["gaps"])
    assert client.get("/api/v1/directory/gaps?district=9101", headers=auth(engine, "district", 9001)).status_code == 404
    assert client.get("/api/v1/directory/failing", headers=auth(engine, "viewer")).json() == []


def test_dashboard_and_exports_keep_to_the_district(client, engine, cases):
    ranchi = client.get("/api/v1/dashboard?district=9101", headers=auth(engine, "district", 9001)).json()
    assert ranchi["district"] == 9001 and ranchi["totals"]["reports"] == 1
    everything = client.get("/api/v1/dashboard", headers=auth(engine, "viewer")).json()
    assert everything["totals"]["reports"] == 2
    assert {r["concern"] for r in everything["reports_by_concern"]} == {"child_marriage"}
    csv = client.get("/api/v1/exports/cases.csv", headers=auth(engine, "district", 9001))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert cases["ranchi"] in csv.text and cases["purulia"] not in csv.text and "9812300001" not in csv.text
    assert client.get("/api/v1/exports/secrets.csv", headers=auth(engine, "admin")).status_code == 404


def test_openapi_documents_the_console_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/queue", "/api/v1/dashboard", "/api/v1/cases/{ref}/reporter-number",
            "/api/v1/directory/import", "/api/v1/exports/{name}.csv"} <= set(paths)
    assert not [path for path in paths if path.startswith("/console")]
    assert client.get("/docs").status_code == 200
