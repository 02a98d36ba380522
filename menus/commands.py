"""Committee members' SMS commands (CONTRACT): ACK, DONE, ESC, STATUS, HELP, in English, Hindi
(Devanagari and Latin letters), Bengali and Santali (Latin letters, Ol Chiki, Bengali script); case-insensitive, stray spaces and punctuation tolerated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from menus.digits import normalise
from menus.refs import parse_reference

Verb = Literal["ACK", "DONE", "ESC", "STATUS", "HELP", "DUTY"]

KEYWORDS: dict[str, Verb] = {
    # English, and what people type instead
    "ack": "ACK", "accept": "ACK", "ok": "ACK", "okay": "ACK", "yes": "ACK",
    "done": "DONE", "resolved": "DONE", "closed": "DONE", "close": "DONE",
    "esc": "ESC", "escalate": "ESC", "up": "ESC",
    "status": "STATUS", "stat": "STATUS",
    "help": "HELP", "?": "HELP",
    # Hindi in Devanagari
    "स्वीकार": "ACK", "हाँ": "ACK", "हां": "ACK", "ठीक": "ACK",
    "हल": "DONE", "पूरा": "DONE", "समाप्त": "DONE",
    "आगे": "ESC", "ऊपर": "ESC",
    "स्थिति": "STATUS",
    "मदद": "HELP", "सहायता": "HELP",
    # Hindi in Latin letters
    "sweekar": "ACK", "swikar": "ACK", "haan": "ACK", "han": "ACK", "theek": "ACK", "thik": "ACK",
    "hal": "DONE", "poora": "DONE", "pura": "DONE",
    "aage": "ESC", "age": "ESC", "upar": "ESC",
    "sthiti": "STATUS", "stithi": "STATUS",
    "madad": "HELP", "sahayata": "HELP",
    # Bengali
    "গ্রহণ": "ACK", "হ্যাঁ": "ACK", "ঠিক": "ACK",
    "সমাধান": "DONE", "শেষ": "DONE",
    "উপরে": "ESC", "এগিয়ে": "ESC",
    "অবস্থা": "STATUS",
    "সাহায্য": "HELP",
    # Santali, in Latin letters, Ol Chiki and Bengali script (hatao: take up, caba: finished,
    # cetan: up, halot: how it stands, goro: help) — a draft awaiting a native speaker, like the texts
    "hatao": "ACK", "caba": "DONE", "chaba": "DONE", "cetan": "ESC", "chetan": "ESC", "halot": "STATUS",
    "goro": "HELP",
    "ᱦᱟᱛᱟᱣ": "ACK", "ᱪᱟᱵᱟ": "DONE", "ᱪᱮᱛᱟᱱ": "ESC", "ᱦᱟᱞᱚᱫ": "STATUS", "ᱦᱟᱞᱚᱛ": "STATUS", "ᱜᱚᱲᱚ": "HELP",
    "হাতাও": "ACK", "চাবা": "DONE", "চেতান": "ESC", "হালোত": "STATUS", "গোড়ো": "HELP",
}
_WORD = re.compile(r"[\w\u0900-\u097F\u0980-\u09FF\u1C50-\u1C7F?]+", re.UNICODE)
# Messages are compared in NFC, which splits some Bengali letters (ড় is ড + ়): so are the keywords.
KEYWORDS = {unicodedata.normalize("NFC", word): value for word, value in KEYWORDS.items()}


@dataclass(frozen=True)
class Command:
    verb: Verb
    ref: str | None  # canonical reference, None when none was given
    note: str  # what followed the reference (DONE's note, ESC's reason, a duty's details)
    bad_ref: bool = False  # digits were given but are not a valid reference
    duty: str | None = None  # DUTY: the duty key its keyword records (`FIR 123456789 45/2026`)


def parse(text: str, duties: Mapping[str, str] | None = None) -> Command | None:
    """The command in an SMS, or None when it starts with no known keyword.

    `duties` maps the rules' duty keywords (folded: NFC, lower case) to duty keys
    (`routing.duties.Duties.keywords`); they are data, so they come from the caller."""
    cleaned = unicodedata.normalize("NFC", normalise(text))
    matches = list(_WORD.finditer(cleaned))
    if not matches:
        return None
    first = matches[0].group().lower()
    duty = (duties or {}).get(first) if first not in KEYWORDS else None
    verb: Verb | None = "DUTY" if duty else KEYWORDS.get(first)
    if verb is None:
        return None
    rest = matches[1:]
    digits, end = "", matches[0].end()
    while rest and normalise(rest[0].group()).isdigit():  # "ACK 4827 1635" typed with a space
        if verb == "DUTY" and parse_reference(digits):
            break  # "FIR 123456789 45/2026": what follows a whole reference is the duty's details
        digits += normalise(rest[0].group())
        end = rest.pop(0).end()
    ref = parse_reference(digits) if digits else None
    note = cleaned[end:].strip(" \t\r\n:,.-") if rest else ""
    return Command(verb, ref, note[:500], bad_ref=bool(digits) and ref is None, duty=duty)
