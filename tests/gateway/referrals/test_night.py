"""At night the offices sleep: an urgent report reaches the round-the-clock night cover at once,
and the committees' deadlines wait for morning instead of paging them every half hour."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.devtools.simulate import Phone
from gateway.devtools.traffic import file_report, reference_on
from routing.concerns import KEYS
from routing.hours import next_opening
from routing.ladder import Ladder, Step
from routing.lifecycle import IST

AMTOLA = 9001111
FRIDAY_2300 = 9.5  # hours from the field's start (Friday 13:30 IST)


def office_first(field) -> tuple[str, Ladder]:  # type: ignore[no-untyped-def]
    """An urgent concern whose first step keeps office hours only, under the rules in force."""
    referrals = field.services.referrals
    for concern in KEYS:
        ladder = referrals.plan(AMTOLA, concern, True)
        if ladder.steps and ladder.steps[0].hours and ladder.night:
            return concern, ladder
    pytest.fail("no urgent ladder starts with office-hours units only, or no night cover: nothing to test")


def phones(step: Step) -> set[str]:
    return {contact.phone for contact in step.contacts}


def test_an_urgent_report_at_night_reaches_the_night_cover_and_waits_for_morning(office_field):
    field = office_field
    field.advance(hours=FRIDAY_2300)
    concern, ladder = office_first(office_field)
    ref = field.report(village=AMTOLA, concern=concern, urgent=True, callback=False)
    night = [c.phone for c in ladder.night if c.phone not in phones(ladder.steps[0])]
    assert night, "the night cover must add someone the first step does not have"
    for phone in [*phones(ladder.steps[0]), *night]:
        field.expect_sms(phone, ref)
    opens = next_opening(datetime.fromtimestamp(field.clock.now(), IST), ladder.steps[0].working_hours())
    assert field.case(ref).due_at == opens  # Saturday 10:00 IST, not in half an hour
    field.advance(hours=4)  # 3 am: nobody is paged again
    field.assert_quiet()


def test_by_day_the_same_report_reaches_only_its_step(office_field):
    field = office_field
    concern, ladder = office_first(office_field)
    ref = field.report(village=AMTOLA, concern=concern, urgent=True, callback=False)
    for phone in phones(ladder.steps[0]):
        field.expect_sms(phone, ref)
    for contact in ladder.night:
        if contact.phone not in phones(ladder.steps[0]):
            field.expect_no_sms(contact.phone)


def test_an_overdue_duty_of_an_office_waits_for_it_to_open(office_field):
    field = office_field
    field.advance(hours=8)  # Friday 21:30 IST: the report is taken up at night
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    vcpc = field.contacts("VCPC", AMTOLA)[0]
    field.seen.update(s.message_id for s in field.stub.sent)
    field.reply(vcpc, f"ACK {ref}")
    field.expect_sms(vcpc, ref)
    field.advance(hours=72.1)  # Monday 21:36: the home visit is 72 hours late, the committee asleep
    field.assert_quiet()
    opening = datetime.fromtimestamp(field.clock.now(), IST)
    assert (opening.strftime("%a"), opening.hour) == ("Mon", 21)
    field.advance(hours=12.5)  # Tuesday 10:06: the committee is at work and hears of it
    assert "VISIT" in field.expect_sms(vcpc, ref)


def ussd_closing(field, concern: str, *, urgent: bool) -> str:  # type: ignore[no-untyped-def]
    """The closing screen of an English USSD report with no call-back."""
    handset = Phone(field.client, number="+919876500999", token=field.token).dial()
    screen = file_report(handset, AMTOLA, concern, urgent=urgent, callback=False)
    field.run()
    return screen


def test_a_report_that_is_not_urgent_waits_for_the_morning_and_tells_the_reporter(office_field):
    field = office_field
    field.advance(hours=FRIDAY_2300)
    night = ussd_closing(field, "other", urgent=False)
    assert "The office opens at 10:00." in night and "Call" in night  # Saturday morning; the helplines now
    ref = reference_on(night)
    vcpc = field.contacts("VCPC", AMTOLA)[0]
    field.expect_sms(vcpc, ref)  # alerted now, to read in the morning
    # 24 hours from Friday 23:00 falls on Saturday night, when the committee is off: Monday at opening.
    assert datetime.fromtimestamp(field.case(ref).due_at.timestamp(), IST).strftime("%a %H:%M") == "Mon 10:00"
    urgent = ussd_closing(field, "neglect_dropout", urgent=True)
    assert "opens at" not in urgent and "danger" in urgent  # urgent: the night cover answers now


def test_by_day_the_reporter_is_not_told_to_wait(office_field):
    assert "opens at" not in ussd_closing(office_field, "other", urgent=False)


@pytest.mark.parametrize(("text", "words"), [
    ("REPORT 9001111 12", "The office opens at 10:00."),
    ("शिकायत ९००११११ 12", "दफ़्तर 10:00 बजे खुलेगा"),
])
def test_a_one_line_sms_report_at_night_is_told_the_same(office_field, text, words):
    field = office_field
    field.advance(hours=FRIDAY_2300)
    phone = "+919822200077"
    field.reply(phone, text)
    reply = field.expect_sms(phone)
    assert words in reply and "1098" in reply
    field.reply(phone, "REPORT 9001111 12 URGENT")  # the same case (a repeat), or a new one: never "wait"
    assert "opens at" not in field.expect_sms(phone)
