"""The Indian SMS route end to end: the gateway with `CPGW_SMS_TRANSPORT=kannel`, Debian's Kannel
run from the shipped deploy/kannel/kannel.conf, and a test SMSC on loopback at the other end of
its SMPP link (tests/harness/smsc.py). Every SMS below crosses HTTP, Kannel and SMPP for real.

Skipped, with the reason, where Kannel is not installed (`make test` installs Debian's `kannel`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import Session, col, select

from gateway.devtools.processes import free_port
from gateway.infra.clock import ManualClock
from gateway.infra.settings import Settings, load_settings
from gateway.record.models import Case, Message, MissedCall
from gateway.referrals.worker import Worker
from gateway.services import menu_catalog
from gateway.web.app import create_app
from menus.engine import ScreenId
from tests.harness import kannel as kannel_harness
from tests.harness.smsc import ESME_RSUBMITFAIL, LoopbackSmsc, Submitted

pytestmark = pytest.mark.skipif(kannel_harness.binaries() is None,
                                reason="Debian's kannel (bearerbox, smsbox) is not installed: `make test` installs it")

TOKEN = "test-webhook-token-for-kannel-0123456789"
ENTITY = "1101000000000000042"
HEADER = "CPGWIN"
VILLAGER = "+919800000042"
WAIT = 60.0  # generous: every wait ends as soon as its condition holds


def template_ids() -> dict[str, str]:
    """A DLT id for every SMS text and every screen of the SMS conversation, as a district registers them."""
    keys = sorted(menu_catalog().languages["en"].texts) + [f"menu.{s}" for s in ScreenId.__args__]  # type: ignore[attr-defined]
    return {key: f"1107{index:015d}" for index, key in enumerate(keys, start=1)}


@dataclass
class India:
    smsc: LoopbackSmsc
    kannel: kannel_harness.Kannel
    url: str
    clock: ManualClock
    app: Any
    dlt: dict[str, str]

    @property
    def services(self) -> Any:
        return self.app.state.services

    def run(self) -> None:
        """The background work, once, until idle: what `cpgw worker` does in a loop."""
        Worker(self.services, name="kannel-test", audit_every=10**9).drain()

    def until(self, condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition()
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{what}: not within {timeout} s\n{self.kannel.log_tail()}")

    def sms_from(self, phone: str, text: str) -> None:
        """A phone's SMS, from the SMSC to Kannel (and on to the gateway)."""
        assert self.smsc.deliver(phone, "919000012345", text) == 0

    def messages(self, **where: Any) -> list[Message]:
        with Session(self.services.engine) as session:
            query = select(Message)
            for name, value in where.items():
                query = query.where(getattr(Message, name) == value)
            return list(session.exec(query.order_by(col(Message.created_at))).all())

    def case(self, ref: str) -> Case:
        with Session(self.services.engine) as session:
            found = session.exec(select(Case).where(Case.ref == ref)).one()
            session.expunge(found)
            return found

    def report(self, phone: str = VILLAGER, village: int = 9001111, concern: str = "other") -> Case:
        """A villager's one-line SMS report through Kannel; returns the case once it is stored."""
        self.sms_from(phone, f"REPORT {village} {concern}")
        with Session(self.services.engine) as session:
            before = len(session.exec(select(Case.id)).all())

        def stored() -> Case | None:
            with Session(self.services.engine) as session:
                cases = session.exec(select(Case).order_by(col(Case.id))).all()
                return cases[-1] if len(cases) > before else None

        return self.until(stored, "the report was not stored")

    def alerts(self, case: Case, step: int) -> list[Message]:
        return [m for m in self.messages(case_id=case.id) if m.kind == "alert" and m.step == step]


