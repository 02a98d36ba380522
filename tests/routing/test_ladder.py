"""Routing decisions, one row per (concern, urgency, directory situation), on an in-memory directory."""

from __future__ import annotations

import json

import pytest

from routing.directory import MemoryDirectory
from routing.ladder import (
    Ladder,
    UnknownConcern,
    UnknownPlace,
    coverage,
    explain,
    route,
)
from routing.rules import DEFAULT_RULES, Rules, load_rules, parse_duration, parse_rules

# Jharkhand (20) has a state control room, so its fallback can answer; West Bengal (19) has one
# too; Rajasthan (8) has nobody at all.
OK = 9001111  # every committee in place
HALF = 9001112  # one of two VCPC members inactive
IDLE = 9001113  # every VCPC member inactive
TILAIYA = 9001199  # directly under the block: no gram panchayat
NO_BCPC = 9001211  # its block has no BCPC
NO_DCPU = 9002111  # its district has no DCPU contact (CWC and SJPU only)
EMPTY = 9101111  # nobody in its district; West Bengal's control room is the fallback
GP_VCPC = 9102111  # no committee of its own, one at its gram panchayat
NOWHERE = 9201111  # nobody in Rajasthan, not even at the state


def world() -> MemoryDirectory:
    d = MemoryDirectory(load_rules().levels)  # police stations: a jurisdiction the shipped rules declare
    d.add_place(20, "state", "Jharkhand").add_place(19, "state", "West Bengal").add_place(8, "state", "Rajasthan")
    d.add_contact("CHILDLINE", 20, "Jharkhand SCPS control room", "+917000000001")
    d.add_contact("CHILDLINE", 19, "West Bengal SCPS control room", "+917000000002", "bn")
    # Ranchi: everything, except what each village is there to show.
    d.add_place(9001, "district", "Ranchi", 20).add_place(90011, "block", "Kanke", 9001)
    d.add_place(900111, "gram_panchayat", "Pipra", 90011)
    for code, name in ((OK, "Amtola"), (HALF, "Bansdih"), (IDLE, "Chandpur")):
        d.add_place(code, "village", name, 900111)
    d.add_place(TILAIYA, "village", "Tilaiya", 90011)
    d.add_place(90012, "block", "Ormanjhi", 9001).add_place(900121, "gram_panchayat", "Pipra", 90012)
    d.add_place(NO_BCPC, "village", "Amtola", 900121)
    d.add_contact("DCPU", 9001, "DCPO Ranchi", "+917000000101", "hi")
    d.add_contact("DCPU", 9001, "PO Ranchi", "+917000000102", "hi")
    d.add_contact("CWC", 9001, "CWC Ranchi", "+917000000103", "hi")
    d.add_contact("SJPU", 9001, "SJPU Ranchi", "+917000000104", "hi")
    d.add_contact("BCPC", 90011, "BCPC Kanke", "+917000000105", "hi")
    d.add_contact("BCPC", 90012, "BCPC Ormanjhi (left)", "+917000000199", "hi", active=False)
    d.add_contact("VCPC", OK, "AWW Amtola", "+917000000106").add_contact("VCPC", OK, "Ward Amtola", "+917000000107")
    d.add_contact("VCPC", HALF, "AWW Bansdih", "+917000000108")
    d.add_contact("VCPC", HALF, "Ward Bansdih (left)", "+917000000109", active=False)
    d.add_contact("VCPC", IDLE, "AWW Chandpur (left)", "+917000000110", active=False)
    d.add_contact("VCPC", TILAIYA, "AWW Tilaiya", "+917000000111")
    d.add_contact("VCPC", NO_BCPC, "AWW Amtola O", "+917000000112")
    # Ranchi also has every unit the law names (issue 16); its one police station covers Kanke and
    # one panchayat of Ormanjhi, and Ormanjhi has no CMPO or BEO.
    d.add_place(7001, "police_station", "Kanke PS", 9001, "district")
    d.add_coverage("police_station", 7001, "block", 90011).add_coverage("police_station", 7001, "gram_panchayat", 900121)
    d.add_contact("POLICE_STATION", 7001, "CWPO Kanke PS", "+917000000401", "hi", level="police_station")
    for unit, name, phone in (("DCPO", "DCPO Ranchi in person", "+917000000402"), ("DM", "DM office Ranchi", "+917000000403"),
                              ("LABOUR", "Labour inspector Ranchi", "+917000000407"), ("AHTU", "AHTU Ranchi", "+917000000408"),
                              ("OSC", "One Stop Centre Ranchi", "+917000000409"), ("CHILDLINE", "Childline Ranchi", "+917000000410")):
        d.add_contact(unit, 9001, name, phone, "hi", level="district")
    d.add_contact("CMPO", 90011, "CMPO Kanke", "+917000000405", "hi", level="block")
    d.add_contact("BEO", 90011, "BEO Kanke", "+917000000406", "hi", level="block")
    d.add_contact("SCPS", 20, "SCPS Jharkhand", "+917000000404", "hi", level="state")  # West Bengal has none
    # Dumka: no DCPU contact.
    d.add_place(9002, "district", "Dumka", 20).add_place(90021, "block", "Jama", 9002)
    d.add_place(900211, "gram_panchayat", "Pipra", 90021).add_place(NO_DCPU, "village", "Amtola", 900211)
    d.add_contact("CWC", 9002, "CWC Dumka", "+917000000133").add_contact("SJPU", 9002, "SJPU Dumka", "+917000000134")
    d.add_contact("BCPC", 90021, "BCPC Jama", "+917000000135").add_contact("VCPC", NO_DCPU, "AWW Jama", "+917000000136")
    # Purulia: nobody. Bankura: a committee per gram panchayat.
    d.add_place(9101, "district", "Purulia", 19).add_place(91011, "block", "Jhalda", 9101)
    d.add_place(910111, "gram_panchayat", "Pipra", 91011).add_place(EMPTY, "village", "Amtola", 910111)
    d.add_place(9102, "district", "Bankura", 19).add_place(91021, "block", "Chhatna", 9102)
    d.add_place(910211, "gram_panchayat", "Pipra", 91021).add_place(GP_VCPC, "village", "Amtola", 910211)
    d.add_contact("DCPU", 9102, "DCPO Bankura", "+917000000191", "bn").add_contact("BCPC", 91021, "BCPC Chhatna", "+917000000195")
    d.add_contact("VCPC", 910211, "AWW Pipra GP", "+917000000196", "bn")
    # Udaipur: places, no contacts anywhere up to the state.
    d.add_place(9201, "district", "Udaipur", 8).add_place(92011, "block", "Girwa", 9201)
    d.add_place(920111, "gram_panchayat", "Pipra", 92011).add_place(NOWHERE, "village", "Amtola", 920111)
    return d


