"""What the router needs to know about the directory, and an in-memory one for tests and the REPL.

Two questions only, both answerable by an index at any scale: the chain of places above a village,
and the active contacts of one unit at one place. The gateway answers them from SQL
(`gateway/routing_directory.py`); nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from routing.units import LEVELS


@dataclass(frozen=True)
class PlaceRef:
    lgd_code: int
    level: str  # one of routing.units.LEVELS
    name: str


@dataclass(frozen=True)
class ContactRef:
    name: str
    phone: str  # E.164
    language: str


class Directory(Protocol):
    def chain(self, village_lgd: int) -> Sequence[PlaceRef]:
        """The place and those above it, nearest first (village, gram panchayat if any, block,
        district, state); empty when the code is unknown."""
        ...

    def active_contacts(self, unit: str, place_lgd: int) -> Sequence[ContactRef]:
        """Active contacts of `unit` registered at exactly that place, in a stable order."""
        ...


@dataclass
class _Place:
    ref: PlaceRef
    parent: int | None


class MemoryDirectory:
    """A `Directory` held in dicts; build it with `add_place` / `add_contact`, parents first or not."""

    def __init__(self) -> None:
        self._places: dict[int, _Place] = {}
        self._contacts: dict[tuple[str, int], list[tuple[ContactRef, bool]]] = {}

    def add_place(self, lgd_code: int, level: str, name: str = "", parent: int | None = None) -> MemoryDirectory:
        if level not in LEVELS:
            raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
        self._places[lgd_code] = _Place(PlaceRef(lgd_code, level, name or f"{level} {lgd_code}"), parent)
        return self

    def add_contact(
        self, unit: str, place_lgd: int, name: str, phone: str, language: str = "en", active: bool = True
    ) -> MemoryDirectory:
        self._contacts.setdefault((unit, place_lgd), []).append((ContactRef(name, phone, language), active))
        return self

    def set_active(self, phone: str, active: bool) -> None:
        """Every registration of that phone, as a directory re-import flipping `active` would."""
        for entries in self._contacts.values():
            entries[:] = [(contact, active if contact.phone == phone else flag) for contact, flag in entries]

    def chain(self, village_lgd: int) -> list[PlaceRef]:
        found: list[PlaceRef] = []
        current = self._places.get(village_lgd)
        while current is not None and len(found) <= len(LEVELS):  # a cycle cannot hang a test
            found.append(current.ref)
            current = self._places.get(current.parent) if current.parent is not None else None
        return found

    def active_contacts(self, unit: str, place_lgd: int) -> list[ContactRef]:
        return [contact for contact, active in self._contacts.get((unit, place_lgd), []) if active]
