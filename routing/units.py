"""The units a report can reach, where each sits in the panchayat chain, and what it is called.

Units are data, not code: the rules file declares every unit (key, name, levels, whether it answers
round the clock, its working hours), and a state may rename or move one (Mission Vatsalya renames
the committees: a state may call its village committee a "CWPC"; some states form them per gram
panchayat instead of per village). See `routing/rules.py`.

A unit's `levels` are the places it may sit at, nearest the village first. Resolution walks the
chain from the village up and takes the first of those places with an active contact, so
`levels: [village, gram_panchayat]` means "the village's own committee, else the panchayat's".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

# LGD's levels, nearest the child first: the rural chain (village, gram panchayat, block or
# sub-district), the urban one (ward, urban local body), then district and state. LGD numbers each
# level separately, so a place is (level, code) everywhere.
LEVELS: tuple[str, ...] = (
    "village", "ward", "gram_panchayat", "urban_local_body", "police_station", "block", "sub_district",
    "district", "state",
)
# Jurisdictions LGD does not describe: a police station (its Child Welfare Police Officer) covers
# villages, panchayats or blocks that a coverage file names (`cpgw directory import-coverage`); its
# code is the deployment's own, its parent a district.
JURISDICTION_LEVELS: tuple[str, ...] = ("police_station",)
# The levels a place's parent may be at, in the order a parent code is looked up when a file does
# not say: a village sits under its gram panchayat, or a block or sub-district where no panchayat
# is known (or, in a small pilot's own file, straight under its district).
PARENT_LEVELS: Mapping[str, tuple[str, ...]] = {
    "state": (),
    "district": ("state",),
    "sub_district": ("district",),
    "block": ("district",),
    "urban_local_body": ("district",),
    "gram_panchayat": ("block",),
    "village": ("gram_panchayat", "block", "sub_district", "district"),
    "ward": ("urban_local_body",),
    "police_station": ("district",),
}
# Where a child can be: the places a villager reports from (a code typed on USSD or SMS).
REPORTABLE_LEVELS: tuple[str, ...] = ("village", "ward")
# A unit at one of these levels is the top of escalation: one exists for every village.
TOP_LEVELS = frozenset({"district", "state"})

HOURS = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])-"
                   r"([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True)
class UnitSpec:
    """A unit as the rules file declares it: the code keeps no list of units (issue 16)."""

    key: str  # the code used in the directory, the rules and SMS commands; never renamed
    name: str  # what people in that state call it
    levels: tuple[str, ...]
    round_the_clock: bool = False  # answers at night and on holidays (1098, police, a control room)
    hours: str | None = None  # "Mon-Sat 10:00-17:30": when the unit works, if not round the clock
    police: bool = False  # police (SJPU, a station's CWPO): what POCSO s.19 and an FIR need at step 1

    @property
    def is_top(self) -> bool:
        return any(level in TOP_LEVELS for level in self.levels)


def override(spec: UnitSpec, *, name: str | None = None, levels: tuple[str, ...] | None = None) -> UnitSpec:
    """A spec with what the rules file changes; what it leaves out stays as it was."""
    return replace(spec, name=name or spec.name, levels=levels or spec.levels)


@dataclass(frozen=True)
class UnitTable:
    """Unit specs for every state, with per-state exceptions (keyed by the state's LGD code)."""

    default: Mapping[str, UnitSpec]
    states: Mapping[int, Mapping[str, UnitSpec]] = field(default_factory=dict)

    def specs(self, state_lgd: int | None = None) -> Mapping[str, UnitSpec]:
        if state_lgd is not None and state_lgd in self.states:
            return self.states[state_lgd]
        return self.default

    def spec(self, unit: str, state_lgd: int | None = None) -> UnitSpec:
        return self.specs(state_lgd)[unit]

    def name(self, unit: str, state_lgd: int | None = None) -> str:
        return self.spec(unit, state_lgd).name

    def keys(self) -> tuple[str, ...]:
        """Every unit the rules declare, in the file's order."""
        return tuple(self.default)

    def variants(self) -> Iterator[tuple[int | None, Mapping[str, UnitSpec]]]:
        """Every distinct table: `(None, default)` then `(state, its table)` for each exception."""
        yield None, self.default
        yield from self.states.items()