@pytest.fixture
def india_factory(settings: Settings, demo, tmp_path: Path) -> Iterator[Callable[..., India]]:  # type: ignore[no-untyped-def]
    """Start SMSC, Kannel and the gateway (in that order: each needs the one before); stop them all."""
    stack: list[Callable[[], None]] = []

    def start(refuse: Callable[[Any], int | None] = lambda part: None) -> India:
        smsc = LoopbackSmsc(refuse=refuse).__enter__()
        stack.append(smsc.close)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        kannel_context = kannel_harness.running_kannel(tmp_path / "kannel", smsc_port=smsc.port, gateway_url=url,
                                                        webhook_token=TOKEN)
        kannel = kannel_context.__enter__()
        stack.append(lambda: kannel_context.__exit__(None, None, None))
        dlt = template_ids()
        dlt_file = tmp_path / "dlt.yaml"
        dlt_file.write_text("templates:\n" + "".join(f"  {key}: '{value}'\n" for key, value in dlt.items()))
        wired = load_settings({
            **settings.as_environ(), "CPGW_SMS_TRANSPORT": "kannel", "CPGW_KANNEL_SEND_URL": kannel.sendsms_url,
            "CPGW_KANNEL_USER": kannel_harness.SENDSMS_USER, "CPGW_KANNEL_PASSWORD": kannel_harness.SENDSMS_PASSWORD,
            "CPGW_KANNEL_DLR_URL": f"{url}/webhooks/kannel/delivery", "CPGW_DLT_ENTITY_ID": ENTITY,
            "CPGW_DLT_HEADER": HEADER, "CPGW_DLT_FILE": str(dlt_file), "CPGW_WEBHOOK_TOKEN": TOKEN,
            "CPGW_SMS_NUMBER": "+919000012345", "CPGW_MISSED_CALL_NUMBERS": "+918000000001=9001:hi",
            "CPGW_SMS_TIMEOUT": "10",
        })
        clock = ManualClock()
        app = create_app(wired, clock=clock)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()

        def stop_server() -> None:
            server.should_exit = True
            thread.join(timeout=20)

        stack.append(stop_server)
        india = India(smsc, kannel, url, clock, app, dlt)
        india.until(lambda: _answers(f"{url}/healthz"), "the gateway did not start")
        smsc.wait_bound(WAIT)
        return india

    try:
        yield start
    finally:
        while stack:
            stack.pop()()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _dlt(sms: Submitted) -> tuple[str | None, str | None]:
    return sms.tlv_text(0x1400), sms.tlv_text(0x1401)


def test_a_villagers_sms_report_alerts_over_smpp_with_dlt_ids_and_an_ack_from_the_smsc_acknowledges(india_factory):
    india = india_factory()
    case = india.report()
    india.run()
    alerts = india.alerts(case, 0)
    assert alerts
    for alert in alerts:
        sms = india.smsc.wait_for_sms(alert.to_phone, case.ref, WAIT)
        # Hindi (the demo contacts' language): UCS-2 on the wire, the DLT TLVs, the registered header.
        assert sms.data_coding == 0x08 and sms.text == alert.body and sms.source == HEADER
        assert _dlt(sms) == (ENTITY, india.dlt[alert.template])
    reply = india.smsc.wait_for_sms(VILLAGER, case.ref, WAIT)
    assert _dlt(reply) == (ENTITY, india.dlt["sent"]) and reply.data_coding == 0x00  # English: GSM-7

    member = alerts[0].to_phone
    india.sms_from(member, f"ACK {case.ref}")
    india.until(lambda: india.case(case.ref).status == "acknowledged", "the ACK did not acknowledge the case")
    india.run()
    acked = india.smsc.wait_for(lambda items: next((s for s in items if s.destination.lstrip("+") == member.lstrip("+")
                                                    and _dlt(s)[1] == india.dlt["sms.ack_ok"]), None), WAIT,
                                "the ACK's answer")
    assert case.ref in acked.text


