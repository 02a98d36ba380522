"""The shipped rules against the law (issue 16): who hears a report at step 1, and the section that says so.

Routed on a directory where every unit has a contact, so a unit missing from a step is the rules'
doing, not a coverage gap. Each row names the law it rests on (../shared/LAW.md; the bare acts win).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from routing.concerns import BY_KEY, CONCERNS, KEYS
from routing.directory import MemoryDirectory
from routing.ladder import Ladder, explain, route
from routing.lifecycle import IST
from routing.rules import Rules, load_rules

VILLAGE, PANCHAYAT, BLOCK, DISTRICT, STATE, STATION = 9001111, 900111, 90011, 9001, 20, 7001
OFFICE = "Mon-Sat 10:00-17:30"

# Where each unit's one contact sits: the nearest place at one of the unit's levels.
CONTACTS = {
    "VCPC": ("village", VILLAGE), "BCPC": ("block", BLOCK), "CMPO": ("block", BLOCK), "BEO": ("block", BLOCK),
    "POLICE_STATION": ("police_station", STATION), "SCPS": ("state", STATE),
    **{unit: ("district", DISTRICT) for unit in ("DCPU", "DCPO", "CWC", "SJPU", "LABOUR", "AHTU", "OSC", "CHILDLINE", "DM")},
}


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


@pytest.fixture(scope="module")
def directory() -> MemoryDirectory:
    d = MemoryDirectory(load_rules().levels)  # police stations: a jurisdiction the shipped rules declare
    d.add_place(STATE, "state", "Jharkhand").add_place(DISTRICT, "district", "Ranchi", STATE)
    d.add_place(BLOCK, "block", "Kanke", DISTRICT).add_place(PANCHAYAT, "gram_panchayat", "Pipra", BLOCK)
    d.add_place(VILLAGE, "village", "Amtola", PANCHAYAT)
    d.add_place(STATION, "police_station", "Kanke PS", DISTRICT, "district").add_coverage("police_station", STATION, "block", BLOCK)
    for number, (unit, (level, code)) in enumerate(CONTACTS.items()):
        d.add_contact(unit, code, f"{unit} contact", f"+9170000099{number:02d}", "hi", level=level)
    return d


def ladder(rules: Rules, directory: MemoryDirectory, concern: str, urgent: bool) -> Ladder:
    routed = route(VILLAGE, concern, urgent, directory, rules)
    assert not routed.gaps, routed.gaps  # every unit has a contact: what is missing is the rules' choice
    return routed


# (concern, urgent, the units alerted at step 1, fragments of the law step 1 must cite)
POCSO = {"POLICE_STATION", "SJPU", "DCPU", "CWC", "OSC"}
TRAFFICKING = {"POLICE_STATION", "SJPU", "AHTU", "DCPU", "CWC"}
SEPARATED = {"POLICE_STATION", "SJPU", "CHILDLINE", "DCPU", "CWC"}
MIGRATION = {"POLICE_STATION", "SJPU", "AHTU", "LABOUR", "DCPU", "CWC"}
BEGGING = {"POLICE_STATION", "SJPU", "DCPU", "CWC"}
STEP_ONE = [
    ("sexual_abuse", True, POCSO, ("POCSO s.19(1), s.21", "s.19(6)", "One Stop Centre")),
    ("sexual_abuse", False, POCSO, ("POCSO s.19(1), s.21", "s.19(6)")),
    ("child_marriage", True, {"CMPO", "POLICE_STATION", "DCPU", "CWC"}, ("PCMA 2006 s.16", "s.13", "JJ s.2(14)(xii)")),
    ("child_marriage", False, {"VCPC", "CMPO", "CWC"}, ("PCMA 2006 s.16", "s.13", "JJ s.2(14)(xii)", "village committee")),
    ("trafficking", True, TRAFFICKING, ("BNS 2023 s.143", "ITPA 1956", "JJ s.2(14)(ix)")),
    ("trafficking", False, TRAFFICKING, ("BNS 2023 s.143", "ITPA 1956", "JJ s.2(14)(ix)")),
    ("missing_child", True, SEPARATED, ("FIR", "JJ s.32", "JJ s.2(14)(vii)")),
    ("missing_child", False, SEPARATED, ("FIR", "JJ s.32", "JJ s.2(14)(vii)")),
    ("abandoned_child", True, {"CHILDLINE", "POLICE_STATION", "CWC", "DCPU"}, ("JJ s.32", "s.31")),
    ("abandoned_child", False, {"CHILDLINE", "CWC", "DCPU"}, ("JJ s.32", "s.31", "s.2(14)(vi)")),
    ("physical_violence", True, {"POLICE_STATION", "DCPU", "CWC"}, ("JJ s.75", "JJ s.2(14)(iii)")),
    ("physical_violence", False, {"DCPU", "CWC"}, ("JJ s.75", "JJ s.2(14)(iii)")),
    ("child_labour", True, {"LABOUR", "POLICE_STATION", "DCPU", "CWC"}, ("CALPRA s.17", "s.14A", "JJ s.2(14)(ii)")),
    ("child_labour", False, {"LABOUR", "DCPU", "CWC"}, ("CALPRA s.17", "JJ s.2(14)(ii)")),
    ("begging", True, BEGGING, ("JJ s.76", "BNS s.139", "JJ s.2(14)(ii)")),
    ("begging", False, BEGGING, ("JJ s.76", "BNS s.139", "JJ s.2(14)(ii)")),
    ("corporal_punishment", True, {"BEO", "BCPC", "DCPU"}, ("RTE 2009 s.17",)),
    ("corporal_punishment", False, {"BEO", "BCPC"}, ("RTE 2009 s.17",)),
    ("orphan_support", True, {"VCPC", "CHILDLINE", "DCPU", "CWC"}, ("JJ s.2(14)(vi)",)),
    ("orphan_support", False, {"VCPC", "CWC"}, ("JJ s.2(14)(vi)", "sponsorship (s.45)", "foster care (s.44)", "SFCAC")),
    ("neglect_dropout", True, {"VCPC", "BCPC", "DCPU", "CWC"}, ("JJ s.2(14)(iii), (v)",)),
    ("neglect_dropout", False, {"VCPC"}, ("JJ s.2(14)(iii), (v)",)),
    ("runaway", True, SEPARATED, ("JJ s.2(14)(vii), s.32", "FIR")),
    ("runaway", False, SEPARATED, ("JJ s.2(14)(vii), s.32", "FIR")),
    ("labour_migration", True, MIGRATION, ("BNS 2023 s.143", "CALPRA s.3, s.14A, s.17", "JJ s.2(14)(ii), (ix)")),
    ("labour_migration", False, MIGRATION, ("BNS 2023 s.143", "CALPRA s.3, s.14A, s.17", "JJ s.2(14)(ii), (ix)")),
    ("substance_abuse", True, {"POLICE_STATION", "CHILDLINE", "DCPU", "CWC"}, ("JJ s.77", "JJ s.2(14)(ix)")),
    ("substance_abuse", False, {"DCPU", "CWC"}, ("JJ s.2(14)(ix)",)),
    ("disability_neglect", True, {"VCPC", "CHILDLINE", "DCPU", "CWC"}, ("JJ s.2(14)(iv)",)),
    ("disability_neglect", False, {"VCPC", "CWC"}, ("JJ s.2(14)(iv)",)),
    ("other", True, {"VCPC", "BCPC", "DCPU"}, ("Mission Vatsalya",)),
    ("other", False, {"VCPC"}, ("Mission Vatsalya",)),
]


def test_the_table_states_every_concern_and_urgency() -> None:
    assert sorted((concern, urgent) for concern, urgent, *_ in STEP_ONE) == sorted(
        (concern, urgent) for concern in KEYS for urgent in (True, False))


@pytest.mark.parametrize(("concern", "urgent", "units", "law"), [
    pytest.param(*row, id=f"{row[0]}-{'urgent' if row[1] else 'not urgent'}") for row in STEP_ONE])
def test_who_hears_at_step_one_and_why(rules, directory, concern: str, urgent: bool, units: set[str],
                                       law: tuple[str, ...]) -> None:
    first = ladder(rules, directory, concern, urgent).steps[0]
    assert set(first.unit_keys) == units
    assert len(first.unit_keys) == len(units)
    for fragment in law:
        assert fragment in first.law, (fragment, first.law)


# The law sends these to the police at once, whatever the reporter says about danger now: POCSO
# s.19(1); trafficking (BNS s.143); the FIR for a missing or runaway child; using a child to beg
# (JJ s.76, BNS s.139). Violence, child marriage, labour and drugs reach the police when urgent.
POLICE = {"sexual_abuse", "trafficking", "missing_child", "runaway", "labour_migration", "begging"}


def test_the_concerns_the_law_sends_to_the_police() -> None:
    assert {concern.key for concern in CONCERNS if concern.police} == POLICE


@pytest.mark.parametrize("concern", sorted(POLICE))
@pytest.mark.parametrize("urgent", [True, False])
def test_police_reportable_concerns_reach_the_station_and_the_sjpu_at_step_one(rules, directory, concern, urgent) -> None:
    first = ladder(rules, directory, concern, urgent).steps[0]
    assert {"POLICE_STATION", "SJPU"} <= set(first.unit_keys)
    assert first.units[first.unit_keys.index("POLICE_STATION")].place.level == "police_station"


@pytest.mark.parametrize("urgent", [True, False])
def test_urgent_reports_of_harm_reach_the_police_station(rules, directory, urgent) -> None:
    for concern in ("physical_violence", "child_marriage", "child_labour", "substance_abuse", "abandoned_child"):
        first = ladder(rules, directory, concern, urgent).steps[0]
        assert ("POLICE_STATION" in first.unit_keys) == urgent, concern


# Children in need of care and protection (JJ s.2(14)): the CWC decides their care, so it must hear.
# The clause (or the section that sends the child there) the step bringing in the CWC must cite.
IN_NEED_OF_CARE = {
    "begging": "2(14)(ii)", "child_labour": "2(14)(ii)", "labour_migration": "2(14)(ii)",
    "physical_violence": "2(14)(iii)", "neglect_dropout": "2(14)(iii)", "disability_neglect": "2(14)(iv)",
    "orphan_support": "2(14)(vi)", "abandoned_child": "s.31", "missing_child": "2(14)(vii)", "runaway": "2(14)(vii)",
    "sexual_abuse": "s.19(6)", "trafficking": "2(14)(ix)", "substance_abuse": "2(14)(ix)", "child_marriage": "2(14)(xii)",
}


def test_only_school_matters_and_other_harm_are_not_for_the_cwc() -> None:
    assert set(KEYS) - set(IN_NEED_OF_CARE) == {"corporal_punishment", "other"}


@pytest.mark.parametrize("concern", sorted(IN_NEED_OF_CARE))
@pytest.mark.parametrize("urgent", [True, False])
def test_children_in_need_of_care_reach_the_cwc(rules, directory, concern, urgent) -> None:
    steps = ladder(rules, directory, concern, urgent).steps
    step = next((step for step in steps if "CWC" in step.unit_keys), None)
    assert step is not None, [s.unit_keys for s in steps]
    assert IN_NEED_OF_CARE[concern] in step.law, step.law


@pytest.mark.parametrize(("concern", "units"), [
    ("child_marriage", {"CMPO", "CWC"}), ("child_labour", {"LABOUR", "CWC"}), ("trafficking", {"AHTU", "CWC"}),
    ("labour_migration", {"AHTU", "LABOUR"}), ("sexual_abuse", {"OSC"}), ("corporal_punishment", {"BEO"}),
    ("orphan_support", {"CWC"}), ("begging", {"POLICE_STATION", "SJPU"}),
])
@pytest.mark.parametrize("urgent", [True, False])
def test_the_officers_other_acts_name_hear_at_step_one(rules, directory, concern, units, urgent) -> None:
    assert units <= set(ladder(rules, directory, concern, urgent).steps[0].unit_keys)


def test_a_child_out_of_school_reaches_the_block_education_officer(rules, directory) -> None:
    steps = ladder(rules, directory, "neglect_dropout", False).steps
    assert [i for i, step in enumerate(steps) if "BEO" in step.unit_keys] == [1]  # after the village committee


@pytest.mark.parametrize("concern", ["missing_child", "runaway", "abandoned_child"])
@pytest.mark.parametrize("urgent", [True, False])
def test_childline_hears_a_separated_child_first_not_last(rules, directory, concern, urgent) -> None:
    routed = ladder(rules, directory, concern, urgent)
    assert "CHILDLINE" in routed.steps[0].unit_keys  # JJ s.32 names it first
    assert not any(step.fallback for step in routed.steps)


@pytest.mark.parametrize("concern", KEYS)
@pytest.mark.parametrize("urgent", [True, False])
def test_every_ladder_tops_out_past_the_dcpu(rules, directory, concern, urgent) -> None:
    """The DCPU, then the DCPO in person, then the DM's office and the SCPS, each its own step."""
    rule = rules.ladder(concern, urgent)[0]
    routed = ladder(rules, directory, concern, urgent).steps
    assert [set(step.unit_keys) for step in routed] == [set(step.units) for step in rule.steps]  # nobody missing
    units = [set(step.units) for step in rule.steps]
    dcpu = max(i for i, found in enumerate(units) if "DCPU" in found)
    assert dcpu < len(units) - 2 and units[-2:] == [{"DCPO"}, {"DM", "SCPS"}], units
    assert rule.steps[-2].ack_within > 0 and rule.steps[-1].ack_within > 0 and rule.repeat_every > 0
    assert "JJ s.106" in rule.steps[-2].law and "2021" in rule.steps[-1].law and "JJ s.106" in rule.steps[-1].law


