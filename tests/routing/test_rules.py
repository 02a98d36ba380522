"""The rules file: the shipped default, durations, and files that must be refused with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.concerns import BY_KEY, KEYS
from routing.rules import (
    RulesError,
    format_duration,
    load_rules,
    parse_duration,
    parse_rules,
)

# The smallest complete rules file; each refused case below is one edit of it.
BASE = """\
version: 1
units:
  VCPC: {name: Village Child Protection Committee, levels: [village, ward]}
  BCPC: {name: Block Child Protection Committee, levels: [block], hours: "Mon-Sat 10:00-17:30"}
  DCPU: {name: District Child Protection Unit, levels: [district]}
  CWC: {name: Child Welfare Committee, levels: [district]}
  SJPU: {name: Special Juvenile Police Unit, levels: [district], round_the_clock: true, police: true}
  CHILDLINE: {name: Child Help Line, levels: [district], round_the_clock: true}
fallback: {units: [CHILDLINE, DCPU], ack_within: 30m, repeat_every: 1h}
rules:
  sexual_abuse:
    any:
      - {units: [DCPU, SJPU, CWC], ack_within: 15m, repeat_every: 30m}
  trafficking:
    any:
      - {units: [DCPU, SJPU], ack_within: 15m, repeat_every: 30m}
  missing_child:
    any:
      - {units: [DCPU, SJPU], ack_within: 15m, repeat_every: 30m}
  abandoned_child: {any: [{units: [DCPU, CWC], ack_within: 15m, repeat_every: 30m}]}
  child_marriage: {any: [{units: [BCPC, DCPU], ack_within: 1h, repeat_every: 1h}]}
  physical_violence: {any: [{units: [DCPU], ack_within: 1h, repeat_every: 1h}]}
  child_labour: {any: [{units: [DCPU], ack_within: 1h, repeat_every: 1h}]}
  begging: {any: [{units: [SJPU, DCPU, CWC], ack_within: 1h, repeat_every: 1h}]}
  corporal_punishment: {any: [{units: [BCPC, DCPU], ack_within: 1h, repeat_every: 1h}]}
  orphan_support: {any: [{units: [VCPC, DCPU], ack_within: 1h, repeat_every: 1h}]}
  neglect_dropout:
    urgent:
      - {units: [VCPC, BCPC, DCPU], ack_within: 30m, repeat_every: 1h}
    not_urgent:
      - {units: [VCPC], ack_within: 24h}
      - {units: [BCPC], ack_within: 48h}
      - {units: [DCPU], ack_within: 72h, repeat_every: 12h}
  other:
    any:
      - {units: [VCPC], ack_within: 24h}
      - {units: [DCPU], ack_within: 48h, repeat_every: 12h}
  runaway: {any: [{units: [SJPU, DCPU], ack_within: 15m, repeat_every: 30m}]}
  labour_migration: {any: [{units: [SJPU, DCPU], ack_within: 15m, repeat_every: 30m}]}
  substance_abuse: {any: [{units: [DCPU, CWC], ack_within: 1h, repeat_every: 1h}]}
  disability_neglect: {any: [{units: [VCPC, DCPU], ack_within: 1h, repeat_every: 1h}]}
