"""How long a text is on the air: GSM-7 septets when it can be, UCS-2 code units otherwise.

A single Devanagari or Bengali letter switches the whole screen to UCS-2 and halves the budget,
so every length check goes through `encoded_length`.
"""

from __future__ import annotations

from typing import NamedTuple

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENDED = frozenset(GSM7_EXTENDED)
_ALL = _BASIC | _EXTENDED


class Budget(NamedTuple):
    """Characters allowed on one screen, prefix included, for each encoding."""

    gsm: int = 160
    ucs2: int = 80


def is_gsm7(text: str) -> bool:
    # Set operations run in C: every screen of every hop is measured, often several times.
    return _ALL.issuperset(text)


def encoded_length(text: str) -> tuple[int, bool]:
    """(length in the encoding the text needs, whether that encoding is GSM-7)."""
    if _ALL.issuperset(text):
        # An extended character is an escape plus the character: two septets.
        return len(text) + sum(map(text.count, GSM7_EXTENDED)), True
    return len(text.encode("utf-16-le")) // 2, False


def fits(text: str, budget: Budget) -> bool:
    length, gsm = encoded_length(text)
    return length <= (budget.gsm if gsm else budget.ucs2)