# West Bengal forms committees per gram panchayat and calls them CWPC; Bankura sends begging to Childline.
WEST_BENGAL = """
states:
  19:
    units:
      VCPC: {name: CWPC, levels: [village, gram_panchayat]}
districts:
  9102:
    rules:
      begging:
        any:
          - {units: [SJPU, CHILDLINE, DCPU], ack_within: 20m, repeat_every: 40m}
"""


@pytest.fixture(scope="module")
def rule_sets() -> dict[str, Rules]:
    return {"default": load_rules(), "wb": parse_rules(DEFAULT_RULES.read_text(encoding="utf-8") + WEST_BENGAL)}


# Every ladder tops out past the DCPU: the DCPO in person, then the DM's office and the SCPS.
TOP_E, TOP_U, TOP_R = ([(("DCPO",), a), (("DM", "SCPS"), b)] for a, b in (("30m", "1h"), ("1h", "2h"), ("24h", "48h")))
POCSO = [(("POLICE_STATION", "SJPU", "DCPU", "CWC", "OSC"), "15m"), *TOP_E]
TRAFFICKING = [(("POLICE_STATION", "SJPU", "AHTU", "DCPU", "CWC"), "15m"), *TOP_E]
ROUTINE = [(("VCPC",), "24h"), (("BCPC", "BEO"), "48h"), (("DCPU", "CWC"), "72h"), *TOP_R]
FALLBACK = (("CHILDLINE",), "30m")
# Units with nobody above an empty district: West Bengal has no SCPS contact, so the fallback answers.
EMPTY_TOP = [("DCPO", 9101), ("DM", 9101), ("SCPS", 19), ("DCPU", 19)]

