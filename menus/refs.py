"""Case references: digits only, with a Damm check digit.

The Damm algorithm catches every single-digit error and every swap of two adjacent digits, the
two mistakes people make when reading a number off a paper slip into a keypad. A mistyped
reference is refused instead of pointing at another child's case.
"""

from __future__ import annotations

import secrets

from menus.digits import normalise

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
MIN_LENGTH, MAX_LENGTH = 6, 10
# Eight random digits and a check digit: 90 million references, short enough to type on a keypad.
BODY_LENGTH = 8


def check_digit(body: str) -> str:
    interim = 0
    for ch in body:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def new_reference() -> str:
    body = str(secrets.randbelow(9 * 10 ** (BODY_LENGTH - 1)) + 10 ** (BODY_LENGTH - 1))
    return body + check_digit(body)


def parse_reference(raw: str) -> str | None:
    """The reference in canonical form, or None when it is malformed or its check digit is wrong."""
    text = "".join(normalise(raw).split())
    if not (text.isascii() and text.isdigit() and MIN_LENGTH <= len(text) <= MAX_LENGTH):
        return None
    return text if check_digit(text) == "0" else None
