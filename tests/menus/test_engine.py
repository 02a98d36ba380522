"""The conversation, screen by screen, with no server: (state, input) -> (screen, state)."""

from __future__ import annotations

import pytest

from menus.engine import Lookup, State, Stored, Submit, finish, start, step
from menus.refs import check_digit
from menus.screens import CON, END
from routing.concerns import KEYS

LANGS = ["en", "hi", "hi_latn", "bn", "sat_latn"]


def option_number(screen: str, label: str) -> str:
    """The number printed before `label` on a screen."""
    for line in screen.splitlines()[1:]:
        number, _, text = line.partition(" ")
        if text == label:
            return number
    raise AssertionError(f"{label!r} not on screen:\n{screen}")


def test_first_dial_asks_for_the_language_in_every_script(walk):
    screen = walk().text
    assert screen.startswith("CON ")
    for label in ("English", "हिंदी", "বাংলা"):
        assert label in screen


@pytest.mark.parametrize("lang", LANGS)
def test_report_by_village_code_in_every_language(walk, catalog, lang):
    w = walk()
    w.press(str(catalog.codes.index(lang) + 1))
    assert w.state.lang == lang and w.state.screen == "home"
    w.press("1", "1", "9001111")
    assert w.state.screen == "concern"
    w.press("1", "1", "2")
    assert w.state.screen == "confirm"
    outcome = w.press("1").outcome
    assert isinstance(outcome.effect, Submit)
    assert outcome.effect.draft.model_dump() == {
        "parent": None, "parent_level": None, "village": 9001111, "village_level": "village", "concern": KEYS[0],
        "urgent": True, "callback": False,
    }
    closing = finish(outcome.state, w.ctx, "123456782").screen
    assert closing.kind == END and "123456782" in closing.text and "1098" in closing.text


@pytest.mark.parametrize("lang", ["en", "hi", "hi_latn", "bn", "sat_latn", "sat_olck", "sat_beng"])
def test_a_report_that_is_not_urgent_made_while_the_office_is_closed_says_when_it_opens(walk, catalog, lang):
    """Issue 16: it waits for the morning and tells the reporter so, with the helplines for danger now."""
    w = walk(lang).press("1", "1", "9001111", "1", "2", "2")  # the first concern, not in danger now, no call
    assert w.state.screen == "confirm" and w.state.draft.urgent is False
    outcome = w.press("1").outcome
    night = finish(outcome.state, w.ctx, Stored("123456782", "10:00")).screen
    assert night.kind == END and "123456782" in night.text
    assert catalog.text(lang, "sent.later", opens="10:00", helplines=w.ctx.helplines) in night.text
    day = finish(outcome.state, w.ctx, Stored("123456782", None)).screen  # someone is at work: nothing to add
    assert catalog.text(lang, "sent.later", opens="10:00", helplines=w.ctx.helplines) not in day.text
    assert day.text.rstrip().endswith(catalog.text(lang, "sent", ref="123456782"))


@pytest.mark.parametrize("lang", LANGS)
def test_report_by_choosing_from_lists(walk, lang):
    w = walk(lang)
    assert w.state.screen == "home"  # the remembered language skips the language screen
    w.press("1", "2")
    assert w.state.screen == "place" and w.state.draft.parent is None  # two states: choose one
    for _ in range(6):  # state, district, block, panchayat, village: always the last option
        if w.state.screen != "place":
            break
        w.press(str(w.state.shown))
    assert w.state.screen == "concern" and w.state.draft.village is not None


def test_single_choice_levels_are_still_shown_below_the_top(walk):
    w = walk("en").press("1", "2")
    assert "Choose state" in w.text
    w.press(option_number(w.text, "Jharkhand"))
    assert "Choose district" in w.text and "Ranchi" in w.text
    w.press(option_number(w.text, "Ranchi"))
    assert "Choose block" in w.text
    w.press(option_number(w.text, "Kanke"))
    # A block with panchayats and a village directly under it: a mixed list.
    assert "Choose place" in w.text and "Tilaiya" in w.text and "Pipra" in w.text
    w.press(option_number(w.text, "Tilaiya"))
    assert w.state.draft.village == 9001199 and w.state.screen == "concern"


def test_a_panchayat_without_villages_is_refused_with_a_hint(walk):
    w = walk("en").press("1", "2", "1", "1", "1")
    w.press(option_number(w.text, "Empty GP"))
    assert w.text.startswith("CON No villages listed here.") and w.state.screen == "place"


def test_long_lists_page_without_splitting_and_reach_every_option(walk):
    w = walk("en").press("1", "2")
    w.press(option_number(w.text, "West Bengal"), "1", "1")  # Purulia, Jhalda: 40 long names
    seen: list[str] = []
    for _ in range(40):
        lines = w.text.splitlines()[1:]
        seen += [line.split(" ", 1)[1] for line in lines if line.split(" ", 1)[0] not in ("98", "0")]
        if not any(line.startswith("98 ") for line in lines):
            break
        w.press("98")
    assert seen == [f"Village with a rather long name {i:02d}" for i in range(40)]
    w.press("0")  # back to the previous page, not out of the list
    assert "Village with a rather long name" in w.text