# (id, rules, village, concern, urgent, [(units, ack_within) per step], repeat_every, [(unit, place) gaps])
TABLE = [
    ("routine climbs", "default", OK, "neglect_dropout", False, ROUTINE, "12h", []),
    ("routine, in danger now", "default", OK, "neglect_dropout", True, [(("VCPC", "BCPC", "DCPU", "CWC"), "30m"), *TOP_U], "1h", []),
    ("other climbs too", "default", OK, "other", False, [(("VCPC",), "24h"), (("BCPC",), "48h"), (("DCPU",), "72h"), *TOP_R], "12h", []),
    ("orphan: VCPC and CWC, then DCPU", "default", OK, "orphan_support", False, [(("VCPC", "CWC"), "24h"), (("DCPU",), "48h"), *TOP_R],
     "12h", []),
    ("school: BEO and BCPC, then DCPU", "default", OK, "corporal_punishment", False, [(("BEO", "BCPC"), "24h"), (("DCPU",), "48h"), *TOP_R],
     "12h", []),
    ("POCSO: police, CWC and OSC at once", "default", OK, "sexual_abuse", True, POCSO, "30m", []),
    ("POCSO even when not urgent", "default", OK, "sexual_abuse", False, POCSO, "30m", []),
    ("trafficking", "default", OK, "trafficking", False, TRAFFICKING, "30m", []),
    ("missing child", "default", OK, "missing_child", True, [(("POLICE_STATION", "SJPU", "CHILDLINE", "DCPU", "CWC"), "15m"), *TOP_E],
     "30m", []),
    ("found child, in danger", "default", OK, "abandoned_child", True, [(("CHILDLINE", "POLICE_STATION", "CWC", "DCPU"), "15m"), *TOP_E],
     "30m", []),
    ("found child", "default", OK, "abandoned_child", False, [(("CHILDLINE", "CWC", "DCPU"), "30m"), *TOP_U], "1h", []),
    ("marriage imminent", "default", OK, "child_marriage", True, [(("CMPO", "POLICE_STATION", "DCPU", "CWC"), "15m"), *TOP_E], "30m", []),
    ("marriage planned", "default", OK, "child_marriage", False,
     [(("VCPC", "CMPO", "CWC"), "12h"), (("BCPC", "DCPU"), "12h"), (("DCPO",), "24h"), (("DM", "SCPS"), "24h")], "12h", []),
    ("violence, injured", "default", OK, "physical_violence", True, [(("POLICE_STATION", "DCPU", "CWC"), "15m"), *TOP_E], "30m", []),
    ("violence", "default", OK, "physical_violence", False, [(("DCPU", "CWC"), "4h"), (("DCPO",), "8h"), (("DM", "SCPS"), "24h")], "12h", []),
    ("labour", "default", OK, "child_labour", False, [(("LABOUR", "DCPU", "CWC"), "8h"), *TOP_R[:1], (("DM", "SCPS"), "48h")], "12h", []),
    ("begging", "default", OK, "begging", True, [(("POLICE_STATION", "SJPU", "DCPU", "CWC"), "30m"), *TOP_U], "1h", []),
    ("one VCPC member inactive", "default", HALF, "neglect_dropout", False, ROUTINE, "12h", []),
    ("every VCPC member inactive", "default", IDLE, "neglect_dropout", False, ROUTINE[1:], "12h", [("VCPC", IDLE)]),
    ("VCPC inactive, in danger", "default", IDLE, "other", True, [(("BCPC", "DCPU"), "30m"), *TOP_U], "1h", [("VCPC", IDLE)]),
    ("VCPC inactive, emergency unaffected", "default", IDLE, "trafficking", True, TRAFFICKING, "30m", []),
    ("no gram panchayat", "default", TILAIYA, "neglect_dropout", False, ROUTINE, "12h", []),
    ("no gram panchayat, emergency", "default", TILAIYA, "sexual_abuse", True, POCSO, "30m", []),
    ("BCPC missing", "default", NO_BCPC, "neglect_dropout", False, [ROUTINE[0], *ROUTINE[2:]], "12h", [("BCPC", 90012), ("BEO", 90012)]),
    ("BCPC missing, school", "default", NO_BCPC, "corporal_punishment", False, [(("DCPU",), "48h"), *TOP_R], "12h",
     [("BEO", 90012), ("BCPC", 90012)]),
    ("no CMPO in the block, marriage", "default", NO_BCPC, "child_marriage", True, [(("POLICE_STATION", "DCPU", "CWC"), "15m"), *TOP_E],
     "30m", [("CMPO", 90012)]),
    ("no DCPU: police and CWC still", "default", NO_DCPU, "sexual_abuse", True, [(("SJPU", "CWC"), "15m"), (("SCPS",), "1h")], "30m",
     [("POLICE_STATION", None), ("DCPU", 9002), ("OSC", 9002), ("DCPO", 9002), ("DM", 9002)]),
    ("no DCPU: state tops the climb", "default", NO_DCPU, "neglect_dropout", False,
     [(("VCPC",), "24h"), (("BCPC",), "48h"), (("CWC",), "72h"), (("SCPS",), "48h")], "12h",
     [("BEO", 90021), ("DCPU", 9002), ("DCPO", 9002), ("DM", 9002)]),
    ("no DCPU: state after the BCPC", "default", NO_DCPU, "child_marriage", False,
     [(("VCPC", "CWC"), "12h"), (("BCPC",), "12h"), (("SCPS",), "24h")], "12h",
     [("CMPO", 90021), ("DCPU", 9002), ("DCPO", 9002), ("DM", 9002)]),
    ("no DCPU, labour: the CWC, then the state", "default", NO_DCPU, "child_labour", False, [(("CWC",), "8h"), (("SCPS",), "48h")], "12h",
     [("LABOUR", 9002), ("DCPU", 9002), ("DCPO", 9002), ("DM", 9002)]),
    ("nobody in the district", "default", EMPTY, "neglect_dropout", False, [FALLBACK], "1h",
     [("VCPC", EMPTY), ("BCPC", 91011), ("BEO", 91011), ("DCPU", 9101), ("CWC", 9101), *EMPTY_TOP]),
    ("nobody in the district, POCSO", "default", EMPTY, "sexual_abuse", True, [FALLBACK], "1h",
     [("POLICE_STATION", None), ("SJPU", 9101), ("DCPU", 9101), ("CWC", 9101), ("OSC", 9101), *EMPTY_TOP]),
    ("nobody in the district, found child: the state's 1098 desk", "default", EMPTY, "abandoned_child", False,
     [(("CHILDLINE",), "30m")], "1h", [("CWC", 9101), ("DCPU", 9101), *EMPTY_TOP[:3]]),
    ("nobody up to the state", "default", NOWHERE, "missing_child", True, [], "30m",
     [("POLICE_STATION", None), ("SJPU", 9201), ("CHILDLINE", 9201), ("DCPU", 9201), ("CWC", 9201), ("DCPO", 9201), ("DM", 9201),
      ("SCPS", 8), ("CHILDLINE", 8), ("DCPU", 8)]),
    ("panchayat committee, not configured", "default", GP_VCPC, "neglect_dropout", False, [(("BCPC",), "48h"), (("DCPU",), "72h")], "12h",
     [("VCPC", GP_VCPC), ("BEO", 91021), ("CWC", 9102), ("DCPO", 9102), ("DM", 9102), ("SCPS", 19)]),
    ("panchayat committee, configured", "wb", GP_VCPC, "neglect_dropout", False, [(("VCPC",), "24h"), (("BCPC",), "48h"), (("DCPU",), "72h")],
     "12h", [("BEO", 91021), ("CWC", 9102), ("DCPO", 9102), ("DM", 9102), ("SCPS", 19)]),
    ("district rule: Childline from the state's desk, SJPU missing", "wb", GP_VCPC, "begging", False, [(("CHILDLINE", "DCPU"), "20m")],
     "40m", [("SJPU", 9102)]),
    ("state rule elsewhere unchanged", "wb", OK, "begging", False,
     [(("POLICE_STATION", "SJPU", "DCPU", "CWC"), "4h"), (("DCPO",), "8h"), (("DM", "SCPS"), "24h")], "12h", []),
]


