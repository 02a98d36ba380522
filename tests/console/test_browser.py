"""End to end in a real headless Chromium (Debian's `chromium`, driven by Playwright): a DCPU officer
signs in, finds the case that is past its deadline, escalates it, sees the SMS go out through the
Africa's Talking stub, looks up the reporter's number and resolves the case.

The real app runs under uvicorn on a loopback port with a manual clock (started at the wall
clock, so "time since report" reads as in the field); the background worker is driven by the
test, as the field harness does. `CPGW_SCREENSHOTS=docs/screenshots` also saves the main pages.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from gateway.infra.clock import ManualClock
from gateway.record.models import Case, CaseEvent, Contact
from gateway.referrals.worker import Worker
from gateway.web.app import create_app
from tests.console import history
from tests.console.conftest import AMTOLA, PASSWORD, PURULIA_VILLAGE, report
from tests.harness.serving import serving

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (`make test` installs it)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KANKE, RANCHI = 90011, 9001


@dataclass
class Live:
    url: str
    app: object
    clock: ManualClock
    stub: object

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app.state.services  # type: ignore[attr-defined]

    def run_worker(self) -> None:
        Worker(self.services, name="e2e", audit_every=10**9).drain()


@pytest.fixture
def live(settings, demo, users, at_stub) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    wired = settings.model_copy(update={
        "at_username": "cpgw-test", "at_api_key": "test-key", "at_api_url": at_stub.url, "sms_timeout_s": 1.0})
    clock = ManualClock(start=time.time())
    app = create_app(wired, clock=clock)
    with serving(app) as url:
        yield Live(url, app, clock, at_stub)


@pytest.fixture
def chromium() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _phones(live: Live, unit: str, place: int) -> list[str]:
    with Session(live.services.engine) as session:
        return sorted(c.phone for c in session.exec(select(Contact).where(
            Contact.unit == unit, Contact.place_lgd_code == place, Contact.active == True)))


def _shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("CPGW_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_an_officer_escalates_an_overdue_case_and_resolves_it(live, chromium):
    with httpx.Client(base_url=live.url, timeout=15) as phone_client:
        ref = report(phone_client, AMTOLA, number="+919811122201", concern="other")  # "other": VCPC first
        emergency = report(phone_client, AMTOLA, number="+919811122202", concern="sexual_abuse", urgent=True,
                           callback=False)
        report(phone_client, PURULIA_VILLAGE, number="+919811122203")  # another district
    live.run_worker()
    vcpc, bcpc = _phones(live, "VCPC", AMTOLA), _phones(live, "BCPC", KANKE)
    assert all(any(ref in m for m in live.stub.messages_to(p)) for p in vcpc)
    live.clock.advance(hours=25)  # the village committee's 24 hours are over; the sweeper has not run yet

    page = chromium.new_page(viewport={"width": 1360, "height": 900})
    page.goto(f"{live.url}/console")
    assert "/console/login" in page.url
    page.fill("input[name=username]", "meera")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/console")
    rows = page.locator("#queue-rows tr[data-ref]")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.ref)")) == sorted([ref, emergency])
    # The emergency is first; the case past its deadline says so.
    assert rows.first.get_attribute("data-ref") == emergency
    overdue = page.locator(f"#queue-rows tr[data-ref='{ref}']")
    assert "late" in (overdue.get_attribute("class") or "") and "overdue" in overdue.inner_text()
    page.check("input[name=late]")
    page.select_option("select[name=concern]", "other")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**late=1**")
    assert page.locator("#queue-rows tr[data-ref]").evaluate_all("rows => rows.map(r => r.dataset.ref)") == [ref]

    # Live refresh: a new report shows up without reloading the page.
    page.goto(f"{live.url}/console")
    with httpx.Client(base_url=live.url, timeout=15) as phone_client:
        fresh = report(phone_client, 9001112, number="+919811122204", concern="other", callback=False)
    assert page.locator(f"#queue-rows tr[data-ref='{fresh}']").count() == 0
    page.evaluate("window.cpgwRefreshQueue()")
    page.wait_for_selector(f"#queue-rows tr[data-ref='{fresh}']")

    page.click(f"a[href='/console/cases/{ref}']")
    page.wait_for_url(f"**/console/cases/{ref}")
    assert "past deadline" in page.inner_text("h1")
    page.fill("form[action$='/escalate'] input[name=reason]", "no answer from the village committee")
    page.click("#escalate")
    page.wait_for_selector("text=Escalated: the next step is being alerted.")
    live.run_worker()  # the outbox sends the block committee's alert
    assert any(ref in text for text in live.stub.messages_to(bcpc[0])), live.stub.sent
    page.reload()
    timeline = page.inner_text("table.timeline")
    assert "Escalated" in timeline and "Meera Devi (meera)" in timeline
    assert "BCPC" in timeline and "sent" in timeline

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#show-number")
    page.wait_for_selector("#reporter-number")
    assert page.inner_text("#reporter-number") == "+919811122201"
    _shoot(page, "case")
    page.goto(f"{live.url}/console/cases/{ref}")
    assert page.locator("#reporter-number").count() == 0  # shown once, not kept on the page

    page.select_option("#outcome", "referred_to_scheme")
    page.fill("form[action$='/resolve'] input[name=note]", "sponsorship under Mission Vatsalya")
    page.click("#resolve")
    page.wait_for_selector("text=Case resolved.")
    assert "resolved" in page.inner_text("h1")

    with Session(live.services.engine) as session:
        case = session.exec(select(Case).where(Case.ref == ref)).one()
        kinds = [(e.kind, e.actor) for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert case.status == "resolved" and case.step == 1
    assert ("reporter_number_viewed", "Meera Devi (meera)") in kinds
    assert ("resolved", "Meera Devi (meera)") in kinds

    page.close()


def _sign_in(page, live: Live, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/console")


def test_a_busy_district_queue_directory_import_and_dashboard(live, chromium, tmp_path):
    refs = history.seed(live.services, RANCHI, weeks=10)
    with httpx.Client(base_url=live.url, timeout=15) as phone_client:
        refs.append(report(phone_client, 9001211, number="+919811122205", concern="missing_child", callback=False))
    page = chromium.new_page(viewport={"width": 1360, "height": 900})
    _sign_in(page, live, "admin")

    page.goto(f"{live.url}/console?district={RANCHI}")
    rows = page.locator("#queue-rows tr[data-ref]")
    assert rows.count() > 3 and all(ref in refs for ref in rows.evaluate_all("rows => rows.map(r => r.dataset.ref)"))
    classes = rows.evaluate_all(r"rows => rows.map(r => r.className.trim().split(/\s+/))")
    rank = [0 if {"late", "emergency"} <= set(c) else 1 if {"open", "emergency"} <= set(c) else 2 if "late" in c
            else 3 if "open" in c else 4 if "emergency" in c else 5 for c in classes]
    assert rank == sorted(rank) and rank[-1] > rank[0]  # what needs someone now comes first
    _shoot(page, "queue")

    page.goto(f"{live.url}/console/directory?district={RANCHI}")
    assert "+917000000110" in page.inner_text("main")  # the phone whose alerts keep failing
    assert "Tilaiya" in page.inner_text("main")  # villages with no committee: a coverage gap
    _shoot(page, "directory")
    page.set_input_files("input[name=contacts]", files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": (
        b"name,phone,unit,place_lgd_code,role,language,active\n"
        b"DEMO Anganwadi worker Tilaiya,+917000000190,VCPC,9001199,member-secretary,hi,yes\n"
        b"DEMO DCPO Ranchi (new number),+917000000101,DCPU,9001,DCPO,hi,yes\n")}])
    page.click("#preview-import")
    page.wait_for_selector("text=Import preview")
    assert "1 new, 1 changed" in page.inner_text("main")
    _shoot(page, "directory-import")
    page.click("#apply-import")
    page.wait_for_selector("text=Imported")
    page.goto(f"{live.url}/console/directory?district={RANCHI}")
    assert "DEMO Anganwadi worker Tilaiya" in page.inner_text("main")

    page.goto(f"{live.url}/console/dashboard?district={RANCHI}")
    assert page.locator("svg.chart").count() >= 5  # concern, block, weekly, overdue, one per step
    assert "Step 1" in page.inner_text("main")
    _shoot(page, "dashboard")
    with page.expect_download() as download:
        page.click("a[href^='/console/dashboard/cases.csv']")
    saved = tmp_path / "cases.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("ref,reported_at_utc") and len(lines) == len(refs) + 1
    page.close()
