"""Every screen and every SMS within budget in every language, with the longest real values it can
carry: the longest village name of the demo directory (in each script), a 10-digit reference and
the longest unit name the rules declare (issue 18). A text that does not fit is cut on a phone."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from menus.budgets import SMS_SEGMENT, USSD, Values, longest_names, renderings, rooms
from menus.catalog import load_catalog
from menus.engine import Context, start, step
from menus.gsm import encoded_length
from menus.places import StaticPlaces
from menus.screens import ELLIPSIS_GSM, ELLIPSIS_UCS2
from routing.concerns import KEYS
from routing.rules import load_rules

DEMO_PLACES = Path(__file__).parents[2] / "gateway" / "record" / "demo" / "places.csv"
CATALOG = load_catalog()
LANGS = CATALOG.codes


def _values() -> Values:
    with DEMO_PLACES.open(encoding="utf-8", newline="") as handle:
        villages = longest_names(csv.DictReader(handle))
    units: dict[str, str] = {}
    for _, table in load_rules(None).units.variants():
        for key, spec in table.items():
            units[key] = max(units.get(key, ""), spec.name, key=len)
    return Values(villages=villages, units=units)


VALUES = _values()


def test_the_longest_values_are_the_real_ones():
    assert encoded_length(VALUES.village("hi"))[0] >= 15 and VALUES.ref == "9999999999"
    assert VALUES.village("sat_beng") == VALUES.villages["bn"]  # Santali in Bengali script reads Bengali names
    assert max(VALUES.units.values(), key=len) == "Police station (Child Welfare Police Officer)"


@pytest.mark.parametrize("lang", LANGS)
def test_every_screen_and_sms_fits_with_the_longest_values(lang):
    over = [f"{shown.name} ({shown.channel}, {-shown.left} over {shown.limit}): {shown.text!r}"
            for shown in renderings(CATALOG, lang, VALUES, KEYS) if shown.left < 0]
    assert not over, "\n".join(over)


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_has_a_room(lang):
    found = rooms(CATALOG, lang, VALUES, KEYS)
    assert set(found) == set(CATALOG.languages["en"].texts)
    assert found["sms.reminder"].channels == ("SMS",) and found["home.report"].channels == ("screen",)
    assert found["concern.sexual_abuse"].channels == ("screen", "SMS")


def test_hindi_help_and_reminder_fit_one_sms_segment():
    for key in ("sms.help", "sms.reminder"):
        assert CATALOG.segments(key) == 1
        room = rooms(CATALOG, "hi", VALUES, KEYS)[key]
        assert room.budget == SMS_SEGMENT.ucs2 and room.left >= 0, room


def test_ol_chiki_is_measured_as_ucs2():
    room = rooms(CATALOG, "sat_olck", VALUES, KEYS)["home.title"]
    assert room.budget == USSD.ucs2


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_through_every_screen_meets_no_cut_word(lang):
    """The engine itself, on the longest village: no screen is shortened with an ellipsis."""
    name = VALUES.village(lang)
    places = StaticPlaces([(20, "state", None, {"en": "Jharkhand"}), (9001, "district", 20, {"en": "Ranchi"}),
                           (9001111, "village", 9001, {"en": VALUES.villages["en"], lang: name})])
    ctx = Context(catalog=CATALOG, places=places, concerns=KEYS, budget=USSD)
    for concern in range(1, len(KEYS) + 1):
        outcome = start(ctx, lang)
        screens = [outcome.screen]
        for answer in ("1", "x", "1", "9001111", "98", "0", str(concern) if concern <= outcome.state.shown else "1"):
            outcome = step(outcome.state, answer, ctx)
            screens.append(outcome.screen)
        for answer in ("1", "1", "x"):  # urgent, call me back, a wrong key on the confirm screen
            outcome = step(outcome.state, answer, ctx)
            screens.append(outcome.screen)
        for screen in filter(None, screens):
            assert ELLIPSIS_GSM not in screen.text and ELLIPSIS_UCS2 not in screen.text, screen.render()
