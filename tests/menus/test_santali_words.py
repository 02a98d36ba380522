"""Santali in its three scripts (issue 18): keywords for committee members and villagers in Latin
letters, Ol Chiki and Bengali script; Ol Chiki digits typed like ASCII ones; an Ol Chiki message
answered in Ol Chiki."""

from __future__ import annotations

import pytest

from menus.commands import parse
from menus.digits import as_number, normalise
from menus.keywords import intent, script_language, words
from menus.refs import check_digit

REF = "12345678" + str(check_digit("12345678"))
OL_CHIKI_REF = REF.translate(str.maketrans("0123456789", "᱐᱑᱒᱓᱔᱕᱖᱗᱘᱙"))


@pytest.mark.parametrize(("text", "verb"), [
    (f"hatao {REF}", "ACK"), (f"ᱦᱟᱛᱟᱣ {REF}", "ACK"), (f"হাতাও {REF}", "ACK"),
    (f"caba {REF} gidra orak re", "DONE"), (f"ᱪᱟᱵᱟ {OL_CHIKI_REF}", "DONE"), (f"চাবা {REF}", "DONE"),
    (f"cetan {REF}", "ESC"), (f"ᱪᱮᱛᱟᱱ {REF}", "ESC"), (f"চেতান {REF}", "ESC"),
    (f"halot {REF}", "STATUS"), (f"ᱦᱟᱞᱚᱫ {REF}", "STATUS"), (f"হালোত {REF}", "STATUS"),
    ("goro", "HELP"), ("ᱜᱚᱲᱚ", "HELP"), ("গোড়ো", "HELP"),
])
def test_committee_commands_in_every_santali_script(text, verb):
    command = parse(text)
    assert command is not None and command.verb == verb
    assert command.ref == (REF if verb != "HELP" else None)


@pytest.mark.parametrize(("word", "found"), [
    ("nalis", ("report", "sat_latn")), ("ᱱᱟᱞᱤᱥ", ("report", "sat_olck")), ("নালিস", ("report", "sat_beng")),
    ("bondo", ("stop", "sat_latn")), ("ᱵᱚᱱᱫᱚ", ("stop", "sat_olck")), ("বোন্দো", ("stop", "sat_beng")),
    ("ᱜᱚᱲᱚ", ("help", "sat_olck")), ("ᱦᱟᱞᱚᱫ", ("status", "sat_olck")), ("ᱡᱟᱨᱩᱨ", ("urgent", "sat_olck")),
    ("নালিশ", ("report", "bn")),  # the Bengali word, spelt with শ, stays Bengali
])
def test_villagers_keywords_name_the_script(word, found):
    assert intent(words(word)[0]) == found


def test_ol_chiki_digits_are_digits():
    assert normalise("᱙᱐᱐᱑᱑᱑᱑") == "9001111" and as_number("᱒") == 2
    assert words("ᱱᱟᱞᱤᱥ ᱙᱐᱐᱑᱑᱑᱑ ᱒ ᱡᱟᱨᱩᱨ") == ["ᱱᱟᱞᱤᱥ", "9001111", "2", "ᱡᱟᱨᱩᱨ"]


def test_an_ol_chiki_message_is_answered_in_ol_chiki():
    assert script_language("ᱜᱤᱫᱨᱟ") == "sat_olck" and script_language("বাংলা") == "bn"
