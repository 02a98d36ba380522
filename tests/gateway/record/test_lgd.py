"""LGD downloads as published (BOM, title lines, quoted fields, drifting headers) into places CSV.

Two sources of files: the generator (`gateway.devtools.lgd_files`, a whole synthetic state with its
quirks) and small ones written here by hand, where each row is there for one rule.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.devtools.lgd_files import data_rows, write_lgd_state
from gateway.record.lgd import (
    PLACES_HEADER,
    LgdError,
    convert_lgd,
    local_column,
    title_case,
)

Key = tuple[str, int]


def lgd_file(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]],
             titles: Sequence[str] = ("Report generated on 05-12-2026",)) -> Path:
    """A download by hand, shaped as LGD writes one: BOM, title lines, all quoted, S.No., blank lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerows([title] for title in titles)
        writer.writerow(["S.No.", *columns])
        writer.writerows([number, *row] for number, row in enumerate(rows, 1))
        handle.write("\r\n\r\n")
    return path


def places(out: Path) -> dict[Key, dict[str, str]]:
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == PLACES_HEADER
        return {(row["level"], int(row["lgd_code"])): row for row in reader}


def parent(row: dict[str, str]) -> Key:
    return row["parent_level"], int(row["parent_lgd_code"])


def notes_about(notes: list[str], *words: str) -> list[str]:
    return [note for note in notes if all(word in note for word in words)]


# --- a small state by hand: every row is there for a rule ---------------------------------------

