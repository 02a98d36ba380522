"""Jurisdictions the rules declare (issue 16): a labour inspector's circle covers villages of two
blocks, and routing finds, for a village, the circle that covers it and its inspector."""

from __future__ import annotations

import pytest

from routing.directory import MemoryDirectory, PlaceRef, with_jurisdictions
from routing.ladder import route
from routing.rules import DEFAULT_RULES, Rules, parse_rules
from routing.units import Levels, rank

STATE, DISTRICT, KANKE, RATU = 20, 9001, 90011, 90012
PIPRA, TIGRA = 900111, 900121  # gram panchayats of Kanke and Ratu
AMTOLA, CHUTU, HEHAL, TILAIYA = 9001111, 9001211, 9001221, 9001199
NORTH, SOUTH, KANKE_PS = 8101, 8102, 7001


def labour_rules() -> Rules:
    """The shipped rules, with labour inspectors' circles declared and LABOUR sitting at one."""
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    declared = "  police_station: {name: Police station, parent: district}\n"
    labour = "LABOUR: {name: Labour inspector (district task force), levels: [district]"
    assert declared in text and labour in text
    return parse_rules(text.replace(declared, declared + "  labour_circle: {name: Labour inspector's circle, parent: district}\n")
                       .replace(labour, "LABOUR: {name: Labour inspector, levels: [labour_circle, district]"))


@pytest.fixture(scope="module")
def rules() -> Rules:
    return labour_rules()


@pytest.fixture(scope="module")
def directory(rules: Rules) -> MemoryDirectory:
    d = MemoryDirectory(rules.levels)
    d.add_place(STATE, "state", "Jharkhand").add_place(DISTRICT, "district", "Ranchi", STATE)
    d.add_place(KANKE, "block", "Kanke", DISTRICT).add_place(RATU, "block", "Ratu", DISTRICT)
    d.add_place(PIPRA, "gram_panchayat", "Pipra", KANKE).add_place(TIGRA, "gram_panchayat", "Tigra", RATU)
    d.add_place(AMTOLA, "village", "Amtola", PIPRA).add_place(TILAIYA, "village", "Tilaiya", KANKE)
    d.add_place(CHUTU, "village", "Chutu", TIGRA).add_place(HEHAL, "village", "Hehal", TIGRA)
    # The north circle: all of Kanke, and one village of Ratu; the south circle: the rest of Tigra.
    d.add_place(NORTH, "labour_circle", "North circle", DISTRICT).add_place(SOUTH, "labour_circle", "South circle", DISTRICT)
    d.add_coverage("labour_circle", NORTH, "block", KANKE).add_coverage("labour_circle", NORTH, "village", CHUTU)
    d.add_coverage("labour_circle", SOUTH, "gram_panchayat", TIGRA)
    d.add_place(KANKE_PS, "police_station", "Kanke PS", DISTRICT).add_coverage("police_station", KANKE_PS, "block", KANKE)
    d.add_contact("LABOUR", NORTH, "Inspector North", "+917000000801", "hi", level="labour_circle")
    d.add_contact("LABOUR", SOUTH, "Inspector South", "+917000000802", "hi", level="labour_circle")
    d.add_contact("LABOUR", DISTRICT, "District task force", "+917000000803", "hi", level="district")
    for n, unit in enumerate(("DCPU", "DCPO", "CWC", "SJPU", "DM", "CHILDLINE")):
        d.add_contact(unit, DISTRICT, f"{unit} Ranchi", f"+9170000009{n:02d}", level="district")
    d.add_contact("SCPS", STATE, "SCPS Jharkhand", "+917000000899", level="state")
    return d


def inspector(rules: Rules, directory: MemoryDirectory, village: int) -> tuple[str, str]:
    step = route(village, "child_labour", False, directory, rules).steps[0]
    at = step.units[step.unit_keys.index("LABOUR")]
    assert at.place is not None
    return at.place.name, next(c.name for c in step.contacts if c.unit == "LABOUR")


@pytest.mark.parametrize(("village", "circle", "contact"), [
    (AMTOLA, "North circle", "Inspector North"),    # through its block (Kanke)
    (TILAIYA, "North circle", "Inspector North"),   # through its block, no panchayat
    (CHUTU, "North circle", "Inspector North"),     # directly, before its panchayat's circle
    (HEHAL, "South circle", "Inspector South"),     # through its gram panchayat (Tigra, in Ratu)
])
def test_a_labour_circle_over_villages_of_two_blocks_reaches_its_inspector(rules, directory, village, circle, contact):
    assert inspector(rules, directory, village) == (circle, contact)


def test_a_village_no_circle_covers_falls_to_the_district_task_force(rules: Rules) -> None:
    d = MemoryDirectory(rules.levels)
    d.add_place(STATE, "state", "Jharkhand").add_place(DISTRICT, "district", "Ranchi", STATE)
    d.add_place(KANKE, "block", "Kanke", DISTRICT).add_place(TILAIYA, "village", "Tilaiya", KANKE)
    d.add_contact("LABOUR", DISTRICT, "District task force", "+917000000803", level="district")
    assert inspector(rules, d, TILAIYA) == ("Ranchi", "District task force")


def test_every_jurisdiction_sits_after_the_places_below_the_block_nearest_cover_first(directory) -> None:
    assert [(p.level, p.lgd_code) for p in directory.chain(CHUTU)] == [
        ("village", CHUTU), ("gram_panchayat", TIGRA), ("labour_circle", NORTH), ("labour_circle", SOUTH),
        ("block", RATU), ("district", DISTRICT), ("state", STATE)]
    assert [p.level for p in directory.chain(AMTOLA)] == [
        "village", "gram_panchayat", "labour_circle", "police_station", "block", "district", "state"]
    station, circle = PlaceRef(1, "police_station", "PS"), PlaceRef(2, "cmpo_area", "CMPO")
    chain = [PlaceRef(3, "village", "V"), PlaceRef(4, "block", "B")]
    assert with_jurisdictions(chain, [circle, station])[1:3] == [circle, station]  # the order given
    assert rank("urban_local_body") < rank("police_station") == rank("cmpo_area") < rank("block")


def test_a_place_of_an_undeclared_level_is_refused() -> None:
    with pytest.raises(ValueError, match=r"level 'labour_circle' is not one of village, .*\(none\)"):
        MemoryDirectory().add_place(NORTH, "labour_circle", "North circle", DISTRICT)
    assert "police_station" not in Levels() and "village" in Levels()
