"""What a villager's first SMS asks for, and in which language it is written.

People write in English, Hindi (Devanagari or Latin letters), Bengali or Santali, with stray
punctuation and capitals; the keyword also tells us which language to answer in.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from menus.digits import normalise

Intent = Literal["report", "help", "status", "stop", "urgent", "callback"]

KEYWORDS: dict[str, tuple[Intent, str]] = {
    # English
    "report": ("report", "en"), "complaint": ("report", "en"), "help": ("help", "en"),
    "status": ("status", "en"), "stop": ("stop", "en"), "unsubscribe": ("stop", "en"),
    "urgent": ("urgent", "en"), "emergency": ("urgent", "en"),
    # A one-line report keeps the sender's number only when it says so, in any language.
    "call": ("callback", "en"), "callback": ("callback", "en"), "callme": ("callback", "en"),
    # Hindi in Devanagari
    "शिकायत": ("report", "hi"), "रिपोर्ट": ("report", "hi"), "मदद": ("help", "hi"), "सहायता": ("help", "hi"),
    "स्थिति": ("status", "hi"), "बंद": ("stop", "hi"), "रोकें": ("stop", "hi"), "तुरंत": ("urgent", "hi"),
    "खतरा": ("urgent", "hi"), "कॉल": ("callback", "hi"), "फोन": ("callback", "hi"), "फ़ोन": ("callback", "hi"),
    # Hindi in Latin letters
    "shikayat": ("report", "hi_latn"), "shikayet": ("report", "hi_latn"), "sikayat": ("report", "hi_latn"),
    "madad": ("help", "hi_latn"), "sahayata": ("help", "hi_latn"), "sthiti": ("status", "hi_latn"),
    "stithi": ("status", "hi_latn"), "band": ("stop", "hi_latn"), "roko": ("stop", "hi_latn"),
    "turant": ("urgent", "hi_latn"), "khatra": ("urgent", "hi_latn"), "phone": ("callback", "hi_latn"),
    "fone": ("callback", "hi_latn"),
    # Bengali
    "অভিযোগ": ("report", "bn"), "নালিশ": ("report", "bn"), "রিপোর্ট": ("report", "bn"),
    "সাহায্য": ("help", "bn"), "অবস্থা": ("status", "bn"), "বন্ধ": ("stop", "bn"), "জরুরি": ("urgent", "bn"),
    "ফোন": ("callback", "bn"), "কল": ("callback", "bn"),
    # Santali in Latin letters, Ol Chiki and Bengali script (a draft awaiting a native speaker)
    "nalis": ("report", "sat_latn"), "goro": ("help", "sat_latn"), "halot": ("status", "sat_latn"),
    "bondo": ("stop", "sat_latn"), "jarur": ("urgent", "sat_latn"), "phon": ("callback", "sat_latn"),
    "ᱱᱟᱞᱤᱥ": ("report", "sat_olck"), "ᱜᱚᱲᱚ": ("help", "sat_olck"), "ᱦᱟᱞᱚᱫ": ("status", "sat_olck"),
    "ᱵᱚᱱᱫᱚ": ("stop", "sat_olck"), "ᱡᱟᱨᱩᱨ": ("urgent", "sat_olck"), "ᱯᱷᱚᱱ": ("callback", "sat_olck"),
    "নালিস": ("report", "sat_beng"), "গোড়ো": ("help", "sat_beng"), "হালোত": ("status", "sat_beng"),
    "বোন্দো": ("stop", "sat_beng"), "জারুর": ("urgent", "sat_beng"),
}
_WORD = re.compile(r"[\w\u0900-\u097F\u0980-\u09FF\u1C50-\u1C7F]+", re.UNICODE)
# Messages are compared in NFC, which splits some Bengali letters (ড় is ড + ়): so are the keywords.
KEYWORDS = {unicodedata.normalize("NFC", word): value for word, value in KEYWORDS.items()}


def words(text: str) -> list[str]:
    """The words of a message, digits made ASCII, case folded."""
    cleaned = unicodedata.normalize("NFC", normalise(text))
    return [normalise(word).lower() for word in _WORD.findall(cleaned)]


def intent(word: str) -> tuple[Intent | None, str | None]:
    found = KEYWORDS.get(word.lower())
    return found if found else (None, None)


def script_language(text: str) -> str | None:
    """The language a message's script implies, when it implies one."""
    for ch in text:
        if "\u0900" <= ch <= "\u097f":
            return "hi"
        if "\u0980" <= ch <= "\u09ff":
            return "bn"
        if "\u1c50" <= ch <= "\u1c7f":
            return "sat_olck"
    return None
