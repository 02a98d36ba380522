"""Screens that fit: a title, numbered options paged by encoded length, and navigation lines.

Pages are cut from the encoded length of the whole screen (prefix included), never in the middle
of an option; an option too long for any page is shortened with an ellipsis rather than dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from menus.gsm import Budget, fits, is_gsm7

CON, END = "CON", "END"
MORE_KEY, BACK_KEY, HOME_KEY = 98, 0, "00"
ELLIPSIS_GSM, ELLIPSIS_UCS2 = "...", "…"  # "…" is not GSM-7: on a Latin screen it would halve the budget


@dataclass(frozen=True)
class Screen:
    """What the phone shows: `CON` waits for input, `END` closes the session."""

    kind: str
    text: str

    def render(self) -> str:
        return f"{self.kind} {self.text}"


@dataclass(frozen=True)
class Page:
    screen: Screen
    start: int  # index of the first option shown
    count: int  # options shown, numbered 1..count on this page


def shorten(text: str, prefix: str, budget: Budget, suffix: str = "") -> str:
    """The longest start of `text` that fits between `prefix` and `suffix`, with an ellipsis when cut."""
    if fits(prefix + text + suffix, budget):
        return text
    ellipsis = ELLIPSIS_GSM if is_gsm7(prefix + text + suffix) else ELLIPSIS_UCS2
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(prefix + text[:mid].rstrip() + ellipsis + suffix, budget):
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ellipsis


# Screens are pure functions of their texts and the budget, and a session walks the same few
# screens as every other: each is measured once per process, not on every hop.
SCREEN_CACHE = 4096


def message(kind: str, lines: Sequence[str], budget: Budget) -> Screen:
    """A screen without options; text that cannot fit is shortened, last lines first."""
    return _message(kind, tuple(lines), budget)


@lru_cache(maxsize=SCREEN_CACHE)
def _message(kind: str, lines: tuple[str, ...], budget: Budget) -> Screen:
    text = "\n".join(line for line in lines if line)
    return Screen(kind, shorten(text, f"{kind} ", budget))


def page(
    title: str,
    options: Sequence[str],
    start: int,
    budget: Budget,
    more_label: str,
    back_label: str | None,
    extra: Sequence[tuple[str, str]] = (),
) -> Page:
    """The page of `options` that begins at `start`, with `98 More` when options remain.

    `extra` are fixed options (key, label) shown on every page, for example `9 Language`.
    """
    return _page(title, tuple(options), start, budget, more_label, back_label, tuple(extra))


@lru_cache(maxsize=SCREEN_CACHE)
def _page(
    title: str,
    options: tuple[str, ...],
    start: int,
    budget: Budget,
    more_label: str,
    back_label: str | None,
    extra: tuple[tuple[str, str], ...],
) -> Page:
    start = max(0, min(start, max(len(options) - 1, 0)))
    tail = [f"{key} {label}" for key, label in extra]
    if back_label:
        tail.append(f"{BACK_KEY} {back_label}")
    more = f"{MORE_KEY} {more_label}"
    if options:
        # A long title (a long village name on the confirm screen) gives way before the first option.
        # (An option that is itself too long is shortened further down, so only its first 30 count.)
        first = [f"1 {options[start][:30]}", *([more] if len(options) > start + 1 else []), *tail]
        title = shorten(title, f"{CON} ", budget, "\n" + "\n".join(first))
    head = f"{CON} {title}"

    def compose(count: int, with_more: bool, lines: list[str] | None = None) -> str:
        shown = lines if lines is not None else [f"{i + 1} {options[start + i]}" for i in range(count)]
        return "\n".join([head, *shown, *([more] if with_more else []), *tail])

    count = 0
    while start + count < len(options):
        remaining_after = start + count + 1 < len(options)
        if not fits(compose(count + 1, remaining_after), budget):
            break
        count += 1
    if count == 0 and options:
        # Not even one option fits: show it shortened rather than split it over pages.
        with_more = len(options) > start + 1
        bare = compose(0, with_more)
        label = shorten(options[start], bare + "\n1 ", budget)
        lines = [f"1 {label}"]
        text = compose(1, with_more, lines)
        count = 1
    else:
        text = compose(count, start + count < len(options))
    if not fits(text, budget):
        text = shorten(text[len(CON) + 1 :], f"{CON} ", budget)
        return Page(Screen(CON, text), start, count)
    return Page(Screen(CON, text[len(CON) + 1 :]), start, count)
