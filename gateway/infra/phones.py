"""Phone numbers in E.164, whatever form a directory file or a provider gives them in."""

from __future__ import annotations

import re

import phonenumbers

# Nearly every number the gateway sees is an Indian mobile, already in E.164 or as 10 bare digits.
# `phonenumbers` takes ~20 µs a number (25 s for a national directory); these take well under 1 µs
# and give the same answer. ASCII digits only: other scripts' digits go to `phonenumbers`.
_E164_MOBILE = re.compile(r"\+91[6-9][0-9]{9}")
_BARE_MOBILE = re.compile(r"[6-9][0-9]{9}")


def to_e164(raw: str, region: str = "IN") -> str | None:
    """The number in E.164, or None when it is not a possible number."""
    text = raw.strip()
    if region == "IN":
        if _E164_MOBILE.fullmatch(text):
            return text
        if _BARE_MOBILE.fullmatch(text):
            return "+91" + text
    return _parsed_e164(text, region)


def _parsed_e164(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