# Units the issue and ../shared/CONTRACT.md name: (levels, round the clock, police, office hours).
UNITS = {
    "VCPC": (("village", "ward"), False, False, OFFICE), "BCPC": (("block",), False, False, OFFICE),
    "DCPU": (("district",), False, False, OFFICE), "DCPO": (("district",), False, False, OFFICE),
    "CWC": (("district",), False, False, OFFICE), "SJPU": (("district",), True, True, None),
    "POLICE_STATION": (("police_station",), True, True, None), "CMPO": (("block", "district"), False, False, OFFICE),
    "LABOUR": (("district",), False, False, OFFICE), "AHTU": (("district",), True, True, None),
    "OSC": (("district",), True, False, None), "BEO": (("block",), False, False, OFFICE),
    "CHILDLINE": (("district", "state"), True, False, None), "SCPS": (("state",), False, False, OFFICE),
    "DM": (("district",), False, False, OFFICE),
}


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_the_shipped_units(rules, unit: str) -> None:
    spec = rules.units.spec(unit)
    assert (spec.levels, spec.round_the_clock, spec.police, spec.hours) == UNITS[unit]


def test_night_cover_is_the_helpline_and_the_covering_station(rules, directory) -> None:
    assert rules.night_cover == ("CHILDLINE", "POLICE_STATION")
    assert all(rules.units.spec(unit).round_the_clock for unit in rules.night_cover)
    night = ladder(rules, directory, "other", True).night
    assert [contact.unit for contact in night] == ["CHILDLINE", "POLICE_STATION"]


