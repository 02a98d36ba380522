"""The router's directory over SQL: the same answers as in memory, from indexed lookups only."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text, update

from gateway.record.directory import DEMO_DIR, import_directory
from gateway.record.models import Contact
from gateway.record.routing_directory import SqlDirectory
from routing.concerns import KEYS
from routing.directory import ContactRef, MemoryDirectory, PlaceRef
from routing.ladder import route
from routing.rules import load_rules

RANCHI, KANKE, PIPRA, AMTOLA, CHANDPUR_BARHI, TILAIYA = 9001, 90011, 900111, 9001111, 9001123, 9001199


KANKE_PS = 7001  # the demo's police station covering Kanke block


def demo_in_memory() -> MemoryDirectory:
    directory = MemoryDirectory(load_rules().levels)  # the demo has police stations
    with (DEMO_DIR / "places.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            parent = int(row["parent_lgd_code"]) if row["parent_lgd_code"] else None
            directory.add_place(int(row["lgd_code"]), row["level"], row["name"], parent, row["parent_level"] or None)
    with (DEMO_DIR / "contacts.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            directory.add_contact(row["unit"], int(row["place_lgd_code"]), row["name"], row["phone"], row["language"],
                                  row["active"] == "yes", level=row["place_level"])
    with (DEMO_DIR / "coverage.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            directory.add_coverage(row["place_level"], int(row["place_code"]), row["covers_level"],
                                   int(row["covers_lgd_code"]))
    return directory


@contextmanager
def statements(engine) -> Iterator[list[tuple[str, object]]]:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_chain_from_village_to_state(demo) -> None:  # type: ignore[no-untyped-def]
    chain = SqlDirectory(demo).chain(AMTOLA)
    assert [(p.lgd_code, p.level, p.name) for p in chain] == [
        (AMTOLA, "village", "Amtola"), (PIPRA, "gram_panchayat", "Pipra"), (KANKE_PS, "police_station", "Kanke PS"),
        (KANKE, "block", "Kanke"),
        (RANCHI, "district", "Ranchi"), (20, "state", "Jharkhand"),
    ]


def test_chain_of_a_village_directly_under_its_block(demo) -> None:  # type: ignore[no-untyped-def]
    chain = SqlDirectory(demo).chain(TILAIYA)
    assert [p.level for p in chain] == ["village", "police_station", "block", "district", "state"]
    assert (chain[1].lgd_code, chain[2].lgd_code) == (KANKE_PS, KANKE)  # the station covering its block


@pytest.mark.parametrize(("code", "levels"), [(RANCHI, ["district", "state"]), (20, ["state"]), (PIPRA, ["gram_panchayat", "police_station", "block", "district", "state"]), (123, [])])
def test_chain_of_other_places(demo, code: int, levels: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert [p.level for p in SqlDirectory(demo).chain(code, levels[0] if levels else "village")] == levels


def at(level: str, code: int) -> PlaceRef:
    return PlaceRef(code, level, "")


def test_active_contacts_leave_out_inactive_members(demo) -> None:  # type: ignore[no-untyped-def]
    directory = SqlDirectory(demo)
    assert directory.active_contacts("VCPC", at("village", CHANDPUR_BARHI)) == [ContactRef("DEMO Anganwadi worker Chandpur", "+917000000116", "hi")]
    assert [c.name for c in directory.active_contacts("DCPU", at("district", RANCHI))] == ["DEMO DCPO Ranchi", "DEMO Protection Officer Ranchi"]
    assert directory.active_contacts("VCPC", at("village", TILAIYA)) == []
    assert directory.active_contacts("BCPC", at("district", RANCHI)) == []


def test_routes_as_the_memory_directory_does(demo) -> None:  # type: ignore[no-untyped-def]
    rules, memory, sql = load_rules(), demo_in_memory(), SqlDirectory(demo)
    villages = [code for code in (9001111, 9001123, 9001199, 9001299, 9002223, 9101111, 9102199, 9201223)]
    for village in villages:
        for concern in KEYS:
            for urgent in (True, False):
                assert route(village, concern, urgent, sql, rules) == route(village, concern, urgent, memory, rules)


def test_tilaiya_has_no_committee_of_its_own(demo) -> None:  # type: ignore[no-untyped-def]
    ladder = route(TILAIYA, "neglect_dropout", False, SqlDirectory(demo), load_rules())
    assert [step.unit_keys for step in ladder.steps] == [("BCPC", "BEO"), ("DCPU", "CWC"), ("DCPO",), ("DM", "SCPS")]
    assert [(gap.unit, gap.place.lgd_code if gap.place else None) for gap in ladder.gaps] == [("VCPC", TILAIYA)]


def test_lookups_are_indexed_and_few(demo) -> None:  # type: ignore[no-untyped-def]
    directory = SqlDirectory(demo, cache_size=0)
    with statements(demo) as seen:
        directory.chain(AMTOLA)
        directory.active_contacts("VCPC", at("village", AMTOLA))
    seen[:] = [(sql, parameters) for sql, parameters in seen if sql.lstrip().upper().startswith("SELECT")]
    assert len(seen) == 4, seen  # the village, its ancestors, the stations covering them, one unit's contacts
    if demo.dialect.name != "sqlite":
        return
    with demo.connect() as connection:
        for statement, parameters in seen:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            details = " | ".join(str(row[-1]) for row in plan)
            assert "SCAN" not in details, (statement, details)
            assert details.startswith(("SEARCH", "MULTI-INDEX OR")), details  # (level, code) pairs: one search each


def test_cache_is_short_lived_and_can_be_dropped(demo) -> None:  # type: ignore[no-untyped-def]
    cached, fresh = SqlDirectory(demo), SqlDirectory(demo, cache_size=0)
    assert len(cached.active_contacts("VCPC", at("village", AMTOLA))) == 2
    with demo.begin() as connection:
        connection.execute(update(Contact.__table__).where(text("phone = '+917000000106'")).values(active=False))
    assert len(fresh.active_contacts("VCPC", at("village", AMTOLA))) == 1
    assert len(cached.active_contacts("VCPC", at("village", AMTOLA))) == 2  # until the ttl runs out
    cached.forget()
    assert len(cached.active_contacts("VCPC", at("village", AMTOLA))) == 1


def test_routes_inside_the_transaction_that_creates_the_case(demo) -> None:  # type: ignore[no-untyped-def]
    with demo.begin() as connection:
        connection.execute(update(Contact.__table__).where(text("phone = '+917000000106'")).values(active=False))
        ladder = route(AMTOLA, "other", False, SqlDirectory(demo).using(connection), load_rules())
        assert [c.name for c in ladder.steps[0].contacts] == ["DEMO Ward member Amtola"]  # its own write, seen


def test_an_unknown_village_is_not_remembered(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    directory = SqlDirectory(demo)
    assert directory.chain(9001198) == []
    (tmp_path / "places.csv").write_text("lgd_code,level,name,parent_lgd_code\n9001198,village,Nayagaon,90011\n", encoding="utf-8")
    import_directory(demo, tmp_path / "places.csv", None)
    assert [place.lgd_code for place in directory.chain(9001198)] == [9001198, KANKE_PS, KANKE, RANCHI, 20]


def test_a_place_row_is_read_once_while_cached_and_an_unknown_one_never_remembered(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a case is stored with (names, block, district) comes from the cache on the storing hop."""
    directory = SqlDirectory(demo)
    with statements(demo) as seen:
        first = directory.place(AMTOLA, "village")
        again = directory.place(AMTOLA, "village")
    assert first is not None and first == again and (first.name, first.block_lgd) == ("Amtola", KANKE)
    assert len([sql for sql, _ in seen if sql.lstrip().upper().startswith("SELECT")]) == 1
    assert directory.place(AMTOLA, "ward") is None and directory.place(9001198, "village") is None
    (tmp_path / "places.csv").write_text("lgd_code,level,name,parent_lgd_code\n9001198,village,Nayagaon,90011\n", encoding="utf-8")
    import_directory(demo, tmp_path / "places.csv", None)
    assert directory.place(9001198, "village").name == "Nayagaon"
