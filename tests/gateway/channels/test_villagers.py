"""Villagers' SMS channel as phones and SMS: the real SDK to the AT stub, the field harness."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from gateway.record.models import Case, CaseEvent, Message
from menus.refs import check_digit

AMTOLA = 9001111
# Over SMS (70 units a message) the language list takes two pages: Santali's three scripts are on the second.
LANG_CHOICE = {"en": ["1"], "hi": ["2"], "hi_latn": ["3"], "bn": ["4"], "sat_latn": ["98", "1"], "sat_olck": ["98", "2"],
               "sat_beng": ["98", "3"]}


def cases(field) -> list[Case]:  # type: ignore[no-untyped-def]
    with Session(field.services.engine) as session:
        return list(session.exec(select(Case)))


def committee(field) -> list[str]:  # type: ignore[no-untyped-def]
    return field.contacts("VCPC", AMTOLA)


def converse(field, phone: str, *answers: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Send each answer and collect the reply to each one."""
    replies = []
    for answer in answers:
        field.reply(phone, answer)
        replies.append(field.expect_sms(phone))
    return replies


@pytest.mark.parametrize("lang", list(LANG_CHOICE))
def test_a_complete_report_by_sms_in_every_language(field, lang):
    phone = "+919822200001"
    # language, Report, type the village code, the code, child marriage, not in danger, call me, send
    replies = converse(field, phone, "hello", *LANG_CHOICE[lang], "1", "1", str(AMTOLA), "2", "2", "1", "1")
    assert replies[0].startswith("Language")
    [case] = cases(field)
    assert (case.channel, case.village_lgd, case.concern, case.language) == ("sms", AMTOLA, "child_marriage", lang)
    assert case.ref in replies[-1] and case.callback
    for reply in replies:  # one SMS segment each: 160 Latin characters, or 70 in Devanagari/Bengali
        assert len(reply) <= 160 if reply.isascii() else len(reply.encode("utf-16-le")) // 2 <= 70, reply
    field.stub.clear()


def test_the_first_keyword_sets_the_language_and_a_conversation_resumes(field):
    phone = "+919822200002"
    first = converse(field, phone, "madad")[0]
    assert "Bachche" in first or "1 " in first  # Hindi in Latin letters, home menu
    converse(field, phone, "1", "1")
    # The villager stops for a while; the next message continues the same conversation.
    again = converse(field, phone, str(AMTOLA))[0]
    assert "1 " in again and not again.startswith("Language")
    converse(field, phone, "0")  # back
    converse(field, phone, "00")  # home
    home = converse(field, phone, "00")[0]
    assert "1 " in home
    field.stub.clear()


@pytest.mark.parametrize("digits", ["9001111", "९००११११", "৯০০১১১১"])
def test_one_line_reports_with_digits_in_three_scripts(field, digits):
    reply = converse(field, "+919822200003", f"REPORT {digits} 2 urgent")[0]
    [case] = cases(field)
    # Sending a report is not consent to a call-back: anonymous unless the message asks for one.
    assert (case.village_lgd, case.concern, case.urgent, case.callback) == (AMTOLA, "child_marriage", True, False)
    assert case.ref in reply
    field.stub.clear()


@pytest.mark.parametrize(("text", "callback"), [
    ("REPORT 9001111 2", False), ("REPORT 9001111 2 URGENT", False), ("REPORT 9001111 2 CALL", True),
    ("REPORT 9001111 2 urgent call me", True), ("शिकायत ९००११११ 2 कॉल", True), ("shikayat 9001111 2 phone", True),
    ("অভিযোগ ৯০০১১১১ 2 ফোন", True),
])
def test_one_line_reports_keep_the_number_only_when_asked(field, text, callback):
    from gateway.record.models import ReporterContact

    converse(field, "+919822200004", text)
    [case] = cases(field)
    assert case.callback is callback
    with Session(field.services.engine) as session:
        assert (session.get(ReporterContact, case.id) is not None) is callback
    field.stub.clear()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("REPORT", "1 Tell us about a child"), ("REPORT 9001111", "REPORT <village code>"),
     ("report 123 4", "Village code 123 not found"), ("REPORT 9001111 99", "REPORT <village code>"),
     ("shikayat 9001111 child_labour", "")],
)
def test_one_line_reports_valid_and_invalid(field, text, fragment):
    reply = converse(field, "+919822200004", text)[0]
    assert fragment in reply
    assert len(cases(field)) == (1 if text.startswith("shikayat") else 0)
    field.stub.clear()


