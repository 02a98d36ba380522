"""Police stations cover places LGD does not group them by: a coverage file says which (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.record.coverage import import_coverage
from gateway.record.directory import DirectoryError, import_directory
from gateway.record.routing_directory import SqlDirectory

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
    ("block,90011,block,90012", "place_level 'block' is not a jurisdiction (police_station)"),
    ("police_station,7009,block,90011",
     "no police_station 7009 in the directory (import it as a place first, under its district)"),
    ("police_station,7001,block,99999", "no block 99999 in the directory"),
    ("police_station,7001,hamlet,1", "covers_level 'hamlet' is not a level of the directory"),
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