def small_state(folder: Path) -> list[Path]:
    """Ranchi (605) and Khunti (606); block 606 sits in Ranchi; district 999 is in no file."""
    return [
        lgd_file(folder / "states.csv", ["State Code", "State Version", "State Name (In English)",
                                         "State Name (In Local language)", "Census2011 Code", "State or UT"],
                 [[20, 1, "JHARKHAND", "झारखण्ड", 20, "State"]], titles=["States of India"]),
        lgd_file(folder / "districts.csv", ["State Code", "State Name (In English)", "District Code",
                                            "District Version", "District Name (In English)",
                                            "District Name (In Local language)", "Census 2011 Code"],
                 [[20, "JHARKHAND", 605, 1, "RANCHI", "रांची", 364], [20, "JHARKHAND", 606, 2, "Khunti", "खूंटी", 365]]),
        lgd_file(folder / "sub_districts.csv", ["State Code", "State Name", "District Code", "District Name",
                                                "Subdistrict Code", "Sub-District Version", "Sub District Name",
                                                "Sub-District Name (In Local Language)", "Census 2011 Code"],
                 [[20, "JHARKHAND", 605, "RANCHI", 2001, 1, "BUNDU", "बुंडू", ""],
                  [20, "JHARKHAND", 606, "KHUNTI", 2002, 1, "TORPA", "तोरपा", ""]]),
        lgd_file(folder / "blocks.csv", ["State Code", "State Name", "District Code", "District Name (In English)",
                                         "Block Code", "Block Version", "Block Name (In Englsih)",
                                         "Block Name (In Local language)"],
                 [[20, "JHARKHAND", 605, "RANCHI", 606, 1, "BUNDU (P)", "बुंडू"],
                  [20, "JHARKHAND", 606, "KHUNTI", 1234, 1, "TORPA", "तोरपा"],
                  [20, "JHARKHAND", 999, "NOWHERE", 4444, 1, "LOST", "लॉस्ट"]]),
        lgd_file(folder / "pri.csv", ["State Code", "State Name", "Local Body Code", "Local Body Version",
                                      "Local Body Name (In English)", "Local Body Name (In Local language)",
                                      "Local Body Type Name", "Parent Local Body Code", "District Code", "Block Code"],
                 [[20, "JHARKHAND", 90001, 1, "BUNDU PANCHAYAT SAMITI", "", "Intermediate Panchayat", "", 605, 606],
                  [20, "JHARKHAND", 222222, 1, "TAIMARA", "तैमारा", "Village Panchayat", 90001, 605, 606],
                  [20, "JHARKHAND", 111111, 1, "BARUDIH", "বারুডি", "Gram Panchayat", 90001, 605, ""],
                  [20, "JHARKHAND", 333333, 1, "LOSTGP", "", "Village Panchayat", "", 999, 4444],
                  [20, "JHARKHAND", 444444, 1, "BLOCKLESS", "", "Village Panchayat", "", 605, ""]]),
        lgd_file(folder / "villages.csv", ["State Code", "State Name (In English)", "District Code",
                                           "District Name (In English)", "Sub-District Code",
                                           "Sub-District Name (In English)", "Village Code", "Village Version",
                                           "Village Name (In English)", "Village Name (In Local language)",
                                           "Village Category", "Village Status", "Census 2011 Code"],
                 [[20, "JHARKHAND", 605, "RANCHI", 2001, "BUNDU", 111111, 1, "TAIMARA", "ᱛᱟᱭᱢᱟᱨᱟ", "Rural", "", ""],
                  [20, "JHARKHAND", 605, "RANCHI", 2001, "BUNDU", 500001, 1, "SARJAMDIH", "सरजमडीह", "Rural", "", ""],
                  [20, "JHARKHAND", 606, "KHUNTI", 2002, "TORPA", 500002, 1, "LOSTGPGAON", "", "Rural", "", ""],
                  [20, "JHARKHAND", 605, "RANCHI", 9999, "NOWHERE", 500003, 1, "NOWHERE", "", "Rural", "", ""],
                  [20, "JHARKHAND", 605, "RANCHI", 2001, "BUNDU", "50A004", 1, "TYPO", "", "Rural", "", ""]],
                 titles=["Villages of JHARKHAND", "Report generated on 05-12-2026"]),
        lgd_file(folder / "mapping.csv", ["State Code", "State Name", "District Code", "District Name", "Block Code",
                                          "Block Name", "Local Body Code", "Local Body Name (In English)",
                                          "Village Code", "Village Name (In English)"],
                 [[20, "JHARKHAND", 605, "RANCHI", 606, "BUNDU", 222222, "TAIMARA", 111111, "TAIMARA"],
                  [20, "JHARKHAND", 605, "RANCHI", 606, "BUNDU", 222222, "TAIMARA", 500001, "SARJAMDIH"],
                  [20, "JHARKHAND", 605, "RANCHI", 606, "BUNDU", 111111, "BARUDIH", 500001, "SARJAMDIH"],
                  [20, "JHARKHAND", 999, "NOWHERE", 4444, "LOST", 333333, "LOSTGP", 500002, "LOSTGPGAON"]]),
        lgd_file(folder / "ulb.csv", ["State Code", "State Name", "District Code", "District Name", "Local Body Code",
                                      "Local Body Version", "Local Body Name (In English)",
                                      "Local Body Name (In Local language)", "Local Body Type Name"],
                 [[20, "JHARKHAND", 605, "RANCHI", 40001, 1, "RANCHI", "रांची", "Municipal Corporation"],
                  [20, "JHARKHAND", 605, "RANCHI", 40002, 1, "BUNDU", "बुंडू", "Town Panchayat"],
                  [20, "JHARKHAND", 605, "RANCHI", 40003, 1, "MISFILED", "", "Gram Panchayat"]]),
        lgd_file(folder / "wards.csv", ["State Code", "District Code", "Local Body Code", "Local Body Name (In English)",
                                        "Ward Code", "Ward Version", "Ward Number", "Ward Name (In English)",
                                        "Ward Name (In Local language)"],
                 [[20, 605, 40001, "RANCHI", 700001, 1, 1, "", ""],
                  [20, 605, 40001, "RANCHI", 700002, 1, 2, "LALPUR", "लालपुर"],
                  [20, 605, 49999, "GONE", 700003, 1, 1, "", ""]]),
    ]


@pytest.fixture
def small(tmp_path: Path) -> tuple[dict[Key, dict[str, str]], list[str]]:
    result = convert_lgd(small_state(tmp_path / "lgd"), tmp_path / "places.csv")
    return places(tmp_path / "places.csv"), result.notes


