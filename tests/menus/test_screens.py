"""Paging by encoded length: never an option split, never a screen over budget."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus.gsm import Budget, encoded_length, fits, is_gsm7
from menus.screens import message, page


@pytest.mark.parametrize(
    ("text", "length", "gsm"),
    [("Hello", 5, True), ("a€", 3, True), ("[]", 4, True), ("हिंदी", 5, False), ("বাংলা", 5, False), ("ok ✓", 4, False)],
)
def test_encoded_length(text, length, gsm):
    assert encoded_length(text) == (length, gsm)
    assert is_gsm7(text) is gsm


def test_one_devanagari_letter_halves_the_budget():
    budget = Budget(160, 80)
    assert fits("CON " + "a" * 156, budget)
    assert not fits("CON " + "a" * 155 + "क", budget)


labels = st.lists(st.text(alphabet="abcdefgh हिंदीবাংলা", min_size=1, max_size=60), min_size=1, max_size=30)


@given(labels, st.sampled_from([Budget(160, 80), Budget(120, 60), Budget(182, 91)]))
def test_pages_fit_and_cover_every_option_in_order(options, budget):
    shown: list[str] = []
    start = 0
    for _ in range(len(options) + 1):
        result = page("Choose village", options, start, budget, "More", "Back")
        rendered = result.screen.render()
        assert fits(rendered, budget), rendered
        assert result.count >= 1
        lines = rendered.splitlines()[1:]
        numbered = [line for line in lines if line.split(" ", 1)[0] not in ("98", "0")]
        assert [line.split(" ", 1)[0] for line in numbered] == [str(i + 1) for i in range(result.count)]
        shown += options[start : start + result.count]
        start += result.count
        has_more = any(line.startswith("98 ") for line in lines)
        assert has_more == (start < len(options))
        if not has_more:
            break
    assert shown == list(options)


def test_an_option_too_long_for_any_page_is_shortened_not_dropped():
    result = page("Choose", ["x" * 400, "short"], 0, Budget(160, 80), "More", "Back")
    text = result.screen.render()
    assert fits(text, Budget(160, 80)) and "1 xxx" in text and text.count("...") == 1 and "98 More" in text


def test_a_long_title_gives_way_to_the_options():
    result = page("शिकायत: " + "बहुत लंबा गाँव का नाम " * 3, ["भेजें"], 0, Budget(160, 80), "आगे", "पीछे")
    text = result.screen.render()
    assert fits(text, Budget(160, 80)) and "\n1 भेजें\n0 पीछे" in text and "…" in text


def test_messages_are_shortened_to_fit():
    screen = message("END", ["a" * 300], Budget(160, 80))
    assert len(screen.render()) == 160 and screen.render().endswith("...")
    assert message("END", ["क" * 300], Budget(160, 80)).render().endswith("…")
