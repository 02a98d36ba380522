"""What a driver of field traffic needs to know: the demo directory's villages and committee phones,
how many options a USSD screen offers, and which case a screen or an alert names.
"""

from __future__ import annotations

import csv
import re

from gateway.devtools.simulate import Phone
from gateway.record.directory import DEMO_DIR
from routing.concerns import KEYS

REF = re.compile(r"(?<!\d)(\d{9})(?!\d)")  # a case reference, as the "Report sent" screen shows it
ALERT_REF = re.compile(r"ACK (\d{9})")  # the case an alert (or reminder) asks a committee to take up


def demo_villages() -> list[int]:
    with open(DEMO_DIR / "places.csv", encoding="utf-8") as handle:
        return [int(row["lgd_code"]) for row in csv.DictReader(handle) if row["level"] == "village"]


def demo_contacts() -> set[str]:
    with open(DEMO_DIR / "contacts.csv", encoding="utf-8") as handle:
        return {row["phone"] for row in csv.DictReader(handle)}


def options_on(screen: str) -> int:
    """How many choices a menu screen lists, not counting "98 More" and "0 Back"."""
    return len([line for line in screen.splitlines()[1:] if line.split(" ", 1)[0] not in ("98", "0")])


def file_report(phone: Phone, village: int, concern: str, *, urgent: bool, callback: bool) -> str:
    """Walk a dialled phone through a complete English report, paging to the concern as a villager
    would; returns the closing screen."""
    if phone.screen.startswith("CON Language"):
        phone.press("1")
    phone.press("1", "1", str(village))
    index = KEYS.index(concern)
    while index >= options_on(phone.screen):  # page on until the concern is on screen
        index -= options_on(phone.screen)
        phone.press("98")
    phone.press(str(index + 1), "1" if urgent else "2", "1" if callback else "2", "1")
    assert phone.ended, phone.screen
    return phone.screen


def reference_on(screen: str) -> str:
    """The case reference a "Report sent" screen names (any of the menu's languages)."""
    return next(word for word in screen.replace(".", " ").split() if word.isdigit() and len(word) >= 6)