def test_each_kind_is_told_by_its_header_not_its_name(tmp_path: Path) -> None:
    generated = write_lgd_state(tmp_path / "lgd")
    renamed = [shutil.copy(path, tmp_path / f"download ({number}).csv") for number, path in
               enumerate(reversed(generated.values()))]
    result = convert_lgd([Path(path) for path in renamed], tmp_path / "places.csv")
    assert result.files == {Path(path).name: kind for path, kind in zip(renamed, reversed(generated), strict=True)}


def test_a_generated_state_converts_every_level(tmp_path: Path) -> None:
    result = convert_lgd(list(write_lgd_state(tmp_path / "lgd").values()), tmp_path / "places.csv")
    assert result.written == {"state": 1, "district": 3, "sub_district": 12, "block": 12, "gram_panchayat": 60,
                              "village": 360, "urban_local_body": 3, "ward": 15}
    # The orphan village is read and refused; the upper panchayats are read and are not places.
    assert result.read == {"states": 1, "districts": 3, "sub_districts": 12, "blocks": 12, "villages": 361,
                           "gp_mapping": 362, "pri_local_bodies": 75, "urban_local_bodies": 3, "wards": 15}
    assert {level: count for level, count in result.refused.items() if count} == {"village": 1}
    assert len(places(tmp_path / "places.csv")) == sum(result.written.values())


