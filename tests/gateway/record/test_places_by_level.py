"""A place is (level, code): LGD numbers each level separately (issue 15).

Real data has district 606 and block 606, a village and a gram panchayat with one number; the
directory must hold both, route through both and say which one a contact means.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, col, select

from gateway.devtools.lgd_files import write_lgd_state
from gateway.record import db
from gateway.record.directory import DirectoryError, SqlPlaces, import_directory
from gateway.record.lgd_import import import_lgd
from gateway.record.models import Case, Contact, Place
from gateway.record.routing_directory import SqlDirectory
from routing.directory import PlaceRef
from routing.ladder import route
from routing.rules import load_rules

SHARED = """lgd_code,level,name,parent_lgd_code,parent_level
20,state,Jharkhand,,
606,district,Khunti,20,
606,block,Torpa,606,district
607,block,Murhu,606,
606,gram_panchayat,Dorma,606,block
606,village,Dorma,606,gram_panchayat
6061,village,Ulihatu,607,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_places_sharing_a_code_at_different_levels_are_all_kept(engine, tmp_path):
    summary = import_directory(engine, write(tmp_path, "places.csv", SHARED), None)
    assert summary.places == 7
    with Session(engine) as session:
        dorma = session.get(Place, {"level": "village", "lgd_code": 606})
        ulihatu = session.get(Place, {"level": "village", "lgd_code": 6061})
    assert (dorma.parent_level, dorma.gram_panchayat_lgd, dorma.block_lgd, dorma.district_lgd) == ("gram_panchayat", 606, 606, 606)
    assert (ulihatu.parent_level, ulihatu.block_lgd, ulihatu.district_lgd) == ("block", 607, 606)
    chain = SqlDirectory(engine).chain(606)
    assert [(place.level, place.name) for place in chain] == [
        ("village", "Dorma"), ("gram_panchayat", "Dorma"), ("block", "Torpa"), ("district", "Khunti"), ("state", "Jharkhand")]


def test_a_contact_code_that_names_two_places_needs_its_level(engine, tmp_path):
    places = write(tmp_path, "places.csv", SHARED)
    ambiguous = write(tmp_path, "contacts.csv", "name,phone,unit,place_lgd_code\nDCPO,+917000000001,DCPU,606\n")
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, places, ambiguous)
    assert str(raised.value) == ("contacts.csv line 2: place_lgd_code 606 names village 606 and gram_panchayat 606 and "
                                 "block 606 and district 606: add a place_level column to say which")
    contacts = write(tmp_path, "contacts.csv", "name,phone,unit,place_lgd_code,place_level\n"
                     "DCPO,+917000000001,DCPU,606,district\nBCPC,+917000000002,BCPC,606,block\n"
                     "VCPC,+917000000003,VCPC,606,village\n")
    import_directory(engine, places, contacts)
    with Session(engine) as session:
        assert {(c.unit, c.place_level) for c in session.exec(select(Contact))} == {
            ("DCPU", "district"), ("BCPC", "block"), ("VCPC", "village")}
    ladder = route(606, "neglect_dropout", False, SqlDirectory(engine, cache_size=0), load_rules())
    assert [[c.name for c in step.contacts] for step in ladder.steps] == [["VCPC"], ["BCPC"], ["DCPO"]]
    wrong = write(tmp_path, "more.csv", "name,phone,unit,place_lgd_code,place_level\nX,+917000000004,DCPU,607,district\n")
    with pytest.raises(DirectoryError, match="contacts.csv|more.csv line 2: no district 607 in the directory"):
        import_directory(engine, None, wrong)


@pytest.mark.parametrize(("row", "message"), [
    ("608,block,Rania,20,state", "a block cannot sit under a state (it sits under a district)"),
    ("608,block,Rania,6061,", "a block cannot sit under a village (6061); it sits under a district"),
    ("608,ward,Ward 1,606,", "a ward cannot sit under a village or gram_panchayat or block or district (606); "
                             "it sits under a urban_local_body"),
    ("606,district,Khunti again,20,", "district 606 appears twice (first on line 3)"),
])
def test_wrong_parents_and_repeats_are_named(engine, tmp_path, row, message):
    with pytest.raises(DirectoryError) as raised:
        import_directory(engine, write(tmp_path, "places.csv", SHARED + row + "\n"), None)
    assert str(raised.value) == f"places.csv line 9: {message}"


def test_towns_wards_are_reachable_by_code_and_from_the_list(demo):
    places = SqlPlaces(demo, ttl=0)
    ward = places.village(90090101, "hi")
    assert ward is not None and (ward.level, ward.name) == ("ward", "वार्ड 1 हिंदपीढ़ी")
    ranchi = [place.level for place in places.children(("district", 9001), "en")]
    assert "urban_local_body" in ranchi and "block" in ranchi
    wards = places.children(("urban_local_body", 900901), "en")
    assert [place.lgd_code for place in wards] == [90090101, 90090102, 90090103]
    assert places.village(900901, "en") is None  # a town's own code is not where a child is
    ladder = route(90090101, "neglect_dropout", False, SqlDirectory(demo), load_rules(), level="ward")
    assert [(at.unit, at.place.level) for at in ladder.steps[0].units] == [("VCPC", "ward")]