def test_status_answers_the_state_only_and_refuses_bad_check_digits(field):
    ref = field.report(village=AMTOLA, concern="other", callback=False)
    field.stub.clear()
    reply = converse(field, "+919822200005", f"STATUS {ref}")[0]
    assert ref in reply and "Amtola" not in reply and "+91" not in reply
    wrong = ref[:-1] + str((int(ref[-1]) + 1) % 10)
    assert "Wrong number" in converse(field, "+919822200005", f"status {wrong}")[0]
    assert ref in converse(field, "+919822200006", f"स्थिति {ref.translate(str.maketrans('0123456789', '०१२३४५६७८९'))}")[0]


def test_status_is_rate_limited_against_guessing(field):
    phone = "+919822200007"
    answers = []
    for n in range(8):
        body = f"1234567{n}"
        field.reply(phone, f"STATUS {body}{check_digit(body)}")
    answers = [s.message for s in field.stub.sent if s.to == phone]
    assert sum("Too many" in a for a in answers) == 1 and len(answers) == 6  # 5 answers, 1 notice
    field.stub.clear()


def test_a_flood_makes_one_case_and_alerts_the_committee_once(field):
    phone = "+919822200008"
    for _ in range(100):
        field.client.post("/webhooks/at/sms", data={"id": f"flood-{_}", "from": phone, "to": "1098",
                                                    "text": f"REPORT {AMTOLA} 12"})
    field.run()
    assert len(cases(field)) == 1
    [case] = cases(field)
    for contact in committee(field):
        field.expect_sms(contact, case.ref)
        field.expect_no_sms(contact)
    to_phone = [s.message for s in field.stub.sent if s.to == phone]
    assert sum("Too many" in m for m in to_phone) == 1 and len(to_phone) <= 32
    with Session(field.services.engine) as session:
        linked = session.exec(select(CaseEvent).where(CaseEvent.kind == "duplicate_report")).all()
    assert len(linked) == 2  # the 2nd and 3rd report within the limit are linked, not new cases
    field.stub.clear()


def test_a_repeated_report_is_linked_to_the_open_case(field):
    phone = "+919822200009"
    first = converse(field, phone, f"REPORT {AMTOLA} 12")[0]
    again = converse(field, phone, f"REPORT {AMTOLA} 12")[0]
    [case] = cases(field)
    assert case.ref in first and case.ref in again and "Already reported" in again
    other = converse(field, phone, f"REPORT {AMTOLA} 3")[0]  # a different concern is a new case
    assert len(cases(field)) == 2 and "Already" not in other
    field.stub.clear()


def test_stop_ends_follow_ups_to_that_phone(field):
    phone = "+919822200010"
    reply = converse(field, phone, f"REPORT {AMTOLA} 12")[0]
    [case] = cases(field)
    assert "stopped" not in reply
    converse(field, phone, "STOP")
    vcpc = committee(field)[0]
    field.reply(vcpc, f"ACK {case.ref}")
    assert field.case(case.ref).status == "acknowledged"
    assert not [s for s in field.stub.sent if s.to == phone and "received by" in s.message]
    field.stub.clear()


def test_villagers_numbers_are_never_stored_in_clear(field):
    phone = "+919822200011"
    converse(field, phone, f"REPORT {AMTOLA} 12", "hello")
    with Session(field.services.engine) as session:
        rows = session.exec(select(Message)).all()
    assert all(phone not in (m.to_phone or "") + (m.from_phone or "") + m.body for m in rows)
    assert any(m.to_encrypted for m in rows)
    field.stub.clear()