def test_parents_come_first_and_every_parent_is_a_place_at_its_level(tmp_path: Path) -> None:
    convert_lgd(list(write_lgd_state(tmp_path / "lgd").values()), tmp_path / "places.csv")
    seen: set[Key] = set()
    with (tmp_path / "places.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["level"] != "state":
                assert parent(row) in seen, row
            seen.add((row["level"], int(row["lgd_code"])))


@pytest.mark.parametrize(("published", "name"), [
    ("RANCHI", "Ranchi"),
    ("BUNDU (P)", "Bundu (P)"),
    ("CHAS-II", "Chas-II"),
    ("NAGAR UNTARI (NP)", "Nagar Untari (NP)"),
    ("SAHIBGANJ M.C.", "Sahibganj M.C."),
    ("KHAN'S TOLA", "Khan's Tola"),
    ("1ST MILE", "1st Mile"),
    ("WARD NO. XII", "Ward No. XII"),
    ("  NEW   TOWN ", "New Town"),
    ("East Singhbhum", "East Singhbhum"),  # published in mixed case: kept
    ("McCLUSKIEGANJ", "McCLUSKIEGANJ"),
])
def test_all_caps_names_become_title_case(published: str, name: str) -> None:
    assert title_case(published) == name


def test_name_original_keeps_what_was_published_only_when_it_differs(small: tuple[dict, list[str]]) -> None:
    rows, _ = small
    assert (rows["district", 605]["name"], rows["district", 605]["name_original"]) == ("Ranchi", "RANCHI")
    assert (rows["district", 606]["name"], rows["district", 606]["name_original"]) == ("Khunti", "")
    assert (rows["block", 606]["name"], rows["block", 606]["name_original"]) == ("Bundu (P)", "BUNDU (P)")


@pytest.mark.parametrize(("local", "state", "column"), [
    ("रांची", 19, "name_hi"),  # Devanagari wins over the state's language
    ("বারুডি", 20, "name_bn"),
    ("ᱛᱟᱭᱢᱟᱨᱟ", 20, "name_sat_olck"),
    ("রাঁচি রাঁচি (रांची)", 20, "name_bn"),  # more Bengali letters than Devanagari
    ("রাঁচি (रांची)", 20, "name_hi"),  # as many of each: the state's language
    ("রাঁচি (रांची)", 19, "name_bn"),
    ("१२", 19, "name_hi"),  # Devanagari digits are Devanagari
    ("12", 19, "name_bn"),  # no letters: the state's language
    ("12", 8, "name_hi"),
    ("12", 99, None),  # and a state we do not know has none
    ("Ranchi", 20, None),  # another script: no column
    ("ରାଞ୍ଚି", 20, None),
])
def test_a_local_name_goes_to_the_column_of_its_script(local: str, state: int, column: str | None) -> None:
    assert local_column(local, state) == column


def test_local_names_land_in_their_columns(small: tuple[dict, list[str]]) -> None:
    rows, _ = small
    assert rows["district", 605]["name_hi"] == "रांची"
    assert (rows["gram_panchayat", 111111]["name_bn"], rows["gram_panchayat", 111111]["name_hi"]) == ("বারুডি", "")
    assert rows["village", 111111]["name_sat_olck"] == "ᱛᱟᱭᱢᱟᱨᱟ"
    assert [rows["village", 500002][column] for column in ("name_hi", "name_bn", "name_sat_olck")] == ["", "", ""]


def test_a_village_in_two_panchayats_goes_under_the_lowest_code_and_is_noted(
        small: tuple[dict, list[str]]) -> None:
    rows, notes = small
    assert parent(rows["village", 500001]) == ("gram_panchayat", 111111)
    assert notes_about(notes, "village 500001") == [
        ("mapping.csv line 5: village 500001 (Sarjamdih) is mapped to gram panchayats 111111 (mapping.csv line 5), "
         "222222 (mapping.csv line 4); placed under 111111, the lowest code that exists")]


def test_the_generated_two_panchayat_village_is_noted_with_its_file_and_lines(tmp_path: Path) -> None:
    generated = write_lgd_state(tmp_path / "lgd")
    result = convert_lgd(list(generated.values()), tmp_path / "places.csv")
    by_village: dict[str, list[str]] = {}
    for row in data_rows(generated["gp_mapping"]):
        by_village.setdefault(row["Village Code"], []).append(row["Local Body Code"])
    [(village, panchayats)] = [(v, gps) for v, gps in by_village.items() if len(gps) > 1]
    [note] = notes_about(result.notes, f"village {village} ")
    assert note.startswith("gp_mapping.csv line ") and all(f"{gp} (gp_mapping.csv line " in note for gp in panchayats)
    assert parent(places(tmp_path / "places.csv")["village", int(village)]) == (
        "gram_panchayat", min(int(gp) for gp in panchayats))


def test_a_place_with_a_missing_parent_is_reported_and_skipped_with_its_descendants(
        small: tuple[dict, list[str]]) -> None:
    rows, notes = small
    assert ("block", 4444) not in rows and ("gram_panchayat", 333333) not in rows
    assert notes_about(notes, "blocks.csv line 5: block 4444 (Lost): its district 999 is in none of the files")
    assert notes_about(notes, "pri.csv line 6: gram panchayat 333333 (Lostgp): its block 4444 was skipped "
                              "(blocks.csv line 5); skipped")
    # Its village falls back to its sub-district, and says so.
    assert parent(rows["village", 500002]) == ("sub_district", 2002)
    assert notes_about(notes, "village 500002", "gram panchayat 333333 was skipped", "placed under its sub-district 2002")
    # A village with neither: refused.
    assert ("village", 500003) not in rows
    assert notes_about(notes, "villages.csv line 7: village 500003 (Nowhere): its sub-district 9999 is in none")
    assert ("ward", 700003) not in rows and notes_about(notes, "ward 700003", "urban local body 49999")


def test_the_generated_orphan_village_is_reported_and_skipped(tmp_path: Path) -> None:
    generated = write_lgd_state(tmp_path / "lgd")
    result = convert_lgd(list(generated.values()), tmp_path / "places.csv")
    orphan = int(list(data_rows(generated["villages"]))[-1]["Village Code"])
    assert ("village", orphan) not in places(tmp_path / "places.csv")
    [note] = notes_about(result.notes, f"village {orphan} ")
    assert note.startswith("villages.csv line 364: ") and note.endswith("; skipped")


def test_levels_are_numbered_apart_block_606_sits_in_district_605(small: tuple[dict, list[str]]) -> None:
    rows, _ = small
    assert parent(rows["block", 606]) == ("district", 605)
    assert parent(rows["district", 606]) == ("state", 20)
    assert parent(rows["gram_panchayat", 222222]) == ("block", 606)
    # A gram panchayat and a village numbered alike are two places.
    assert parent(rows["village", 111111]) == ("gram_panchayat", 222222)
    assert parent(rows["gram_panchayat", 111111]) == ("block", 606)  # its block from the mapping file


def test_the_generated_shared_codes_are_two_places_each(tmp_path: Path) -> None:
    generated = write_lgd_state(tmp_path / "lgd")
    convert_lgd(list(generated.values()), tmp_path / "places.csv")
    rows = places(tmp_path / "places.csv")
    districts = [int(row["District Code"]) for row in data_rows(generated["districts"])]
    assert parent(rows["block", districts[0]]) == ("district", districts[-1])
    assert parent(rows["district", districts[0]]) == ("state", 20)
    first_village = int(next(data_rows(generated["villages"]))["Village Code"])
    assert rows["gram_panchayat", first_village]["parent_level"] == "block"
    assert rows["village", first_village]["parent_level"] == "gram_panchayat"


def test_gram_panchayats_are_only_the_village_level_bodies(small: tuple[dict, list[str]]) -> None:
    rows, notes = small
    assert ("gram_panchayat", 90001) not in rows
    assert notes_about(notes, "pri.csv: 1 row(s) are not village panchayats", "Intermediate Panchayat 1")
    assert ("gram_panchayat", 444444) not in rows
    assert notes_about(notes, "gram panchayat 444444", "no block code, here nor in a gram panchayat mapping file")


def test_urban_local_bodies_and_wards(small: tuple[dict, list[str]]) -> None:
    rows, notes = small
    assert parent(rows["urban_local_body", 40001]) == ("district", 605)
    assert ("urban_local_body", 40002) in rows  # a Town Panchayat is urban
    assert ("urban_local_body", 40003) not in rows and notes_about(notes, "40003", "not an urban local body")
    assert (rows["ward", 700001]["name"], rows["ward", 700001]["name_original"]) == ("Ward 1", "")
    assert (rows["ward", 700002]["name"], parent(rows["ward", 700002])) == ("Lalpur", ("urban_local_body", 40001))


def test_a_code_that_is_not_a_number_is_reported(small: tuple[dict, list[str]]) -> None:
    rows, notes = small
    assert notes_about(notes, "villages.csv line 8: village code '50A004' is not a positive number; skipped")
    assert len([key for key in rows if key[0] == "village"]) == 3


def test_known_places_stand_in_for_files_not_given(tmp_path: Path) -> None:
    files = small_state(tmp_path / "lgd")
    villages_and_mapping = [path for path in files if path.name in ("villages.csv", "mapping.csv")]
    asked: list[Key] = []

    def known(level: str, code: int) -> bool:
        asked.append((level, code))
        return (level, code) in {("gram_panchayat", 222222), ("sub_district", 2001), ("sub_district", 2002)}

    convert_lgd(villages_and_mapping, tmp_path / "places.csv", known=known)
    rows = places(tmp_path / "places.csv")
    assert parent(rows["village", 111111]) == ("gram_panchayat", 222222)
    assert parent(rows["village", 500001]) == ("gram_panchayat", 222222)  # 111111 is not known: the next one
    assert parent(rows["village", 500002]) == ("sub_district", 2002)
    assert len(asked) == len(set(asked))  # each asked once
    result = convert_lgd(villages_and_mapping, tmp_path / "alone.csv")
    assert result.written["village"] == 0 and len(notes_about(result.notes, "village", "; skipped")) == 5


def test_a_place_twice_keeps_the_first_and_names_both_files(tmp_path: Path) -> None:
    files = small_state(tmp_path / "a")
    first, second = tmp_path / "a" / "districts.csv", tmp_path / "b" / "districts.csv"
    second.parent.mkdir()
    shutil.copy(first, second)
    result = convert_lgd([*files, second], tmp_path / "places.csv")
    assert f"{second} line 3: district 605 appears again (first at {first} line 3); only the first row counts" \
        in result.notes
    assert result.written["district"] == 2 and result.read["districts"] == 4 and result.refused["district"] == 2


@pytest.mark.parametrize("spelling", ["Sub-District Code", "Subdistrict Code", "Sub District Code",
                                      "SUB-DISTRICT CODE", "Sub-District  Code "])
def test_header_spellings_drift_and_still_match(tmp_path: Path, spelling: str) -> None:
    files = small_state(tmp_path / "lgd")
    lgd_file(files[2], ["State Code", "State Name", "District Code", "District Name", spelling,
                        "Sub-District Version", "Sub-District Name (In Englsih)", "Sub-District Name (In Local language)"],
             [[20, "JHARKHAND", 605, "RANCHI", 2001, 1, "BUNDU", "बुंडू"]])
    result = convert_lgd(files[:3], tmp_path / "places.csv")
    assert result.files["sub_districts.csv"] == "sub_districts"
    assert places(tmp_path / "places.csv")["sub_district", 2001]["name"] == "Bundu"


def test_two_states_convert_together(tmp_path: Path) -> None:
    jharkhand = write_lgd_state(tmp_path / "20", quirks=False)
    bengal = write_lgd_state(tmp_path / "19", state_code=19, state_name="WEST BENGAL", lang="bn", quirks=False)
    result = convert_lgd([*jharkhand.values(), *bengal.values()], tmp_path / "places.csv")
    assert result.notes == [f"{tmp_path / state / 'pri_local_bodies.csv'}: 15 row(s) are not village panchayats, "
                            "so not places (District Panchayat 3, Intermediate Panchayat 12)" for state in ("20", "19")]
    assert result.written["village"] == 720 and result.written["state"] == 2
    rows = places(tmp_path / "places.csv")
    assert rows["state", 19]["name_bn"] == "পশ্চিমবঙ্গ" and rows["state", 19]["name"] == "West Bengal"
    bengali = [row for row in rows.values() if row["level"] == "village" and row["name_bn"]]
    assert len(bengali) == 360 and not any(row["name_hi"] for row in bengali)


def test_converting_twice_gives_the_same_file(tmp_path: Path) -> None:
    files = list(write_lgd_state(tmp_path / "lgd").values())
    first = convert_lgd(files, tmp_path / "one.csv")
    second = convert_lgd(files, tmp_path / "two.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert first == second


def test_a_file_of_no_known_kind_is_refused_by_name(tmp_path: Path) -> None:
    files = small_state(tmp_path / "lgd")
    contacts = lgd_file(tmp_path / "lgd" / "contacts.csv", ["Name", "Phone", "Village Code"], [["Asha", "98", 1]])
    with pytest.raises(LgdError) as raised:
        convert_lgd([*files, contacts], tmp_path / "places.csv")
    assert str(raised.value).startswith("contacts.csv: not an LGD download we know: its header "
                                        "(S.No., Name, Phone, Village Code)")
    assert "villages (Sub-District Code, Village Code, Village Name)" in str(raised.value)
    assert not (tmp_path / "places.csv").exists()


def test_a_file_that_is_not_utf8_is_refused_with_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    files = small_state(tmp_path / "lgd")
    villages = files[5]
    villages.write_bytes(villages.read_bytes().replace("सरजमडीह".encode(), "SARJAMDÎH".encode("cp1252")))
    (tmp_path / "places.csv").write_text("before\n", encoding="utf-8")
    with pytest.raises(LgdError, match=r"^villages.csv line 5: not UTF-8 \(invalid"):
        convert_lgd(files, tmp_path / "places.csv")
    assert (tmp_path / "places.csv").read_text(encoding="utf-8") == "before\n"
    assert [path.name for path in tmp_path.iterdir()] == ["lgd", "places.csv"]  # no partial file left


def test_a_bad_byte_deep_in_a_file_leaves_no_output_behind(tmp_path: Path) -> None:
    """Found only once the villages are converted, after the upper levels were written out."""
    generated = write_lgd_state(tmp_path / "lgd")
    last = list(data_rows(generated["villages"]))[-1]["Village Name (In Englsih)"]
    raw = generated["villages"].read_bytes()
    generated["villages"].write_bytes(raw.replace(f'"{last}"'.encode(), b'"\xe9"'))
    with pytest.raises(LgdError, match=r"^villages.csv line 364: not UTF-8"):
        convert_lgd(list(generated.values()), tmp_path / "places.csv")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lgd"]


def test_title_lines_and_blank_lines_are_not_rows(tmp_path: Path) -> None:
    files = small_state(tmp_path / "lgd")
    raw = files[5].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf\"Villages of JHARKHAND\"\r\n") and raw.endswith(b"\r\n\r\n\r\n")
    result = convert_lgd(files, tmp_path / "places.csv")
    assert result.read["villages"] == 5 and result.read["states"] == 1