@pytest.mark.parametrize(
    ("rules_name", "village", "concern", "urgent", "steps", "repeat", "gaps"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_ladder(
    rule_sets: dict[str, Rules], rules_name: str, village: int, concern: str, urgent: bool,
    steps: list[tuple[tuple[str, ...], str]], repeat: str, gaps: list[tuple[str, int]],
) -> None:
    rules = rule_sets[rules_name]
    ladder = route(village, concern, urgent, world(), rules)
    assert [(step.unit_keys, step.ack_within) for step in ladder.steps] == [(units, seconds(t)) for units, t in steps]
    assert ladder.repeat_every == seconds(repeat)
    assert [(gap.unit, gap.place.lgd_code if gap.place else None) for gap in ladder.gaps] == gaps
    assert [step.index for step in ladder.steps] == list(range(len(steps)))
    assert all(step.contacts for step in ladder.steps)  # a step is never left with nobody
    assert all(gap.village.lgd_code == village for gap in ladder.gaps)
    assert ladder.unroutable == (not steps)


def seconds(text: str) -> int:
    value = parse_duration(text)
    assert value is not None, text
    return value


def test_inactive_members_are_not_alerted(rule_sets: dict[str, Rules]) -> None:
    ladder = route(HALF, "neglect_dropout", False, world(), rule_sets["default"])
    assert [contact.name for contact in ladder.steps[0].contacts] == ["AWW Bansdih"]


def test_units_are_found_where_they_sit(rule_sets: dict[str, Rules]) -> None:
    ladder = route(TILAIYA, "neglect_dropout", False, world(), rule_sets["default"])
    assert [(at.unit, at.place.lgd_code, at.place.level) for step in ladder.steps for at in step.units] == [
        ("VCPC", TILAIYA, "village"), ("BCPC", 90011, "block"), ("BEO", 90011, "block"), ("DCPU", 9001, "district"),
        ("CWC", 9001, "district"), ("DCPO", 9001, "district"), ("DM", 9001, "district"), ("SCPS", 20, "state"),
    ]
    assert [place.level for place in ladder.chain] == ["village", "police_station", "block", "district", "state"]
    assert ladder.place("block") is not None and ladder.place("gram_panchayat") is None


def test_state_names_its_units(rule_sets: dict[str, Rules]) -> None:
    ladder = route(GP_VCPC, "neglect_dropout", False, world(), rule_sets["wb"])
    first = ladder.steps[0].units[0]
    assert (first.name, first.place.level, first.place.lgd_code) == ("CWPC", "gram_panchayat", 910211)
    assert ladder.steps[0].contacts[0].language == "bn"


def test_fallback_is_the_state_place(rule_sets: dict[str, Rules]) -> None:
    ladder = route(EMPTY, "other", False, world(), rule_sets["default"])
    (step,) = ladder.steps
    assert step.fallback and step.units[0].place.level == "state"
    assert [contact.name for contact in step.contacts] == ["West Bengal SCPS control room"]


def test_one_alert_per_phone_in_a_step(rule_sets: dict[str, Rules]) -> None:
    directory = world().add_contact("CWC", 9001, "DCPO Ranchi", "+917000000101", "hi")
    ladder = route(OK, "sexual_abuse", True, directory, rule_sets["default"])
    phones = [contact.phone for contact in ladder.steps[0].contacts]
    assert len(phones) == len(set(phones)) == 6  # the station's CWPO, SJPU, two DCPU, the CWC chair, the OSC


def test_a_case_keeps_its_ladder_through_json(rule_sets: dict[str, Rules]) -> None:
    for village, concern, urgent in ((OK, "neglect_dropout", False), (NO_DCPU, "other", False), (NOWHERE, "begging", True)):
        ladder = route(village, concern, urgent, world(), rule_sets["default"])
        data = json.loads(json.dumps(ladder.to_dict()))
        assert Ladder.from_dict(data) == ladder
    assert data["steps"] == [] and data["gaps"]
    assert route(OK, "trafficking", True, world(), rule_sets["default"]).to_dict()["steps"][0]["units"] == [
        "POLICE_STATION", "SJPU", "AHTU", "DCPU", "CWC"]


def test_a_directory_change_does_not_touch_a_decided_ladder(rule_sets: dict[str, Rules]) -> None:
    directory = world()
    before = route(OK, "neglect_dropout", False, directory, rule_sets["default"]).to_dict()
    directory.set_active("+917000000106", False)
    after = route(OK, "neglect_dropout", False, directory, rule_sets["default"])
    assert [c.name for c in Ladder.from_dict(before).steps[0].contacts] == ["AWW Amtola", "Ward Amtola"]
    assert [c.name for c in after.steps[0].contacts] == ["Ward Amtola"]


def test_unknown_place_and_concern(rule_sets: dict[str, Rules]) -> None:
    with pytest.raises(UnknownPlace):
        route(123, "other", False, world(), rule_sets["default"])
    with pytest.raises(UnknownConcern):
        route(OK, "bullying", False, world(), rule_sets["default"])


def test_from_dict_refuses_another_format() -> None:
    with pytest.raises(ValueError, match="version"):
        Ladder.from_dict({"version": 99})


@pytest.mark.parametrize(
    ("village", "gaps"),
    [(OK, []), (IDLE, [("VCPC", IDLE)]), (NO_BCPC, [("BCPC", 90012), ("CMPO", 90012), ("BEO", 90012)]),
     (NO_DCPU, [("DCPU", 9002), ("DCPO", 9002), ("POLICE_STATION", 0), ("AHTU", 9002), ("CMPO", 90021), ("LABOUR", 9002),
                ("BEO", 90021), ("OSC", 9002), ("DM", 9002)]),
     (EMPTY, [("SJPU", 9101), ("DCPU", 9101), ("CWC", 9101), ("BCPC", 91011), ("VCPC", EMPTY), ("DCPO", 9101), ("POLICE_STATION", 0),
              ("AHTU", 9101), ("CMPO", 91011), ("LABOUR", 9101), ("BEO", 91011), ("OSC", 9101), ("DM", 9101), ("SCPS", 19)])],
)
def test_coverage_lists_each_missing_unit_once(rule_sets: dict[str, Rules], village: int, gaps: list[tuple[str, int]]) -> None:
    found = coverage(village, world(), rule_sets["default"])
    assert sorted((gap.unit, gap.place.lgd_code if gap.place else 0) for gap in found) == sorted(gaps)


def test_explain_names_people_never_phones(rule_sets: dict[str, Rules]) -> None:
    text = "\n".join(explain(route(NO_DCPU, "neglect_dropout", False, world(), rule_sets["default"])))
    assert "AWW Jama" in text and "SCPS Jharkhand" in text and "+91" not in text
    assert "acknowledge within 1d" in text and "gap: no active DCPU contact at Dumka (district 9002)" in text
    nobody = "\n".join(explain(route(NOWHERE, "other", False, world(), rule_sets["default"])))
    assert "NOBODY CAN BE TOLD" in nobody
