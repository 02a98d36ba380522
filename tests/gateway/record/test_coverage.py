"""Police stations, and any jurisdiction the rules declare, cover places LGD does not group them by:
a coverage file says which (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.record.coverage import import_coverage
from gateway.record.directory import DirectoryError, import_directory
from gateway.record.routing_directory import SqlDirectory
from routing.ladder import route
from routing.rules import DEFAULT_RULES, Rules, parse_rules

PLACES = """lgd_code,level,name,parent_lgd_code,parent_level
20,state,Jharkhand,,
9001,district,Ranchi,20,state
90011,block,Kanke,9001,
90012,block,Ratu,9001,
900111,gram_panchayat,Pipra,90011,
9001111,village,Amtola,900111,
9001199,village,Tilaiya,90011,
900121,gram_panchayat,Tigra,90012,
9001211,village,Chutu,900121,
900122,gram_panchayat,Hehal,90012,
9001221,village,Hehal,900122,
7001,police_station,Kanke PS,9001,district
7002,police_station,Ratu PS,9001,district
"""


@pytest.fixture
def directory(engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    places = tmp_path / "places.csv"
    places.write_text(PLACES, encoding="utf-8")
    import_directory(engine, places, None)
    return engine


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "coverage.csv"
    path.write_text("place_level,place_code,covers_level,covers_lgd_code\n" + text, encoding="utf-8")
    return path


def station(engine, village: int) -> str | None:  # type: ignore[no-untyped-def]
    chain = SqlDirectory(engine, cache_size=0).chain(village)
    return next((place.name for place in chain if place.level == "police_station"), None)


def test_a_station_covers_villages_in_two_blocks_and_the_nearest_cover_wins(directory, tmp_path):
    summary = import_coverage(directory, write(tmp_path, (
        "police_station,7001,block,90011\n"            # all of Kanke
        "police_station,7001,gram_panchayat,900121\n"  # and one panchayat of Ratu
        "police_station,7002,block,90012\n")))         # all of Ratu
    assert (summary.jurisdictions, summary.rows) == (2, 3)
    assert [station(directory, v) for v in (9001111, 9001199, 9001211, 9001221)] == [
        "Kanke PS", "Kanke PS", "Kanke PS", "Ratu PS"]  # Chutu: its panchayat's station before its block's
    assert [p.level for p in SqlDirectory(directory).chain(9001211)] == [
        "village", "gram_panchayat", "police_station", "police_station", "block", "district", "state"]


def test_a_re_drawn_station_replaces_its_coverage_and_leaves_the_others(directory, tmp_path):
    import_coverage(directory, write(tmp_path, "police_station,7001,block,90011\npolice_station,7002,block,90012\n"))
    import_coverage(directory, write(tmp_path, "police_station,7001,gram_panchayat,900111\n"))
    assert [station(directory, v) for v in (9001111, 9001199, 9001211)] == ["Kanke PS", None, "Ratu PS"]
    again = import_coverage(directory, write(tmp_path, "police_station,7001,gram_panchayat,900111\n"))
    assert again.rows == 1


@pytest.mark.parametrize(("row", "message"), [
    ("block,90011,block,90012", "place_level 'block' is not a jurisdiction the routing rules declare (police_station)"),
    ("labour_circle,8101,block,90011",
     "place_level 'labour_circle' is not a jurisdiction the routing rules declare (police_station)"),
    ("police_station,7001,police_station,7002",
     "covers_level 'police_station' is not a level of the directory (village, ward, gram_panchayat, "
     "urban_local_body, block, sub_district, district, state)"),
    ("police_station,7009,block,90011",
     "no police_station 7009 in the directory (import it as a place first, under its district)"),
    ("police_station,7001,block,99999", "no block 99999 in the directory"),
    ("police_station,7001,hamlet,1", "covers_level 'hamlet' is not a level of the directory (village, ward, "
     "gram_panchayat, urban_local_body, block, sub_district, district, state)"),
    ("police_station,x,block,90011", "place_code and covers_lgd_code must be positive numbers"),
])
def test_a_bad_row_is_named_and_nothing_changes(directory, tmp_path, row, message):
    import_coverage(directory, write(tmp_path, "police_station,7001,block,90011\n"))
    with pytest.raises(DirectoryError) as raised:
        import_coverage(directory, write(tmp_path, "police_station,7002,block,90012\n" + row + "\n"))
    assert str(raised.value) == f"coverage.csv line 3: {message}"
    assert station(directory, 9001221) is None and station(directory, 9001111) == "Kanke PS"


def test_the_cli_imports_coverage(cli, directory, tmp_path):
    result = cli("directory", "import-coverage", str(write(tmp_path, "police_station,7001,block,90011\n")))
    assert result.exit_code == 0 and "1 jurisdictions" in result.output
    bad = cli("directory", "import-coverage", str(write(tmp_path, "police_station,7001,block,1\n")))
    assert bad.exit_code == 1 and "Nothing imported" in bad.output


# A deployment's own jurisdiction level: labour inspectors' circles, declared in its rules.
LABOUR_RULES = DEFAULT_RULES.read_text(encoding="utf-8").replace(
    "  police_station: {name: Police station, parent: district}\n",
    "  police_station: {name: Police station, parent: district}\n"
    "  labour_circle: {name: Labour inspector's circle, parent: district}\n",
).replace("LABOUR: {name: Labour inspector (district task force), levels: [district]",
          "LABOUR: {name: Labour inspector, levels: [labour_circle, district]")
CIRCLES = """lgd_code,level,name,parent_lgd_code,parent_level
8101,labour_circle,North circle,9001,district
8102,labour_circle,South circle,9001,
"""
INSPECTORS = """name,phone,unit,place_lgd_code,role,language,active,place_level
Inspector North,+917000000801,LABOUR,8101,Labour inspector,hi,yes,labour_circle
Inspector South,+917000000802,LABOUR,8102,Labour inspector,hi,yes,
Task force,+917000000803,LABOUR,9001,District task force,hi,yes,district
DCPU Ranchi,+917000000804,DCPU,9001,,hi,yes,district
CWC Ranchi,+917000000805,CWC,9001,,hi,yes,district
"""


@pytest.fixture
def labour_rules(tmp_path: Path) -> Rules:
    assert "labour_circle, district" in LABOUR_RULES
    (tmp_path / "labour.yaml").write_text(LABOUR_RULES, encoding="utf-8")
    return parse_rules(LABOUR_RULES)


def test_a_labour_circle_over_villages_of_two_blocks_reaches_its_inspector(directory, tmp_path, labour_rules):
    places, contacts = tmp_path / "circles.csv", tmp_path / "inspectors.csv"
    places.write_text(CIRCLES, encoding="utf-8")
    contacts.write_text(INSPECTORS, encoding="utf-8")
    summary = import_directory(directory, places, contacts, labour_rules.units.keys(), levels=labour_rules.levels)
    assert (summary.places, summary.contacts) == (2, 5)
    coverage = write(tmp_path, (
        "labour_circle,8101,block,90011\n"          # all of Kanke
        "labour_circle,8101,village,9001211\n"      # and Chutu, in Ratu
        "labour_circle,8102,gram_panchayat,900122\n"  # Hehal, in Ratu
        "police_station,7001,block,90011\n"))
    assert import_coverage(directory, coverage, levels=labour_rules.levels).jurisdictions == 3
    sql = SqlDirectory(directory, cache_size=0)
    assert [p.level for p in sql.chain(9001111)] == [
        "village", "gram_panchayat", "police_station", "labour_circle", "block", "district", "state"]

    def inspector(village: int) -> tuple[str | None, list[str]]:
        step = route(village, "child_labour", False, sql, labour_rules).steps[0]
        at = step.units[step.unit_keys.index("LABOUR")]
        return at.place.name if at.place else None, [c.name for c in step.contacts if c.unit == "LABOUR"]

    assert inspector(9001111) == ("North circle", ["Inspector North"])  # through its block
    assert inspector(9001211) == ("North circle", ["Inspector North"])  # directly, in the other block
    assert inspector(9001221) == ("South circle", ["Inspector South"])  # through its gram panchayat
    # Tigra's panchayat is covered by no circle: the district's task force, as LABOUR's levels say.
    import_coverage(directory, write(tmp_path, "labour_circle,8101,block,90011\n"), levels=labour_rules.levels)
    assert inspector(9001211) == ("Ranchi", ["Task force"])


def test_a_place_of_an_undeclared_level_is_refused(engine, tmp_path):
    places, contacts = tmp_path / "places.csv", tmp_path / "contacts.csv"
    places.write_text(PLACES + CIRCLES.split("\n", 1)[1], encoding="utf-8")
    contacts.write_text("name,phone,unit,place_lgd_code,place_level\nX,+917000000801,LABOUR,7001,labour_circle\n",
                        encoding="utf-8")
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, places, contacts)  # the shipped rules declare police stations only
    assert raised.value.problems == [
        "places.csv line 15: level 'labour_circle' is not one of village, ward, gram_panchayat, urban_local_body, "
        "block, sub_district, district, state, or a jurisdiction the routing rules declare (police_station)",
        "places.csv line 16: level 'labour_circle' is not one of village, ward, gram_panchayat, urban_local_body, "
        "block, sub_district, district, state, or a jurisdiction the routing rules declare (police_station)",
        "contacts.csv line 2: place_level 'labour_circle' is not one of village, ward, gram_panchayat, "
        "urban_local_body, block, sub_district, district, state, or a jurisdiction the routing rules declare "
        "(police_station)",
    ]


def test_the_cli_learns_the_jurisdictions_from_the_rules_in_force(cli, engine, tmp_path, labour_rules, monkeypatch):
    places, contacts = tmp_path / "places.csv", tmp_path / "contacts.csv"
    places.write_text(PLACES + CIRCLES.split("\n", 1)[1], encoding="utf-8")
    contacts.write_text(INSPECTORS, encoding="utf-8")
    coverage = write(tmp_path, "labour_circle,8101,block,90011\n")
    refused = cli("directory", "import", str(places), str(contacts))
    assert refused.exit_code == 1 and "level 'labour_circle' is not one of" in refused.output
    monkeypatch.setenv("CPGW_ROUTING_RULES", str(tmp_path / "labour.yaml"))
    imported = cli("directory", "import", str(places), str(contacts))
    assert imported.exit_code == 0, imported.output
    assert "Imported 15 places and 5 contacts" in imported.output
    covered = cli("directory", "import-coverage", str(coverage))
    assert covered.exit_code == 0 and "1 jurisdictions" in covered.output, covered.output
