"""Input normalisation: feature phones send digits in the script of their keypad locale."""

from __future__ import annotations

import unicodedata

# Devanagari, Bengali, Ol Chiki and full-width digits all count as digits; unicodedata knows them all.
_TRANSLATE = {
    cp: str(unicodedata.digit(chr(cp)))
    for start in (0x0966, 0x09E6, 0x1C50, 0xFF10)
    for cp in range(start, start + 10)
}


def normalise(raw: str) -> str:
    """ASCII digits for any script, surrounding spaces and stray punctuation at the ends removed."""
    text = unicodedata.normalize("NFKC", raw).translate(_TRANSLATE)
    return text.strip().strip(".,;:!?#-_'\"").strip()


def as_number(raw: str) -> int | None:
    """The choice a villager typed, or None when it is not a plain number."""
    text = normalise(raw).replace(" ", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
