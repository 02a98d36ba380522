"""The referral loop as the field lives it: alerts, silence, escalation, acknowledgement."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from gateway.record.models import CaseEvent

AMTOLA, KANKE, RANCHI = 9001111, 90011, 9001
KANKE_PS = 7001  # the demo's police station covering Kanke block


@pytest.fixture
def phones(field):  # type: ignore[no-untyped-def]
    return {
        "vcpc": field.contacts("VCPC", AMTOLA),
        "bcpc": field.contacts("BCPC", KANKE),
        "dcpu": field.contacts("DCPU", RANCHI),
        "sjpu": field.contacts("SJPU", RANCHI),
        "cwc": field.contacts("CWC", RANCHI),
    }


def events(field, ref: str) -> list[str]:
    case = field.case(ref)
    with Session(field.services.engine) as session:
        return [e.kind for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def test_silence_climbs_the_ladder_and_an_ack_stops_it(field, phones):
    reporter = "+919811100001"
    ref = field.report(village=AMTOLA, concern="other", phone=reporter)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref, "ACK")
    field.expect_no_sms(phones["bcpc"][0])
    field.advance(hours=23)
    field.expect_no_sms(phones["bcpc"][0])
    field.advance(hours=2)  # past the village committee's 24 hours
    bcpc = phones["bcpc"][0]
    field.expect_sms(bcpc, ref)
    field.reply(bcpc, f"ACK {ref}")
    field.expect_sms(bcpc, ref, "DONE")  # the confirmation
    field.expect_sms(reporter, ref, "block committee")  # the reporter hears who took it
    case = field.case(ref)
    assert (case.status, case.acknowledged_unit, case.step) == ("acknowledged", "BCPC", 1)
    field.advance(hours=71)  # the acknowledgement stopped the ladder; the home visit is due in 72 hours
    field.assert_quiet()
    field.reply(bcpc, f"VISIT {ref} met the mother")  # recorded: nothing is owed any more
    field.expect_sms(bcpc, ref)
    field.advance(hours=200)
    field.assert_quiet()
    assert events(field, ref)[:4] == ["reported", "alerted", "escalated", "acknowledged"]


def test_emergencies_alert_police_dcpu_and_cwc_at_once_then_climb_to_the_dcpo(field, phones):
    ref = field.report(village=AMTOLA, concern="sexual_abuse", urgent=True, callback=False)
    station, dcpo = field.contacts("POLICE_STATION", KANKE_PS), field.contacts("DCPO", RANCHI)
    for phone in phones["dcpu"] + phones["sjpu"] + phones["cwc"] + station + field.contacts("OSC", RANCHI):
        field.expect_sms(phone, ref)
    for phone in phones["vcpc"] + phones["bcpc"] + dcpo:
        field.expect_no_sms(phone)
    field.advance(minutes=16)  # step 1's 15 minutes: the District Child Protection Officer in person
    for phone in dcpo:
        field.expect_sms(phone, ref)
    field.reply(phones["sjpu"][0], f"ACK {ref}")  # a unit of an earlier step may still take it up
    field.expect_sms(phones["sjpu"][0], ref)
    assert field.case(ref).acknowledged_unit == "SJPU"
    field.advance(hours=6)
    field.assert_quiet()


def test_alerts_carry_only_reference_concern_and_village(field, phones):
    reporter = "+919811100002"
    ref = field.report(village=AMTOLA, concern="child_marriage", urgent=False, phone=reporter)
    for phone in phones["vcpc"] + phones["cwc"] + field.contacts("CMPO", KANKE):
        text = field.expect_sms(phone, ref)
        assert "9811100002" not in text
        assert len(text) <= 70 * 2  # Hindi contacts: at most two UCS-2 segments
    field.assert_quiet()


def test_a_reply_from_a_stranger_changes_nothing_and_reveals_nothing(field, phones):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    field.reply("+919899999999", f"ACK {ref}")
    answer = field.expect_sms("+919899999999", "1")  # treated as a villager writing in: the menu
    assert ref not in answer and "Amtola" not in answer
    # A committee member of another district is a contact, but was not alerted for this case.
    outsider = field.contacts("DCPU", 9101)[0]
    field.reply(outsider, f"ACK {ref}")
    text = field.expect_sms(outsider)
    assert ref not in text and "Amtola" not in text
    assert field.case(ref).status == "open"
    field.assert_quiet()


def test_the_same_sms_posted_again_has_one_effect(field, phones):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    vcpc = phones["vcpc"][0]
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    for _ in range(3):  # AT re-posts until it gets a 200
        field.reply(vcpc, f"ACK {ref}", sms_id="same-id-1")
    field.expect_sms(vcpc, ref)
    field.assert_quiet()
    assert events(field, ref).count("acknowledged") == 1


def test_stale_ack_gets_the_current_state(field, phones):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    first, second = phones["vcpc"]
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    field.reply(first, f"ACK {ref}")
    field.expect_sms(first, ref)
    field.reply(second, f"ACK {ref}")
    field.expect_sms(second, ref, "ग्राम बाल संरक्षण समिति")  # "already taken up by the village committee at …", in Hindi
    field.reply(second, f"STATUS {ref}")
    field.expect_sms(second, ref)
    field.reply(first, f"DONE {ref} child back in school")
    field.expect_sms(first, ref)
    assert field.case(ref).status == "closure_proposed"
    field.reply(second, "ACK 12345")
    field.expect_sms(second)  # a reference with a bad check digit gets a hint, never a case
    field.reply(second, "hello")
    assert "ACK" in field.expect_sms(second)  # the help text
    field.assert_quiet()


def test_undeliverable_alerts_escalate_at_once(field, phones):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
        field.deliver(phone, "AbsentSubscriber")
    field.expect_sms(phones["bcpc"][0], ref)  # no waiting 24 hours for phones that are off
    assert field.case(ref).step == 1
    field.deliver(phones["bcpc"][0], "Success")
    field.deliver(phones["bcpc"][0], "Failed")  # a late, out-of-order report changes nothing
    statuses = {m.to_phone: m.status for m in field.messages(ref) if m.kind == "alert"}
    assert statuses[phones["bcpc"][0]] == "delivered"
    assert field.case(ref).step == 1
    field.assert_quiet()


def test_provider_errors_are_retried_then_dead_lettered_and_escalated(field, phones):
    field.stub.fail_next("500", "429")
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    field.advance(minutes=1)
    field.advance(minutes=1)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)  # got through on a later try
    field.stub.number_status[phones["bcpc"][0]] = 403  # InvalidPhoneNumber: permanent
    field.advance(hours=25)
    assert any(m.status == "failed" for m in field.messages(ref))
    for phone in phones["dcpu"]:  # the block committee cannot be reached: the district at once
        field.expect_sms(phone, ref)
    field.assert_quiet()


def test_a_provider_timeout_is_retried(field, phones):
    field.stub.fail_next("timeout")
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    field.advance(minutes=15)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    field.assert_quiet()


def test_two_workers_racing_on_a_due_case_escalate_once(field, phones):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    field.clock.advance(hours=25)
    workers = [field.worker(f"w{i}") for i in range(4)]
    barrier = threading.Barrier(len(workers))

    def race(worker) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        worker.drain()

    threads = [threading.Thread(target=race, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    field.run()
    field.expect_sms(phones["bcpc"][0], ref)
    assert events(field, ref).count("escalated") == 1
    # Escalating the same (step, round) again is refused by the guard, whoever asks.
    case = field.case(ref)
    assert not field.services.referrals.escalate(case.id, 0, 0, reason="deadline")
    field.assert_quiet()


def test_redis_flushed_midway_is_rebuilt_from_sql(field, phones):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    field.services.redis.flushdb()
    report = field.worker().audit()
    assert report["deadlines"] == 1
    assert field.worker().audit()["deadlines"] == 0  # idempotent
    field.advance(hours=25)
    field.expect_sms(phones["bcpc"][0], ref)
    field.assert_quiet()


def test_messages_queued_but_lost_from_redis_are_sent_after_reconcile(field, phones):
    field.services.outbox.publish = lambda messages, pipe=None: None  # Redis "lost" the stream entries
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    field.expect_no_sms(phones["vcpc"][0])
    del field.services.outbox.publish
    from datetime import timedelta

    assert field.services.outbox.rebuild(settle=timedelta(0)) == 2
    field.run()
    for phone in phones["vcpc"]:
        field.expect_sms(phone, ref)
    field.assert_quiet()


def test_an_open_case_always_has_its_next_step_scheduled(field, phones):
    refs = [field.report(village=AMTOLA, concern=c, callback=False) for c in ("other", "begging", "trafficking")]
    field.stub.clear()
    from gateway.infra import keys

    scheduled = field.services.redis.zrange(keys.DEADLINES, 0, -1)
    for ref in refs:
        case = field.case(ref)
        assert keys.deadline_member(case.id, case.step, case.round) in scheduled
