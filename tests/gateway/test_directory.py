"""Directory import: idempotent, all or nothing, bad rows named by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from gateway.directory import DirectoryError, SqlPlaces, import_demo, import_directory
from gateway.models import Contact, Place

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
        village = session.get(Place, 9001111)
        direct = session.get(Place, 9001199)
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
        (PLACES + "9001111,village,Again,900111,\n", CONTACTS, "places.csv line 8: lgd_code 9001111 appears twice (first on line 6)"),
        (PLACES + "9002,district,X,9001111,\n", CONTACTS, "places.csv line 8: a district cannot sit under a village"),
        (PLACES + "9003,district,X,,\n", CONTACTS, "places.csv line 8: a district needs a parent_lgd_code"),
        ("lgd_code,level,name\n1,state,X\n", CONTACTS, "places.csv line 1: missing column(s) parent_lgd_code"),
        (PLACES, CONTACTS + "Bad,12,VCPC,9001111,,hi,yes\n", "contacts.csv line 5: phone '12' is not a phone number"),
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
        assert session.get(Place, 9001112).district_lgd == 9001
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