def test_a_list_never_offers_a_place_that_leads_nowhere(engine, tmp_path):
    text = SHARED + "700,sub_district,Empty tehsil,606,\n"
    import_directory(engine, write(tmp_path, "places.csv", text), None)
    offered = [(place.level, place.name) for place in SqlPlaces(engine, ttl=0).children(("district", 606), "en")]
    assert offered == [("block", "Murhu"), ("block", "Torpa")]


def test_a_whole_lgd_state_imports_routes_and_re_imports_unchanged(engine, tmp_path):
    files = write_lgd_state(tmp_path / "lgd", districts=2, blocks_per_district=2, panchayats_per_block=3,
                            villages_per_panchayat=4)
    first = import_lgd(engine, sorted(files.values()))
    assert first.added["village"] == first.conversion.written["village"] > 40
    assert sum(first.changed.values()) == 0 and first.conversion.notes
    again = import_lgd(engine, sorted(files.values()))
    assert sum(again.added.values()) == 0 and sum(again.changed.values()) == 0
    assert again.summary.places == first.summary.places
    with Session(engine) as session:
        districts = session.exec(select(Place).where(Place.level == "district")).all()
        villages = session.exec(select(Place).where(col(Place.level).in_(("village", "ward")))).all()
    contacts = "name,phone,unit,place_lgd_code,place_level\n" + "".join(
        f"DCPO {d.name},+9170000010{n:02d},DCPU,{d.lgd_code},district\n" for n, d in enumerate(districts))
    import_directory(engine, None, write(tmp_path, "contacts.csv", contacts))
    directory, rules = SqlDirectory(engine, cache_size=0), load_rules()
    for place in villages:
        ladder = route(place.lgd_code, "other", False, directory, rules, level=place.level)
        assert ladder.steps and ladder.chain[-2].level == "district", place


def test_the_v1_schema_migrates_with_its_data(database_url):
    """Places, contacts and cases written by 0006 keep their meaning: every level filled in."""
    engine = db.make_engine(database_url)
    try:
        command.upgrade(db.alembic_config(database_url), "0006")
        place = sa.table("place", *(sa.column(c) for c in ("lgd_code", "level", "name", "names", "parent_lgd_code",
                                                           "state_lgd", "district_lgd", "block_lgd", "gram_panchayat_lgd")))
        contact = sa.table("contact", *(sa.column(c) for c in ("name", "phone", "unit", "place_lgd_code", "role",
                                                               "language", "active")))
        with engine.begin() as connection:
            connection.execute(sa.insert(place), [
                {"lgd_code": 20, "level": "state", "name": "Jharkhand", "names": "{}", "parent_lgd_code": None,
                 "state_lgd": 20, "district_lgd": None},
                {"lgd_code": 9001, "level": "district", "name": "Ranchi", "names": '{"hi": "रांची"}',
                 "parent_lgd_code": 20, "state_lgd": 20, "district_lgd": 9001},
                {"lgd_code": 9001111, "level": "village", "name": "Amtola", "names": "{}", "parent_lgd_code": 9001,
                 "state_lgd": 20, "district_lgd": 9001},
            ])
            connection.execute(sa.insert(contact), [
                {"name": "DCPO", "phone": "+917000000001", "unit": "DCPU", "place_lgd_code": 9001, "role": "",
                 "language": "hi", "active": True},
                {"name": "VCPC", "phone": "+917000000002", "unit": "VCPC", "place_lgd_code": 9001111, "role": "",
                 "language": "hi", "active": True},
            ])
            connection.execute(sa.text(
                "INSERT INTO \"case\" (ref, status, concern, urgent, village_lgd, district_lgd, channel, language, "
                "callback, created_at, source_key, step, overdue, updated_at, round) VALUES ('1234567', 'open', "
                "'other', false, 9001111, 9001, 'ussd', 'hi', false, CURRENT_TIMESTAMP, 'ussd:x', 0, false, "
                "CURRENT_TIMESTAMP, 0)"))
        db.upgrade(engine)
        with Session(engine) as session:
            assert session.get(Place, {"level": "village", "lgd_code": 9001111}).parent_level == "district"
            assert session.get(Place, {"level": "district", "lgd_code": 9001}).names == {"hi": "रांची"}
            assert {(c.name, c.place_level) for c in session.exec(select(Contact))} == {("DCPO", "district"), ("VCPC", "village")}
            assert session.exec(select(Case)).one().village_level == "village"
            session.add(Contact(name="New", phone="+917000000003", unit="DCPU", place_level="district", place_lgd_code=9001))
            session.commit()  # the id sequence carried on past the copied rows
        ladder = route(9001111, "other", False, SqlDirectory(engine, cache_size=0), load_rules())
        assert [c.name for c in ladder.steps[0].contacts] == ["VCPC"]
        assert route(9001111, "other", False, SqlDirectory(engine), load_rules()).chain[1] == PlaceRef(9001, "district", "Ranchi")
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert [d for d in diff if "place" in str(d) or "contact" in str(d) or "village_level" in str(d)] == []
        command.downgrade(db.alembic_config(database_url), "0006")  # and back, while no code is shared
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT COUNT(*) FROM contact")).scalar() == 3
    finally:
        engine.dispose()