def test_explain_says_why_each_step_is_there(rules, directory) -> None:
    lines = explain(ladder(rules, directory, "sexual_abuse", True))
    why = [line.strip() for line in lines if line.strip().startswith("why:")]
    assert len(why) == 3
    assert why[0].startswith("why: POCSO s.19(1), s.21") and "JJ s.106" in why[1] and "s.27(8)" in why[2]
    assert lines[lines.index("    " + why[0]) - 1].startswith("step 1: ")  # right under the step it explains


def test_explain_at_night_names_the_night_cover(rules, directory) -> None:
    at = datetime(2026, 12, 24, 23, 10, tzinfo=IST)
    text = "\n".join(explain(ladder(rules, directory, "other", True), at=at))
    assert "OFF DUTY" in text
    assert "night cover alerted at once: CHILDLINE: CHILDLINE contact, POLICE_STATION: POLICE_STATION contact" in text


def test_concern_labels_cite_the_right_clause() -> None:
    assert "2(14)(iii)" in BY_KEY["neglect_dropout"].law and "(iv)" not in BY_KEY["neglect_dropout"].law
    assert "BNS 2023 s.143" in BY_KEY["trafficking"].law and "ITPA" in BY_KEY["trafficking"].law
    # The menu's order: villagers type a concern's number, so the first eleven keep theirs and the
    # catch-all stays last.
    assert KEYS[:11] == ("sexual_abuse", "child_marriage", "trafficking", "missing_child", "abandoned_child",
                         "physical_violence", "child_labour", "begging", "corporal_punishment", "orphan_support",
                         "neglect_dropout")
    assert KEYS[11:] == ("other", "runaway", "labour_migration", "substance_abuse", "disability_neglect")  # 1–12 keep their numbers
