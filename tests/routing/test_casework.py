"""A case's life as pure decisions (routing.casework, routing.duties): no Redis, no SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from menus.commands import KEYWORDS, parse
from menus.refs import new_reference
from routing import casework
from routing.duties import ACKNOWLEDGING, chase, fold, owner_step, plan
from routing.rules import RulesError, load_rules, parse_rules

REPORTED = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
ACKED = REPORTED + timedelta(hours=2)
RULES = load_rules()


# --- statuses --------------------------------------------------------------------------------------


def test_a_committee_proposes_and_the_district_closes():
    assert casework.next_status("acknowledged", "propose_closure", role="committee") == "closure_proposed"
    assert casework.next_status("closure_proposed", "confirm", role="district") == "resolved"
    assert casework.next_status("closure_proposed", "send_back", role="admin") == "acknowledged"
    with pytest.raises(casework.NotAllowed, match="only a district or admin"):
        casework.next_status("closure_proposed", "confirm", role="committee")
    with pytest.raises(casework.NotAllowed, match="only a district or admin"):
        casework.next_status("acknowledged", "resolve", role="viewer")


def test_only_a_taken_up_case_can_be_proposed_closed_and_only_a_resolved_one_reopened():
    with pytest.raises(casework.NotAllowed, match="the case is open"):
        casework.next_status("open", "propose_closure", role="committee")
    with pytest.raises(casework.NotAllowed, match="the case is closure proposed"):
        casework.next_status("closure_proposed", "reopen", role="admin")
    assert casework.next_status("resolved", "reopen", role="district") == "acknowledged"
    assert casework.reopened_status("VCPC") == "acknowledged" and casework.reopened_status(None) == "open"
    with pytest.raises(casework.NotAllowed):
        casework.next_status("resolved", "resolve", role="admin")


def test_closing_a_case_that_owes_duties_needs_a_reason():
    assert casework.resolve_reason_needed(2, "  ")
    assert not casework.resolve_reason_needed(2, "FIR not needed: a family matter")
    assert not casework.resolve_reason_needed(0, "")


def test_escalation_climbs_then_repeats_the_top_and_flags_it_overdue():
    assert casework.next_move(3, 0, 0, overdue=False) == casework.Move(1, 0, "escalated", False)
    assert casework.next_move(3, 2, 0, overdue=False) == casework.Move(2, 1, "reminded", True)
    assert casework.next_move(3, 0, 0, overdue=False, to_step=2) == casework.Move(2, 0, "reassigned", False)
    assert casework.next_move(3, 1, 0, overdue=True, to_step=1).kind == "escalated"  # not a later step: next


# --- duties ------------------------------------------------------------------------------------------


def keys_of(concern: str, units: set[str], ack: str = "SJPU") -> dict[str, object]:
    return {duty.key: duty for duty in plan(RULES.duties, concern, ladder_units=units, acknowledged_unit=ack,
                                            reported_at=REPORTED, acknowledged_at=ACKED)}


def test_pocso_owes_an_fir_the_cwc_and_court_told_and_a_medical_within_24_hours_of_the_report():
    duties = keys_of("sexual_abuse", {"POLICE_STATION", "SJPU", "DCPU", "CWC", "OSC"})
    assert {"fir", "cwc_court_informed", "medical", "home_visit", "social_investigation"} <= set(duties)
    assert duties["fir"].due_at == REPORTED + timedelta(hours=24)  # POCSO counts from the report
    assert duties["fir"].owners == ("POLICE_STATION", "SJPU") and "19" in duties["fir"].law
    assert duties["home_visit"].owners == ("SJPU",)  # ACKNOWLEDGING: whoever took it up
    assert duties["home_visit"].due_at == ACKED + timedelta(hours=72)


def test_the_social_investigation_is_owed_only_where_the_cwc_is_involved():
    assert "social_investigation" in keys_of("neglect_dropout", {"VCPC", "CWC"}, "VCPC")
    assert "social_investigation" not in keys_of("other", {"VCPC", "BCPC", "DCPU"}, "VCPC")


def test_every_concern_the_issue_names_has_its_duties():
    expected = {"missing_child": {"fir", "produced_cwc"}, "abandoned_child": {"fir", "produced_cwc"},
                "child_marriage": {"marriage_stopped"}, "child_labour": {"rescue", "produced_cwc"},
                "trafficking": {"fir", "rescue", "produced_cwc"}}
    for concern, duties in expected.items():
        assert duties <= set(keys_of(concern, {"CWC"})), concern


def test_an_overdue_duty_reminds_its_owners_then_climbs_one_step_a_round_to_the_top():
    now = ACKED + timedelta(hours=30)
    assert chase(0, 0, 2, now, 3600).step is None  # the owners first
    assert [chase(r, 0, 2, now, 3600).step for r in (1, 2, 3)] == [1, 2, 2]
    assert chase(1, 0, 2, now, 3600).next_at == now + timedelta(hours=1)
    steps = [("POLICE_STATION", "SJPU", "CWC"), ("DCPO",), ("DM", "SCPS")]
    assert owner_step(steps, ["SJPU"], 0) == 0 and owner_step(steps, ["CMPO"], 1) == 1


def test_duty_keywords_record_the_duty_in_every_language_and_shadow_no_command():
    table = RULES.duties.keywords
    for word, key in (("FIR", "fir"), ("एफआईआर", "fir"), ("এফআইআর", "fir"), ("cwc", "produced_cwc"),
                      ("मुलाकात", "home_visit"), ("উদ্ধার", "rescue")):
        assert table[fold(word)] == key
    assert not set(table) & {fold(word) for word in KEYWORDS}
    ref = new_reference()
    command = parse(f"fir {ref} 45/2026 Kanke PS", table)  # the FIR's own number is not the case's
    assert command is not None and (command.verb, command.ref, command.duty, command.note) == (
        "DUTY", ref, "fir", "45/2026 Kanke PS")
    spaced = parse(f"एफआईआर {ref[:4]} {ref[4:]}: 12/2026", table)
    assert spaced is not None and (spaced.ref, spaced.note) == (ref, "12/2026")
    assert parse("FIR 1234567897", None) is None  # without the rules' table, not a command


RULES_HEAD = load_rules.__globals__["DEFAULT_RULES"].read_text(encoding="utf-8").split("\nduties:")[0]


@pytest.mark.parametrize(("duty", "problem"), [
    ("{key: fir, name: FIR, owners: [NOBODY], within: 24h, from: report, keywords: [FIR]}", "NOBODY not declared"),
    ("{key: fir, name: FIR, owners: [SJPU], within: soon, from: report, keywords: [FIR]}", "not a duration"),
    ("{key: fir, name: FIR, owners: [SJPU], within: 24h, from: later, keywords: [FIR]}", "must be ack or report"),
    ("{key: fir, name: FIR, owners: [SJPU], within: 24h, from: report, keywords: [ACK]}", "is a command"),
    ("{key: fir, name: FIR, owners: [SJPU], within: 24h, from: report, keywords: []}", "no keyword"),
])
def test_a_broken_duty_is_refused_with_its_line(duty, problem):
    text = f"{RULES_HEAD}\nduties:\n  sexual_abuse:\n    - {duty}\n"
    with pytest.raises(RulesError, match=problem) as error:
        parse_rules(text)
    line = text.count("\n", 0, text.index("    - {key")) + 1
    assert f"line {line}" in str(error.value)


def test_the_contracts_spelling_of_a_duty_works_as_written():
    """../shared/CONTRACT.md: `key`, `owner` units, `within`, `from`, `keyword`, `law`."""
    duties = ("  sexual_abuse:\n    - {key: cwc_told, owner: CWC, within: 24h, from: report, keyword: CWCTOLD,"
              " law: 'POCSO s.19(6)'}\n    - {key: fir, owner: [SJPU, POLICE_STATION], within: 24h, from: report,"
              " keyword: [FIR, एफआईआर]}\n")
    rules = parse_rules(f"{RULES_HEAD}\nduties:\n{duties}")
    told, fir = rules.duties.by_concern["sexual_abuse"]
    assert (told.key, told.name, told.owners, told.keywords, told.law) == (
        "cwc_told", "Cwc told", ("CWC",), ("CWCTOLD",), "POCSO s.19(6)")
    assert (fir.owners, fir.keywords) == (("SJPU", "POLICE_STATION"), ("FIR", "एफआईआर"))
    both = "  sexual_abuse:\n    - {key: fir, owner: SJPU, owners: [SJPU], within: 24h, from: report, keyword: FIR}\n"
    with pytest.raises(RulesError, match="owner and owners both given"):
        parse_rules(f"{RULES_HEAD}\nduties:\n{both}")
    with pytest.raises(RulesError, match="keywords \\(or keyword\\) is missing"):
        parse_rules(f"{RULES_HEAD}\nduties:\n  sexual_abuse:\n    - {{key: fir, owner: SJPU, within: 24h, from: report}}\n")


def test_a_keyword_cannot_record_two_different_duties():
    duties = ("  sexual_abuse:\n    - {key: fir, name: FIR, owners: [SJPU], within: 24h, from: report, keywords: [FIR]}\n"
              "    - {key: medical, name: Medical, owners: [OSC], within: 24h, from: report, keywords: [fir]}\n")
    with pytest.raises(RulesError, match="already records fir"):
        parse_rules(f"{RULES_HEAD}\nduties:\n{duties}")


def test_acknowledging_is_a_word_of_the_rules_not_a_unit():
    assert ACKNOWLEDGING not in RULES.units.keys()  # noqa: SIM118 (a UnitTable, not a dict)
