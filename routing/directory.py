"""What the router needs to know about the directory, and an in-memory one for tests and the REPL.

Two questions only, both answerable by an index at any scale: the chain of places above a village,
and the active contacts of one unit at one place. The gateway answers them from SQL
(`gateway/routing_directory.py`); nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from routing.units import LGD_LEVELS, Levels, rank


@dataclass(frozen=True)
class PlaceRef:
    lgd_code: int
    level: str  # an LGD level or a jurisdiction the rules declare (routing.units.Levels)
    name: str


@dataclass(frozen=True)
class ContactRef:
    name: str
    phone: str  # E.164
    language: str


class Directory(Protocol):
    def chain(self, place_lgd: int, level: str = "village") -> Sequence[PlaceRef]:
        """The place (a village or a ward) and those above it, nearest first (village, gram
        panchayat if any, block, district, state), with the jurisdictions (police stations, any
        level the rules declare) that cover any of them, after the places below the block and before
        the block, the one covering the nearest place first; empty when there is no such place."""
        ...

    def active_contacts(self, unit: str, place: PlaceRef) -> Sequence[ContactRef]:
        """Active contacts of `unit` registered at exactly that place, in a stable order."""
        ...


def with_jurisdictions(chain: Sequence[PlaceRef], covering: Sequence[PlaceRef]) -> list[PlaceRef]:
    """The chain with the jurisdictions covering it, sorted by level as routing walks it
    (`routing.units.rank`): every jurisdiction, of whatever declared level, after the places below
    the block and before the block, in the order given (the one covering the nearest place first)."""
    seen = list(dict.fromkeys([*chain, *covering]))
    return sorted(seen, key=lambda place: rank(place.level))


@dataclass
class _Place:
    ref: PlaceRef
    parent: int | None
    parent_level: str | None


class MemoryDirectory:
    """A `Directory` held in dicts; build it with `add_place` / `add_contact`, parents first or not.

    A parent given by code alone is looked up at the levels its child may sit under (as the
    directory import does); a contact given without a level is at whichever place has the code.
    `levels`: the rules' (`Rules.levels`), which say what jurisdictions a place may be.
    """

    def __init__(self, levels: Levels | None = None) -> None:
        self.levels = levels or Levels()
        self._places: dict[tuple[str, int], _Place] = {}
        self._contacts: dict[tuple[str, int], list[tuple[ContactRef, bool, str | None]]] = {}
        self._covers: dict[tuple[str, int], list[tuple[str, int]]] = {}  # covered place → jurisdictions

    def add_coverage(self, level: str, code: int, covers_level: str, covers_code: int) -> MemoryDirectory:
        """The jurisdiction (level, code) — a police station, a labour circle — covers that place
        and all below it."""
        self._covers.setdefault((covers_level, covers_code), []).append((level, code))
        return self

    def add_place(self, lgd_code: int, level: str, name: str = "", parent: int | None = None,
                  parent_level: str | None = None) -> MemoryDirectory:
        if level not in self.levels:
            raise ValueError(f"level {level!r} is not {self.levels.describe()}")
        ref = PlaceRef(lgd_code, level, name or f"{level} {lgd_code}")
        self._places[(level, lgd_code)] = _Place(ref, parent, parent_level)
        return self

    def add_contact(
        self, unit: str, place_lgd: int, name: str, phone: str, language: str = "en", active: bool = True,
        level: str | None = None,
    ) -> MemoryDirectory:
        entry = (ContactRef(name, phone, language), active, level)
        self._contacts.setdefault((unit, place_lgd), []).append(entry)
        return self

    def set_active(self, phone: str, active: bool) -> None:
        """Every registration of that phone, as a directory re-import flipping `active` would."""
        for entries in self._contacts.values():
            entries[:] = [(contact, active if contact.phone == phone else flag, level)
                          for contact, flag, level in entries]

    def chain(self, place_lgd: int, level: str = "village") -> list[PlaceRef]:
        found: list[PlaceRef] = []
        current = self._places.get((level, place_lgd))
        while current is not None and len(found) <= len(LGD_LEVELS):  # a cycle cannot hang a test
            found.append(current.ref)
            current = self._parent(current)
        covering = [self._places[key].ref for place in found for key in self._covers.get((place.level, place.lgd_code), [])
                    if key in self._places]
        return with_jurisdictions(found, covering)

    def _parent(self, place: _Place) -> _Place | None:
        if place.parent is None:
            return None
        levels = (place.parent_level,) if place.parent_level else self.levels.parents[place.ref.level]
        return next((up for level in levels if (up := self._places.get((level, place.parent)))), None)

    def active_contacts(self, unit: str, place: PlaceRef) -> list[ContactRef]:
        entries = self._contacts.get((unit, place.lgd_code), [])
        return [contact for contact, active, level in entries if active and level in (None, place.level)]
