"""Towns and shared codes in the menu: a ward is a place a child can be, and LGD numbers each level
apart, so a list is keyed by (level, code) and a typed code finds a village, else a ward."""

from __future__ import annotations

from dataclasses import replace

from menus.engine import Context, Submit
from menus.places import StaticPlaces
from tests.menus.conftest import Walk

ROWS = [
    (20, "state", None, {"en": "Jharkhand"}),
    (606, "district", ("state", 20), {"en": "Khunti"}),
    (606, "block", ("district", 606), {"en": "Torpa"}),  # the same number as its district
    (606, "gram_panchayat", ("block", 606), {"en": "Dorma"}),
    (6061, "village", ("gram_panchayat", 606), {"en": "Ulihatu"}),
    (9090, "urban_local_body", ("district", 606), {"en": "Khunti town"}),
    (909001, "ward", ("urban_local_body", 9090), {"en": "Ward 1", "hi": "वार्ड 1"}),
]


def test_a_ward_is_reported_by_its_code(ctx: Context) -> None:
    w = Walk(replace(ctx, places=StaticPlaces(ROWS)), "en")
    w.press("1", "1", "909001")
    assert w.state.screen == "concern"
    assert (w.state.draft.village, w.state.draft.village_level) == (909001, "ward")
    w.press("1", "1", "2")
    assert "Ward 1" in w.text
    effect = w.press("1").outcome.effect
    assert isinstance(effect, Submit) and effect.draft.village_level == "ward"


def test_the_list_walks_levels_that_share_a_code(ctx: Context) -> None:
    w = Walk(replace(ctx, places=StaticPlaces(ROWS)), "en")
    w.press("1", "2")  # report, from the list: one state and one district are skipped
    assert "Khunti town" in w.text and "Torpa" in w.text
    w.press("2")  # Torpa, block 606 (not district 606, whose children these are)
    assert (w.state.draft.parent_level, w.state.draft.parent) == ("block", 606)
    assert "Dorma" in w.text
    w.press("1", "1")  # Dorma, then Ulihatu
    assert (w.state.screen, w.state.draft.village, w.state.draft.village_level) == ("concern", 6061, "village")
    assert w.press("0").state.draft.parent_level == "gram_panchayat"  # back restores the level too


def test_a_town_is_not_where_a_child_is(ctx: Context) -> None:
    w = Walk(replace(ctx, places=StaticPlaces(ROWS)), "en")
    w.press("1", "1", "9090")
    assert w.state.screen == "village_code"