def test_back_and_home_work_everywhere(walk):
    w = walk("en").press("1", "1", "9001111", "3")
    assert w.state.screen == "urgent"
    w.press("0")
    assert w.state.screen == "concern"
    w.press("0")
    assert w.state.screen == "village_code"
    w.press("00")
    assert w.state.screen == "home" and not w.state.history


@pytest.mark.parametrize("digits", ["९००१११११", "৯০০১১১১", "9001111", " 9001111. "])
def test_digits_in_any_script(walk, digits):
    w = walk("en").press("१", "1")
    assert w.state.screen == "village_code"
    w.press(digits)
    expected = "concern" if digits.strip(" .") in ("9001111", "৯০০১১১১") else "village_code"
    assert w.state.screen == expected


def test_invalid_input_reshows_the_screen_with_a_hint(walk):
    w = walk("en").press("1")
    before = w.text
    w.press("7")
    assert w.text.startswith("CON Please type a listed number.\n") and w.text.endswith(before[4:])
    w.press("abc")
    assert w.state.screen == "where"


def test_unknown_village_code_gets_a_hint(walk):
    w = walk("en").press("1", "1", "12345")
    assert w.text.startswith("CON Code not found.") and w.state.screen == "village_code"
    w.press("900111")  # a gram panchayat's code is not a village
    assert w.state.screen == "village_code"


def test_check_a_report_validates_the_check_digit(walk):
    good = "12345678" + check_digit("12345678")
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    w = walk("en").press("2", wrong)
    assert w.state.screen == "check" and "Wrong number" in w.text
    outcome = w.press(good).outcome
    assert isinstance(outcome.effect, Lookup) and outcome.effect.reference == good
    assert "received" in finish(outcome.state, w.ctx, "open").screen.text
    assert "not found" in finish(outcome.state, w.ctx, None).screen.text


def test_help_numbers_end_the_session(walk):
    w = walk("hi").press("3")
    assert w.outcome.screen.kind == END and "1098" in w.text


def test_a_failed_store_never_says_sent(walk):
    w = walk("en").press("1", "1", "9001111", "1", "2", "1", "1")
    closing = finish(w.state, w.ctx, None).screen
    assert closing.kind == END and "not sent" in closing.text and "112" in closing.text


def test_an_unfinished_report_is_offered_again(walk, ctx):
    first = walk("en").press("1", "1", "9001111", "2")
    saved = first.state
    w = walk("en", saved)
    assert w.state.screen == "resume" and "unfinished" in w.text
    w.press("1")
    assert w.state.screen == "urgent" and w.state.draft.concern == KEYS[1]
    w.press("0")
    assert w.state.screen == "concern"
    fresh = walk("en", saved).press("2")
    assert fresh.state.screen == "home" and fresh.state.draft.village is None


def test_language_can_be_changed_from_home(walk):
    w = walk("en").press("9")
    assert w.state.screen == "language"
    w.press("2")
    assert w.state.lang == "hi" and w.state.screen == "home"


def test_every_concern_is_offered(walk):
    w = walk("en").press("1", "1", "9001111")
    labels: list[str] = []
    while True:
        lines = w.text.splitlines()[1:]
        labels += [line.split(" ", 1)[1] for line in lines if line.split(" ", 1)[0] not in ("98", "0")]
        if not any(line.startswith("98 ") for line in lines):
            break
        w.press("98")
    assert len(labels) == len(KEYS)


def test_screens_start_with_con_until_the_end(walk):
    w = walk("bn").press("1", "1", "9001111", "1", "2", "2")
    assert all(screen.kind == CON for screen in w.screens)
    assert start(w.ctx).screen.kind == CON


@pytest.mark.parametrize("inputs", [
    ("1", "1", "1", "9001111", "1", "1", "2", "1"),  # a whole report by village code
    ("2", "9", "3", "1", "2", "0", "0", "00"),  # language change, back, home
    ("1", "1", "2", "98", "x", "0", "1", "1"),  # lists, paging, an invalid answer
])
def test_a_state_handed_over_gives_the_same_answers(ctx, inputs):
    """What the gateway does on every hop (a state just parsed from Redis, handed over) answers
    exactly as the copying step does."""
    copied = handed = start(ctx)
    for raw in inputs:
        copied = step(copied.state, raw, ctx)
        handed = step(State.model_validate_json(handed.state.model_dump_json()), raw, ctx, owned=True)
        assert (handed.screen, handed.state, handed.effect) == (copied.screen, copied.state, copied.effect)
        if copied.effect is not None:
            break


def test_step_leaves_the_state_it_is_given_unchanged_unless_handed_over(ctx):
    state = start(ctx, "en").state
    before = state.model_dump_json()
    step(state, "1", ctx)
    assert state.model_dump_json() == before
    step(state, "1", ctx, owned=True)
    assert state.model_dump_json() != before  # changed in place, as the caller allowed
