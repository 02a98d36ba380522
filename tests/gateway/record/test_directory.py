"""Directory import: idempotent, all or nothing, bad rows named by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from gateway.record.directory import (
    DirectoryError,
    SqlPlaces,
    import_demo,
    import_directory,
)
from gateway.record.models import Contact, Place

PLACES = """lgd_code,level,name,parent_lgd_code,name_hi
20,state,Jharkhand,,झारखंड
9001,district,Ranchi,20,रांची
90011,block,Kanke,9001,कांके
900111,gram_panchayat,Pipra,90011,पिपरा
9001111,village,Amtola,900111,आमतोला
9001199,village,Tilaiya,90011,
"""
CONTACTS = """name,phone,unit,place_lgd_code,role,language,active
Asha Devi,+919800000101,VCPC,9001111,member-secretary,hi,yes
Ramesh Kumar,09800000102,BCPC,90011,member,hi,
Sunita,98000 00103,DCPU,9001,DCPO,hi,no
"""


def files(tmp_path: Path, places: str = PLACES, contacts: str = CONTACTS) -> tuple[Path, Path]:
    (tmp_path / "places.csv").write_text(places, encoding="utf-8")
    (tmp_path / "contacts.csv").write_text(contacts, encoding="utf-8")
    return tmp_path / "places.csv", tmp_path / "contacts.csv"


def counts(engine) -> tuple[int, int]:
    with Session(engine) as session:
        return len(session.exec(select(Place)).all()), len(session.exec(select(Contact)).all())


def test_import_fills_chains_and_normalises_phones(engine, tmp_path):
    summary = import_directory(engine, *files(tmp_path))
    assert (summary.places, summary.contacts) == (6, 3)
    with Session(engine) as session:
        village = session.get(Place, {"level": "village", "lgd_code": 9001111})
        direct = session.get(Place, {"level": "village", "lgd_code": 9001199})
        phones = sorted(c.phone for c in session.exec(select(Contact)))
        inactive = session.exec(select(Contact).where(Contact.name == "Sunita")).one()
    assert (village.state_lgd, village.district_lgd, village.block_lgd, village.gram_panchayat_lgd) == (20, 9001, 90011, 900111)
    assert village.names == {"hi": "आमतोला"}
    assert (direct.block_lgd, direct.gram_panchayat_lgd) == (90011, None)
    assert phones == ["+919800000101", "+919800000102", "+919800000103"]
    assert inactive.active is False


def test_import_twice_changes_nothing_and_updates_in_place(engine, tmp_path):
    import_directory(engine, *files(tmp_path))
    import_directory(engine, *files(tmp_path))
    assert counts(engine) == (6, 3)
    import_directory(engine, *files(tmp_path, contacts=CONTACTS.replace("Sunita,98000 00103,DCPU,9001,DCPO,hi,no", "Sunita,98000 00103,DCPU,9001,DCPO,hi,yes")))
    with Session(engine) as session:
        assert session.exec(select(Contact).where(Contact.name == "Sunita")).one().active is True
    assert counts(engine) == (6, 3)


@pytest.mark.parametrize(
    ("places", "contacts", "message"),
    [
        (PLACES + "abc,village,X,900111,\n", CONTACTS, "places.csv line 8: lgd_code 'abc' is not a positive number"),
        (PLACES + "9001112,hamlet,X,900111,\n", CONTACTS, "places.csv line 8: level 'hamlet' is not one of"),
        (PLACES + "9001112,village,X,777,\n", CONTACTS, "places.csv line 8: parent_lgd_code 777 is neither in this file"),
        (PLACES + "9001112,village,,900111,\n", CONTACTS, "places.csv line 8: name is empty"),
        (PLACES + "9001111,village,Again,900111,\n", CONTACTS, "places.csv line 8: village 9001111 appears twice (first on line 6)"),
        (PLACES + "9002,district,X,9001111,\n", CONTACTS, "places.csv line 8: a district cannot sit under a village"),
        (PLACES + "9003,district,X,,\n", CONTACTS, "places.csv line 8: a district needs a parent_lgd_code"),
        ("lgd_code,level,name\n1,state,X\n", CONTACTS, "places.csv line 1: missing column(s) parent_lgd_code"),
        (PLACES, CONTACTS + "Bad,12,VCPC,9001111,,hi,yes\n", "contacts.csv line 5: phone '12' is not a phone number"),
        (PLACES, CONTACTS + "Bad,+919800000099,VCPC,9001111,,sat,yes\n",
         "contacts.csv line 5: language 'sat' is not one of en, hi, hi_latn, bn, sat_latn, sat_olck, sat_beng"),
        (PLACES, CONTACTS + "Bad,+919800000109,POLICE,9001111,,hi,yes\n", "contacts.csv line 5: unit 'POLICE' is not one of"),
        (PLACES, CONTACTS + "Bad,+919800000109,VCPC,123,,hi,yes\n", "contacts.csv line 5: place_lgd_code '123' is not a place"),
        (PLACES, CONTACTS + "Bad,+919800000109,VCPC,9001111,,hi,maybe\n", "contacts.csv line 5: active 'maybe' is not yes/no"),
        (PLACES, CONTACTS + "Asha again,+919800000101,VCPC,9001111,,hi,yes\n", "contacts.csv line 5: same phone, unit and place as line 2"),
    ],
)
def test_a_bad_row_is_named_by_line_and_nothing_is_imported(engine, tmp_path, places, contacts, message):
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, *files(tmp_path, places, contacts))
    assert message in str(raised.value)
    assert counts(engine) == (0, 0)


def test_not_utf8_is_refused(engine, tmp_path):
    places, contacts = files(tmp_path)
    places.write_bytes("lgd_code,level,name,parent_lgd_code\n20,state,Jh\xe4rkhand,\n".encode("latin-1"))
    with pytest.raises(DirectoryError, match="places.csv: not UTF-8"):
        import_directory(engine, places, contacts)


def test_a_byte_order_mark_and_later_files_that_reference_earlier_imports(engine, tmp_path):
    import_directory(engine, *files(tmp_path, places="\ufeff" + PLACES, contacts="name,phone,unit,place_lgd_code\n"))
    more = "lgd_code,level,name,parent_lgd_code\n9001112,village,Bansdih,900111\n"
    import_directory(engine, *files(tmp_path, places=more, contacts="name,phone,unit,place_lgd_code\nX,+919800000111,VCPC,9001112\n"))
    with Session(engine) as session:
        assert session.get(Place, {"level": "village", "lgd_code": 9001112}).district_lgd == 9001
    assert counts(engine) == (7, 1)


def test_demo_directory_and_place_lists(engine):
    summary = import_demo(engine)
    assert summary.places > 50 and summary.contacts > 50
    places = SqlPlaces(engine)
    states = [place.name for place in places.children(None, "en")]
    assert states == ["Jharkhand", "Rajasthan", "West Bengal"]
    assert [place.name for place in places.children(None, "hi")][0] in ("झारखंड", "पश्चिम बंगाल", "राजस्थान")
    assert places.village(9001111, "bn").name == "আমতলা"
    assert places.village(424242, "en") is None


def big_files(tmp_path: Path, villages: int, bad_places_line: int = 0, bad_contacts_line: int = 0) -> tuple[Path, Path]:
    """A state, a district and `villages` villages under it, one contact each; a bad row at a given line."""
    places = ["lgd_code,level,name,parent_lgd_code", "20,state,Jharkhand,", "9001,district,Ranchi,20"]
    places += [f"{10_000_000 + v},village,Village {v},9001" for v in range(villages)]
    contacts = ["name,phone,unit,place_lgd_code,role,language,active"]
    contacts += [f"Worker {v},+91{7_000_000_000 + v},VCPC,{10_000_000 + v},member,hi,yes" for v in range(villages)]
    if bad_places_line:
        places[bad_places_line - 1] = "10999999,village,Nowhere,777"
    if bad_contacts_line:
        contacts[bad_contacts_line - 1] = "Bad,12,VCPC,20,member,hi,yes"
    return files(tmp_path, "\n".join(places) + "\n", "\n".join(contacts) + "\n")


@pytest.mark.parametrize(
    ("bad_places_line", "bad_contacts_line", "message"),
    [
        (12_000, 0, "places.csv line 12000: parent_lgd_code 777 is neither in this file nor in the directory"),
        (0, 12_000, "contacts.csv line 12000: phone '12' is not a phone number (E.164 or Indian national form)"),
    ],
)
def test_a_bad_row_late_in_a_big_file_still_aborts_everything(engine, tmp_path, bad_places_line, bad_contacts_line, message):
    # More rows than two write batches come before the bad one: they were written, and must be rolled back.
    import_directory(engine, *files(tmp_path))
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, *big_files(tmp_path, 12_500, bad_places_line, bad_contacts_line))
    assert str(raised.value).splitlines()[0] == message
    assert counts(engine) == (6, 3)


def test_a_big_file_imports_whole(engine, tmp_path):
    summary = import_directory(engine, *big_files(tmp_path, 12_500))
    assert (summary.places, summary.contacts) == (12_502, 12_500)
    assert counts(engine) == (12_502, 12_500)
    with Session(engine) as session:
        assert session.get(Place, {"level": "village", "lgd_code": 10_012_499}).district_lgd == 9001


def test_parents_later_in_the_file_still_give_the_ancestors(engine, tmp_path):
    children_first = "\n".join(reversed(PLACES.strip().splitlines()[1:]))
    import_directory(engine, *files(tmp_path, places=PLACES.splitlines()[0] + "\n" + children_first + "\n"))
    with Session(engine) as session:
        village = session.get(Place, {"level": "village", "lgd_code": 9001111})
        direct = session.get(Place, {"level": "village", "lgd_code": 9001199})
        block = session.get(Place, {"level": "block", "lgd_code": 90011})
    assert (village.state_lgd, village.district_lgd, village.block_lgd, village.gram_panchayat_lgd) == (20, 9001, 90011, 900111)
    assert (direct.state_lgd, direct.district_lgd, direct.block_lgd, direct.gram_panchayat_lgd) == (20, 9001, 90011, None)
    assert (block.state_lgd, block.district_lgd, block.block_lgd, block.gram_panchayat_lgd) == (20, 9001, 90011, None)
    assert counts(engine) == (6, 3)


def test_many_bad_rows_show_the_first_twenty_and_count_the_rest(engine, tmp_path):
    bad = "".join(f"Bad {n},12,VCPC,9001111,,hi,yes\n" for n in range(25))
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, *files(tmp_path, contacts=CONTACTS + bad))
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("contacts.csv line 5: phone '12'") and lines[19].startswith("contacts.csv line 24:")
    assert lines[20:] == ["… and 5 more"]
    assert counts(engine) == (0, 0)


def test_a_row_with_an_unknown_parent_is_not_a_place_for_contacts(engine, tmp_path):
    places = PLACES + "9001112,village,X,777,\n"
    contacts = CONTACTS + "X,+919800000109,VCPC,9001112,,hi,yes\n"
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, *files(tmp_path, places, contacts))
    assert str(raised.value).splitlines() == [
        "places.csv line 8: parent_lgd_code 777 is neither in this file nor in the directory",
        "contacts.csv line 5: place_lgd_code '9001112' is not a place in the directory",
    ]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+919800000101", "+919800000101"),
        (" 9800000101 ", "+919800000101"),
        ("09800000102", "+919800000102"),
        ("98000 00103", "+919800000103"),
        ("+91 98000-00104", "+919800000104"),
        ("+14155550100", "+14155550100"),
        ("5800000101", "+915800000101"),  # not a mobile: phonenumbers decides, as before
        ("12", None),
        ("", None),
    ],
)
def test_phones_fast_path_agrees_with_phonenumbers(raw, e164):
    from gateway.infra.phones import _parsed_e164, to_e164

    assert to_e164(raw) == e164 == _parsed_e164(raw.strip(), "IN")