def test_a_delivery_receipt_marks_the_alert_delivered_and_kannels_own_reports_move_it_only_forward(india_factory):
    india = india_factory()
    case = india.report()
    india.run()
    alert = india.alerts(case, 0)[0]
    sms = india.smsc.wait_for_sms(alert.to_phone, case.ref, WAIT)
    india.until(lambda: india.messages(id=alert.id)[0].status == "sent", "the SMSC's acceptance (DLR 8) was not recorded")
    assert india.smsc.receipt(sms) == 0
    india.until(lambda: india.messages(id=alert.id)[0].status == "delivered", "the receipt did not mark it delivered")
    # A late "buffered" from Kannel changes nothing: states only move forward.
    response = httpx.post(f"{india.url}/webhooks/kannel/delivery", params={"token": TOKEN},
                          data={"id": alert.id, "status": "4"})
    assert response.status_code == 200 and india.messages(id=alert.id)[0].status == "delivered"


def test_the_smsc_refusing_every_alert_of_a_step_fails_them_and_escalates_at_once(india_factory):
    refused: list[str] = []

    def refuse_village_committee(part: Any) -> int | None:
        # The aggregator's DLT scrubber says no to what goes to the village committee's phones.
        if part.destination in ("917000000106", "917000000107"):
            refused.append(part.destination)
            return ESME_RSUBMITFAIL
        return None

    india = india_factory(refuse=refuse_village_committee)
    case = india.report()
    india.run()
    first = india.alerts(case, 0)
    assert {m.to_phone for m in first} == {"+917000000106", "+917000000107"}
    india.until(lambda: all(m.status == "failed" for m in india.messages(case_id=case.id, step=0, kind="alert")),
                "the refusals (DLR 16) did not fail the alerts")
    india.until(lambda: india.case(case.ref).step >= 1, "the case did not escalate")
    india.run()
    for alert in india.alerts(case, 1):
        india.smsc.wait_for_sms(alert.to_phone, case.ref, WAIT)
    failed = india.messages(case_id=case.id, step=0, kind="alert")[0]
    assert "refused" in (failed.failure_reason or "")


def test_an_unanswered_alert_escalates_on_its_deadline_through_kannel(india_factory):
    india = india_factory()
    case = india.report()
    india.run()
    for alert in india.alerts(case, 0):
        india.smsc.wait_for_sms(alert.to_phone, case.ref, WAIT)
    india.clock.advance(hours=25)
    india.run()
    assert india.case(case.ref).step >= 1
    upper = india.alerts(case, 1)
    assert upper
    for alert in upper:
        india.smsc.wait_for_sms(alert.to_phone, case.ref, WAIT)


def test_a_missed_call_brings_the_reporting_sms_back_and_a_reply_starts_the_conversation(india_factory):
    india = india_factory()
    response = httpx.post(f"{india.url}/webhooks/missed-call", params={"token": TOKEN},
                          data={"from": "9800000077", "to": "+918000000001", "id": "call-1"})
    assert response.status_code == 200
    india.run()
    sms = india.smsc.wait_for_sms("+919800000077", "REPORT", WAIT)
    # No language remembered for this phone: the number's district's (Hindi), as UCS-2, with its DLT id.
    assert sms.data_coding == 0x08 and "+919000012345" in sms.text
    assert _dlt(sms) == (ENTITY, india.dlt["sms.missed_call"])
    with Session(india.services.engine) as session:
        (call,) = session.exec(select(MissedCall)).all()
    assert call.district_lgd == 9001 and call.status == "open" and "9800000077" not in call.phone_encrypted

    india.sms_from("+919800000077", "REPORT")
    india.until(lambda: india.messages(kind="reply", template="menu.language") or india.messages(
        kind="reply", template="menu.home"), "the conversation did not start")
    india.run()
    first = india.smsc.wait_for(lambda items: next((s for s in items if s.destination == "919800000077"
                                                    and _dlt(s)[1] in (india.dlt["menu.language"], india.dlt["menu.home"])),
                                                   None), WAIT, "the conversation's first screen")
    assert first.text
