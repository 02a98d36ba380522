"""Phone numbers in E.164, whatever form a directory file or a provider gives them in."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str, region: str = "IN") -> str | None:
    """The number in E.164, or None when it is not a possible number."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