"""
NEGLECT_LAST = "      - {units: [DCPU], ack_within: 72h, repeat_every: 12h}"
TRAFFICKING_STEP = "      - {units: [DCPU, SJPU], ack_within: 15m, repeat_every: 30m}\n  missing_child"


def line_of(text: str, marker: str) -> int:
    """1-based line where `marker` starts (a marker may span lines to be unique)."""
    index = text.index(marker)
    return text[:index].count("\n") + 1


def test_base_is_valid() -> None:
    rules = parse_rules(BASE)
    assert len(rules.ladders) == 2 * len(KEYS)


def test_shipped_rules_cover_every_concern_and_follow_the_law() -> None:
    rules = load_rules()
    for concern in KEYS:
        for urgent in (True, False):
            ladder, origin = rules.ladder(concern, urgent)
            assert origin == "default"
            assert all(step.ack_within > 0 for step in ladder.steps) and ladder.repeat_every > 0
            first = ladder.steps[0].units
            if BY_KEY[concern].priority == "emergency" or urgent:
                assert "DCPU" in first, (concern, urgent)  # emergencies reach the DCPU at once
            if BY_KEY[concern].police:
                assert "SJPU" in first, (concern, urgent)
    assert "CWC" in rules.ladder("sexual_abuse", False)[0].steps[0].units
    assert "CWC" in rules.ladder("abandoned_child", False)[0].steps[0].units
    assert rules.ladder("child_marriage", True)[0].steps[0].units == ("CMPO", "POLICE_STATION", "DCPU", "CWC")
    routine = rules.ladder("neglect_dropout", False)[0]
    assert [step.units for step in routine.steps] == [("VCPC",), ("BCPC", "BEO"), ("DCPU", "CWC"), ("DCPO",), ("DM", "SCPS")]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("24h", 86400), ("2d", 172800), (" 1h ", 3600),
     ("0m", None), ("30", None), ("1.5h", None), ("15 m", None), ("15M", None), ("-1h", None), ("h", None)],
)
def test_durations(text: str, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("seconds", "text"), [(30, "30s"), (900, "15m"), (5400, "90m"), (86400, "1d"), (90, "90s")])
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_overrides_take_precedence_district_then_state_then_default() -> None:
    text = BASE + (
        "states:\n"
        "  19:\n"
        "    units:\n"
        "      VCPC: {name: CWPC, levels: [village, gram_panchayat]}\n"
        "    rules:\n"
        "      begging: {any: [{units: [CHILDLINE, SJPU, DCPU], ack_within: 20m, repeat_every: 1h}]}\n"
        "districts:\n"
        "  9101:\n"
        "    rules:\n"
        "      begging: {urgent: [{units: [DCPU, SJPU], ack_within: 10m, repeat_every: 20m}]}\n"
    )
    rules = parse_rules(text)
    assert rules.units.name("VCPC", 19) == "CWPC"
    assert rules.units.spec("VCPC", 19).levels == ("village", "gram_panchayat")
    assert rules.units.name("VCPC", 20) == "Village Child Protection Committee"
    assert rules.units.name("BCPC", 19) == "Block Child Protection Committee"
    assert rules.ladder("begging", True, state_lgd=19, district_lgd=9101)[1] == "district 9101"
    assert rules.ladder("begging", False, state_lgd=19, district_lgd=9101)[1] == "state 19"
    assert rules.ladder("begging", False, state_lgd=20, district_lgd=9001)[1] == "default"
    assert rules.ladder("begging", True, state_lgd=19, district_lgd=9101)[0].steps[0].ack_within == 600


# (id, text as it was, text as it becomes, where the error is (a unique marker in the new text), error)
VCPC = "  VCPC: {name: Village Child Protection Committee, levels: [village, ward]}"
REFUSED = [
    ("unknown concern", "  trafficking:\n", "  trafficing:\n", "  trafficing:", "unknown concern 'trafficing'"),
    ("concern left out", "  other:\n    any:\n      - {units: [VCPC], ack_within: 24h}\n      - {units: [DCPU], ack_within: 48h, repeat_every: 12h}\n",
     "", "  sexual_abuse:", "no rule for concern 'other'"),
    ("unknown unit", "[DCPU, SJPU], ack_within: 15m, repeat_every: 30m}\n  missing_child",
     "[DCPU, SJPU, POLICE], ack_within: 15m, repeat_every: 30m}\n  missing_child", "POLICE", "unit 'POLICE' is not declared under units:"),
    ("unit listed twice", "[BCPC, DCPU], ack_within: 1h", "[BCPC, DCPU, BCPC], ack_within: 1h", "BCPC], ack_within: 1h",
     "BCPC is listed twice"),
    ("duration in words", "ack_within: 24h}\n      - {units: [BCPC]", "ack_within: 24 hours}\n      - {units: [BCPC]",
     "24 hours", "'24 hours' is not a duration"),
    ("duration without unit", "ack_within: 48h}\n      - {units: [DCPU], ack_within: 72h",
     "ack_within: 48}\n      - {units: [DCPU], ack_within: 72h", "ack_within: 48}", "'48' is not a duration"),
    ("zero duration", "repeat_every: 12h}\n  other", "repeat_every: 0h}\n  other", "repeat_every: 0h", "'0h' is not a duration"),
    ("misspelt key", "      - {units: [BCPC], ack_within: 48h}", "      - {units: [BCPC], ack_whithin: 48h}", "ack_whithin",
     "unknown key 'ack_whithin'"),
    ("step without deadline", "      - {units: [BCPC], ack_within: 48h}", "      - {units: [BCPC]}", "      - {units: [BCPC]}",
     "missing 'ack_within'"),
    ("empty ladder", "    urgent:\n      - {units: [VCPC, BCPC, DCPU], ack_within: 30m, repeat_every: 1h}\n", "    urgent: []\n",
     "    urgent: []", "has no steps"),
    ("step with no units", "{units: [VCPC, BCPC, DCPU], ack_within: 30m", "{units: [], ack_within: 30m", "{units: []",
     "lists no units"),
    ("urgency left out", "    urgent:\n      - {units: [VCPC, BCPC, DCPU], ack_within: 30m, repeat_every: 1h}\n", "",
     "    not_urgent:", "neglect_dropout: no rule for urgent reports"),
    ("unknown urgency", "    urgent:\n      - {units: [VCPC, BCPC", "    emergency:\n      - {units: [VCPC, BCPC", "    emergency:",
     "unknown key 'emergency'"),
    ("any and urgent together", "    not_urgent:\n      - {units: [VCPC], ack_within: 24h}", "    any:\n      - {units: [VCPC], ack_within: 24h}",
     "    urgent:\n      - {units: [VCPC, BCPC", "'any' already covers"),
    ("last step never repeats", NEGLECT_LAST, "      - {units: [DCPU], ack_within: 72h}", "      - {units: [DCPU], ack_within: 72h}",
     "needs repeat_every"),
    ("an early step repeats", "      - {units: [BCPC], ack_within: 48h}", "      - {units: [BCPC], ack_within: 48h, repeat_every: 1h}",
     "repeat_every: 1h}\n      - {units: [DCPU], ack_within: 72h", "only the last step repeats"),
    ("escalation without a top", NEGLECT_LAST, "      - {units: [VCPC, BCPC], ack_within: 72h, repeat_every: 12h}",
     "      - {units: [VCPC, BCPC], ack_within: 72h", "no unit at district or state level"),
    ("police left out of POCSO", "[DCPU, SJPU, CWC]", "[DCPU, CWC]", "[DCPU, CWC], ack_within: 15m", "requires police (SJPU) at step 1"),
    ("police only at step 2", TRAFFICKING_STEP,
     "      - {units: [DCPU], ack_within: 15m}\n      - {units: [SJPU], ack_within: 15m, repeat_every: 30m}\n  missing_child",
     "      - {units: [DCPU], ack_within: 15m}", "requires police (SJPU) at step 1"),
    ("no fallback", "fallback: {units: [CHILDLINE, DCPU], ack_within: 30m, repeat_every: 1h}\n", "", "version", "missing 'fallback'"),
    ("fallback with nobody", "fallback: {units: [CHILDLINE, DCPU]", "fallback: {units: []", "fallback", "fallback units lists no units"),
    ("fallback without repeat", "ack_within: 30m, repeat_every: 1h}\nrules", "ack_within: 30m}\nrules", "fallback",
     "fallback: missing 'repeat_every'"),
    ("duplicate concern", "  missing_child:\n", "  trafficking: {any: [{units: [SJPU], ack_within: 1m, repeat_every: 1m}]}\n  missing_child:\n",
     "  trafficking: {any", "'trafficking' appears twice (first on line 14)"),
    ("unknown top-level key", "version: 1\n", "version: 1\nrule: {}\n", "rule: {}", "unknown key 'rule'"),
    ("future version", "version: 1\n", "version: 2\n", "version: 2", "only version 1"),
    ("not YAML", "  child_labour: {any", "\tchild_labour: {any", "\tchild_labour", "not valid YAML"),
    ("unit renamed to nothing", VCPC, "  VCPC: {name: CWPC, level: [gram_panchayat]}", "level:", "unknown key 'level'"),
    ("unknown level", VCPC, "  VCPC: {name: CWPC, levels: [hamlet]}", "hamlet", "'hamlet' is neither an LGD level"),
    ("a jurisdiction nobody declared", VCPC, "  VCPC: {name: CWPC, levels: [village, labour_circle]}", "labour_circle",
     "VCPC levels: 'labour_circle' is neither an LGD level (village, ward, gram_panchayat, urban_local_body, block, "
     "sub_district, district, state) nor a jurisdiction declared under jurisdictions: (none declared)"),
    ("a jurisdiction named like an LGD level", "version: 1\n",
     "version: 1\njurisdictions:\n  block: {name: Block, parent: district}\n", "  block:", "'block' is an LGD level already"),
    ("a jurisdiction under a village", "version: 1\n",
     "version: 1\njurisdictions:\n  beat: {name: Police beat, parent: village}\n", "parent: village",
     "jurisdictions beat parent: 'village' is not one of block, sub_district, district, state"),
    ("a jurisdiction without a parent", "version: 1\n", "version: 1\njurisdictions:\n  beat: {name: Police beat}\n",
     "  beat:", "jurisdictions beat: missing 'parent'"),
    ("a jurisdiction key in capitals", "version: 1\n",
     "version: 1\njurisdictions:\n  Police_Station: {name: PS, parent: district}\n", "Police_Station",
     "'Police_Station' is not a level key"),
    ("unit with no level", VCPC, "  VCPC: {name: CWPC, levels: []}", "levels: []", "could never be found"),
    ("unit with no name", VCPC, "  VCPC: {levels: [village]}", "  VCPC: {levels", "VCPC: missing 'name'"),
    ("unit key in lower case", VCPC, "  vcpc: {name: CWPC, levels: [village]}", "  vcpc", "'vcpc' is not a unit key"),
    ("hours in words", '"Mon-Sat 10:00-17:30"', '"office hours"', "office hours", "is not working hours like"),
    ("night cover not a yes/no", "levels: [district], round_the_clock: true, police: true}\n  CHILDLINE",
     "levels: [district], round_the_clock: always, police: true}\n  CHILDLINE", "round_the_clock: always", "'always' is not true or false"),
    ("a rule names an undeclared unit", "[DCPU, SJPU, CWC]", "[DCPU, SJPU, CWC, DCPO]", "DCPO]",
     "unit 'DCPO' is not declared under units:"),
    ("no units at all", "units:\n" + VCPC + "\n", "unit_list:\n" + VCPC + "\n", "unit_list", "unknown key 'unit_list'"),
]
APPENDED = [
    ("a state renames an undeclared unit", "states:\n  19:\n    units:\n      VCPCC: {name: CWPC}\n", "VCPCC",
     "unit 'VCPCC' is not declared"),
    ("state by name", "states:\n  WB:\n    rules: {}\n", "WB", "'WB' is not an LGD code"),
    ("state moves the DCPU down", "states:\n  19:\n    units:\n      DCPU: {levels: [block]}\n", NEGLECT_LAST,
     "no unit at district or state level in state 19"),
    ("district drops the police", "districts:\n  9101:\n    rules:\n      missing_child: {urgent: [{units: [DCPU], ack_within: 5m, repeat_every: 5m}]}\n",
     "{units: [DCPU], ack_within: 5m", f"missing_child: the law ({BY_KEY['missing_child'].law}) requires police (SJPU)"),
    ("district ends low", "districts:\n  9101:\n    rules:\n      begging: {any: [{units: [VCPC], ack_within: 5m, repeat_every: 5m}]}\n",
     "{units: [VCPC], ack_within: 5m", "begging: the last step (VCPC) has no unit at district or state level"),
    ("districts may not rename units", "districts:\n  9101:\n    units: {}\n", "    units: {}", "unknown key 'units'"),
    ("a state moves a unit to an undeclared jurisdiction", "states:\n  19:\n    units:\n      BCPC: {levels: [cmpo_area]}\n",
     "cmpo_area", "state 19 units BCPC levels: 'cmpo_area' is neither an LGD level"),
]


def refused_cases() -> list[tuple[str, str, int, str]]:
    cases = []
    for name, old, new, marker, message in REFUSED:
        assert old in BASE, name
        text = BASE.replace(old, new, 1)
        cases.append(pytest.param(text, line_of(text, marker), message, id=name))
    for name, extra, marker, message in APPENDED:
        text = BASE + extra
        cases.append(pytest.param(text, line_of(text, marker), message, id=name))
    return cases


@pytest.mark.parametrize(("text", "line", "message"), refused_cases())
def test_refused(text: str, line: int, message: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    problems = caught.value.problems
    assert any(p.startswith(f"rules.yaml line {line}: ") and message in p for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    text = BASE.replace("ack_within: 24h}", "ack_within: 24 hours}", 1).replace("[DCPU, SJPU, CWC]", "[DCPU, CWC, DCPO]")
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert len(caught.value.problems) == 2, caught.value.problems
    assert "24 hours" in str(caught.value) and "DCPO" in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [("", "line 1: the file is empty"), ("- a\n- b\n", "line 1: the file must be a mapping")])
def test_refused_whole_file(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(text)


def test_unreadable_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "west_bengal.yaml"
    path.write_text(BASE.replace("[DCPU, SJPU, CWC]", "[DCPU, CWC]"), encoding="utf-8")
    with pytest.raises(RulesError, match=r"west_bengal\.yaml line 13: sexual_abuse"):
        load_rules(path)


LABOUR_CIRCLES = BASE.replace("version: 1\n", """version: 1
jurisdictions:   # places LGD does not describe: the deployment numbers them
  police_station: {name: Police station, parent: district}
  labour_circle: {name: Labour inspector's circle, parent: district}
""").replace("  CHILDLINE:", """  LABOUR: {name: Labour inspector, levels: [district, labour_circle]}
  CHILDLINE:""")


def test_declared_jurisdictions_are_levels_a_unit_may_sit_at() -> None:
    rules = parse_rules(LABOUR_CIRCLES + "states:\n  19:\n    units:\n      BCPC: {levels: [police_station, block]}\n")
    assert [(j.level, j.parent) for j in rules.levels.jurisdictions.values()] == [
        ("police_station", "district"), ("labour_circle", "district")]
    # Nearest first: a jurisdiction after the places below the block and before the block.
    assert rules.units.spec("LABOUR").levels == ("labour_circle", "district")
    assert rules.units.spec("BCPC", 19).levels == ("police_station", "block")
    assert rules.levels.names == ("village", "ward", "gram_panchayat", "urban_local_body", "police_station",
                                  "labour_circle", "block", "sub_district", "district", "state")
    assert rules.levels.parents["labour_circle"] == ("district",) and "labour_circle" in rules.levels


def test_the_shipped_rules_declare_the_police_station() -> None:
    levels = load_rules().levels
    assert list(levels.jurisdictions) == ["police_station"] and levels.parents["police_station"] == ("district",)
    assert load_rules().units.spec("POLICE_STATION").levels == ("police_station",)
