"""The units a report can reach, where each sits in the panchayat chain, and what it is called.

Units are data, not code: the rules file declares every unit (key, name, levels, whether it answers
round the clock, its working hours), and a state may rename or move one (Mission Vatsalya renames
the committees: a state may call its village committee a "CWPC"; some states form them per gram
panchayat instead of per village). See `routing/rules.py`.

A unit's `levels` are the places it may sit at, nearest the village first. Resolution walks the
chain from the village up and takes the first of those places with an active contact, so
`levels: [village, gram_panchayat]` means "the village's own committee, else the panchayat's".

A unit's levels are LGD's or a jurisdiction the rules declare (`jurisdictions:`): a police station
or a labour inspector's circle covers villages, panchayats or blocks that LGD does not group, as a
coverage file says. In a village's chain a covering jurisdiction ranks after the village (and its
gram panchayat or ward, urban local body) and before the block (`rank`), nearest cover first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

# LGD's levels, nearest the child first: the rural chain (village, gram panchayat, block or
# sub-district), the urban one (ward, urban local body), then district and state. LGD numbers each
# level separately, so a place is (level, code) everywhere.
LGD_LEVELS: tuple[str, ...] = (
    "village", "ward", "gram_panchayat", "urban_local_body", "block", "sub_district", "district", "state",
)
# The levels a place's parent may be at, in the order a parent code is looked up when a file does
# not say: a village sits under its gram panchayat, or a block or sub-district where no panchayat
# is known (or, in a small pilot's own file, straight under its district).
LGD_PARENT_LEVELS: Mapping[str, tuple[str, ...]] = {
    "state": (),
    "district": ("state",),
    "sub_district": ("district",),
    "block": ("district",),
    "urban_local_body": ("district",),
    "gram_panchayat": ("block",),
    "village": ("gram_panchayat", "block", "sub_district", "district"),
    "ward": ("urban_local_body",),
}
# Jurisdictions LGD does not describe (a police station, a Child Marriage Prohibition Officer's
# area, a labour inspector's circle) are levels the rules file declares (`jurisdictions:`), each
# with its parent: one of these LGD levels, which lie above where a jurisdiction ranks (below).
JURISDICTION_PARENTS: tuple[str, ...] = ("block", "sub_district", "district", "state")
JURISDICTION_KEY = re.compile(r"^[a-z][a-z0-9_]{1,15}$")  # Place.level holds 16 characters
# Where a child can be: the places a villager reports from (a code typed on USSD or SMS).
REPORTABLE_LEVELS: tuple[str, ...] = ("village", "ward")
# A unit at one of these levels is the top of escalation: one exists for every village.
TOP_LEVELS = frozenset({"district", "state"})
_LGD_RANK = {level: float(index) for index, level in enumerate(LGD_LEVELS)}


def rank(level: str) -> float:
    """Where a level sits in a chain, nearest the child first, for sorting.

    A jurisdiction covers villages, panchayats or whole blocks, and a police station's CWPO is
    nearer a village than the block's committee: every jurisdiction level ranks after the LGD levels
    below the block and before the block. Jurisdictions rank equal among themselves, so a stable
    sort keeps them in the order given (the one covering the nearest place first).
    """
    if level in _LGD_RANK:
        return _LGD_RANK[level]
    return _LGD_RANK["block"] - 0.5


@dataclass(frozen=True)
class Jurisdiction:
    """A level of places the rules declare: the deployment numbers them and draws what each covers
    (`cpgw directory import-coverage`); its places sit under a place of the `parent` level."""

    level: str  # "police_station"
    name: str  # "Police station"
    parent: str  # one of JURISDICTION_PARENTS: a station sits under its district


@dataclass(frozen=True)
class Levels:
    """The levels a deployment's places may have: LGD's, and the jurisdictions its rules declare.

    The directory import, the coverage import and the rules loader ask this, not a list in code.
    """

    jurisdictions: Mapping[str, Jurisdiction] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Every level, nearest the child first (jurisdictions in the order the rules declare them)."""
        return tuple(sorted((*LGD_LEVELS, *self.jurisdictions), key=rank))

    @property
    def parents(self) -> Mapping[str, tuple[str, ...]]:
        """For each level, the levels its parent may be at (LGD_PARENT_LEVELS, and each
        jurisdiction's declared parent)."""
        return {**LGD_PARENT_LEVELS, **{key: (spec.parent,) for key, spec in self.jurisdictions.items()}}

    def __contains__(self, level: object) -> bool:
        return level in LGD_PARENT_LEVELS or level in self.jurisdictions

    def describe(self) -> str:
        """The levels for an error message: LGD's, then the declared jurisdictions."""
        declared = ", ".join(self.jurisdictions) or "none"
        return f"one of {', '.join(LGD_LEVELS)}, or a jurisdiction the routing rules declare ({declared})"


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
