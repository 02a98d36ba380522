"""The routing decision: who is alerted at each step, how long each may take, and who is missing.

`route()` turns a rule (units per step) into a `Ladder` (people per step) for one place. The
ladder is a frozen value, copied onto the case as JSON (`to_dict`), so that a later edit of the
rules or the directory does not change a case in flight; the escalation worker reads the copy.

Resolution, per unit: walk the chain from the village up and take the nearest place at one of the
unit's levels that has an active contact. A unit with nobody active is left out of its step and
recorded as a coverage gap; a step left with no unit is skipped. If the ladder then ends without a
unit at district or state level (the DCPU is empty, say), the rules' `fallback` units at the
state place are appended as a last step, so that escalation always has a top. A ladder with no
step at all (`unroutable`) means nobody in the directory can be told: the gateway must raise it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from routing.concerns import BY_KEY
from routing.directory import ContactRef, Directory, PlaceRef
from routing.hours import Hours, deadline, next_opening, on_duty
from routing.lifecycle import IST
from routing.rules import LadderRule, Rules, format_duration
from routing.units import UnitSpec

FORMAT_VERSION = 1


class UnknownPlace(LookupError):
    """The directory has no place with that LGD code."""


class UnknownConcern(ValueError):
    """Not one of the concern keys in routing.concerns."""


@dataclass(frozen=True)
class UnitAt:
    unit: str
    name: str  # as the place's state calls it
    place: PlaceRef  # where the unit was found: not always the village (a panchayat's committee)


@dataclass(frozen=True)
class StepContact:
    unit: str
    name: str
    phone: str
    language: str


@dataclass(frozen=True)
class Step:
    index: int  # position in this ladder (skipped rule steps leave no hole)
    units: tuple[UnitAt, ...]
    contacts: tuple[StepContact, ...]
    ack_within: int  # seconds
    fallback: bool = False  # the rules' state-level fallback, not a step of the rule
    law: str = ""  # the section(s) of law that put these units here
    hours: tuple[str, ...] = ()  # the units' working hours when none answers round the clock; () = always

    @property
    def unit_keys(self) -> tuple[str, ...]:
        return tuple(unit.unit for unit in self.units)

    def working_hours(self) -> tuple[Hours, ...]:
        return tuple(Hours.parse(text) for text in self.hours)


@dataclass(frozen=True)
class Gap:
    """A unit that should have been told and has nobody active: the DCPU's district plan needs these."""

    unit: str
    step: int | None  # the rule's step number (0-based); None for the fallback
    place: PlaceRef | None  # nearest place at one of the unit's levels; None if the chain has none
    village: PlaceRef


@dataclass(frozen=True)
class Ladder:
    concern: str
    urgent: bool
    chain: tuple[PlaceRef, ...]  # the reported place and those above it, nearest first
    steps: tuple[Step, ...]
    repeat_every: int  # seconds between re-alerts of the last step once its ack_within has passed
    gaps: tuple[Gap, ...]
    rule: str  # which rule applied: "default", "state 19", "district 9101"
    night: tuple[StepContact, ...] = ()  # the rules' night cover, alerted with an urgent step whose units are off duty

    @property
    def village(self) -> PlaceRef:
        return self.chain[0]

    @property
    def unroutable(self) -> bool:
        return not self.steps

    def place(self, level: str) -> PlaceRef | None:
        return next((place for place in self.chain if place.level == level), None)

    def contacts_of(self, units: Collection[str]) -> tuple[StepContact, ...]:
        """The contacts of these units on any step, each phone once: who owes a duty, who had the case."""
        found = {c.phone: c for step in self.steps for c in step.contacts if c.unit in units}
        return tuple(found.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION, "concern": self.concern, "urgent": self.urgent, "rule": self.rule,
            "repeat_every": self.repeat_every, "chain": [_place_dict(place) for place in self.chain],
            "steps": [_step_dict(step) for step in self.steps], "gaps": [_gap_dict(gap) for gap in self.gaps],
            "night": [_contact_dict(c) for c in self.night],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ladder:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"ladder format version {data.get('version')!r} is not {FORMAT_VERSION}")
        return cls(
            concern=data["concern"], urgent=bool(data["urgent"]), rule=data["rule"],
            repeat_every=int(data["repeat_every"]), chain=tuple(_place(item) for item in data["chain"]),
            steps=tuple(_step(item) for item in data["steps"]), gaps=tuple(_gap(item) for item in data["gaps"]),
            night=tuple(_contact(c) for c in data.get("night", ())),
        )


def route(place: int, concern: str, urgent: bool, directory: Directory, rules: Rules, *,
          level: str = "village") -> Ladder:
    """The ladder a report about `place` (a village's LGD code, or a ward's) takes under `rules`."""
    if concern not in BY_KEY:
        raise UnknownConcern(f"unknown concern {concern!r}")
    resolver = _Resolver(place, directory, rules, level)
    state, district = resolver.code("state"), resolver.code("district")
    rule, origin = rules.ladder(concern, urgent, state_lgd=state, district_lgd=district)
    steps, gaps = resolver.steps(rule)
    repeat_every = rule.repeat_every
    if not steps or not any(resolver.spec(unit.unit).is_top for unit in steps[-1].units):
        fallback, fallback_gaps = resolver.fallback(len(steps))
        gaps += fallback_gaps
        if fallback is not None:
            steps.append(fallback)
            repeat_every = rules.fallback.repeat_every
    return Ladder(concern, urgent, tuple(resolver.chain), tuple(steps), repeat_every, tuple(gaps), origin,
                  resolver.night())


def coverage(place: int, directory: Directory, rules: Rules, *, level: str = "village") -> tuple[Gap, ...]:
    """Every unit any rule for this place could need and that has nobody active, each once.

    One lookup per unit, not one route per concern: `cpgw routing gaps` runs it for every village
    of a district.
    """
    resolver = _Resolver(place, directory, rules, level)
    state, district = resolver.code("state"), resolver.code("district")
    units: dict[str, None] = {}
    for concern in BY_KEY:
        for urgent in (True, False):
            rule, _ = rules.ladder(concern, urgent, state_lgd=state, district_lgd=district)
            units.update(dict.fromkeys(unit for step in rule.steps for unit in step.units))
    return tuple(gap for unit in units if (gap := resolver.gap(unit, None)) is not None)


class _Resolver:
    """One place's chain and the units found on it, each looked up once per decision."""

    def __init__(self, place: int, directory: Directory, rules: Rules, level: str) -> None:
        self.chain = list(directory.chain(place, level))
        if not self.chain:
            raise UnknownPlace(f"no {level} with LGD code {place}")
        self.directory, self.rules = directory, rules
        self.specs = rules.units.specs(self.code("state"))
        self._found: dict[str, tuple[UnitAt, list[ContactRef]] | None] = {}

    def code(self, level: str) -> int | None:
        return next((place.lgd_code for place in self.chain if place.level == level), None)

    def spec(self, unit: str) -> UnitSpec:
        return self.specs[unit]

    def find(self, unit: str) -> tuple[UnitAt, list[ContactRef]] | None:
        if unit not in self._found:
            spec = self.specs[unit]
            self._found[unit] = next(
                (
                    (UnitAt(unit, spec.name, place), contacts)
                    for place in self.chain
                    if place.level in spec.levels
                    and (contacts := list(self.directory.active_contacts(unit, place)))
                ),
                None,
            )
        return self._found[unit]

    def hours(self, units: Sequence[UnitAt]) -> tuple[str, ...]:
        """The step's working hours: none when any unit answers round the clock or keeps no hours."""
        specs = [self.specs[at.unit] for at in units]
        if any(spec.round_the_clock or spec.hours is None for spec in specs):
            return ()
        return tuple(dict.fromkeys(spec.hours for spec in specs if spec.hours))

    def night(self) -> tuple[StepContact, ...]:
        """The rules' night cover found on this chain: alerted with an urgent step that is off duty."""
        found = [(unit, hit[1]) for unit in self.rules.night_cover if (hit := self.find(unit)) is not None]
        return _contacts(found)

    def gap(self, unit: str, step: int | None) -> Gap | None:
        if self.find(unit) is not None:
            return None
        levels = self.specs[unit].levels
        expected = next((place for place in self.chain if place.level in levels), None)
        return Gap(unit, step, expected, self.chain[0])

    def steps(self, rule: LadderRule) -> tuple[list[Step], tuple[Gap, ...]]:
        steps: list[Step] = []
        gaps: list[Gap] = []
        for number, step_rule in enumerate(rule.steps):
            found = [(unit, hit) for unit in step_rule.units if (hit := self.find(unit)) is not None]
            gaps += [gap for unit in step_rule.units if (gap := self.gap(unit, number)) is not None]
            if found:
                units = tuple(at for _, (at, _) in found)
                contacts = _contacts((at.unit, contacts) for _, (at, contacts) in found)
                steps.append(Step(len(steps), units, contacts, step_rule.ack_within, law=step_rule.law,
                                  hours=self.hours(units)))
        return steps, tuple(gaps)

    def fallback(self, index: int) -> tuple[Step | None, tuple[Gap, ...]]:
        """The fallback units at the state place, or gaps saying that nobody is there either."""
        state = next((place for place in self.chain if place.level == "state"), None)
        found: list[tuple[UnitAt, list[ContactRef]]] = []
        gaps: list[Gap] = []
        for unit in self.rules.fallback.units:
            contacts = list(self.directory.active_contacts(unit, state)) if state else []
            if contacts and state is not None:
                found.append((UnitAt(unit, self.specs[unit].name, state), contacts))
            else:
                gaps.append(Gap(unit, None, state, self.chain[0]))
        if not found:
            return None, tuple(gaps)
        contacts = _contacts((at.unit, people) for at, people in found)
        units = tuple(at for at, _ in found)
        step = Step(index, units, contacts, self.rules.fallback.ack_within, fallback=True, hours=self.hours(units))
        return step, tuple(gaps)


def _contacts(groups: Iterable[tuple[str, Sequence[ContactRef]]]) -> tuple[StepContact, ...]:
    """Contacts of a step, one alert per phone: a DCPO who also sits on the CWC gets one SMS."""
    seen: set[str] = set()
    result: list[StepContact] = []
    for unit, contacts in groups:
        for contact in contacts:
            if contact.phone not in seen:
                seen.add(contact.phone)
                result.append(StepContact(unit, contact.name, contact.phone, contact.language))
    return tuple(result)


def explain(ladder: Ladder, at: datetime | None = None, days_off: Collection[date] = ()) -> list[str]:
    """The ladder in words for `cpgw routing explain`: names, never phone numbers; with `at`, who
    is on duty then and the night cover an urgent report adds."""
    village = ladder.village
    urgency = "urgent" if ladder.urgent else "not urgent"
    lines = [f"{ladder.concern} ({urgency}) at {village.name} ({village.level} {village.lgd_code}), rule: {ladder.rule}"]
    for step in ladder.steps:
        lines += _explain_step(ladder, step, at, days_off)
    if ladder.steps:
        lines.append(f"then repeat the last step every {format_duration(ladder.repeat_every)} until acknowledged")
    else:
        lines.append("NOBODY CAN BE TOLD: no active contact on this chain nor at the state fallback")
    for gap in ladder.gaps:
        place = gap.place
        where = f"{place.name} ({place.level} {place.lgd_code})" if place else "no such place in the chain"
        lines.append(f"gap: no active {gap.unit} contact at {where}")
    return lines


def _explain_step(ladder: Ladder, step: Step, at: datetime | None, days_off: Collection[date]) -> list[str]:
    title = "fallback" if step.fallback else f"step {step.index + 1}"
    units = ", ".join(f"{at_.name} ({at_.unit}) at {at_.place.name} ({at_.place.level})" for at_ in step.units)
    lines = [f"{title}: {units}; acknowledge within {format_duration(step.ack_within)}"]
    if step.law:
        lines.append(f"    why: {step.law}")
    if step.hours:
        lines.append(f"    hours: {'; '.join(step.hours)}")
    lines += [f"    {contact.unit}: {contact.name}" for contact in step.contacts]
    if at is not None and not on_duty(at, step.working_hours(), days_off):
        # The deadline as the referral loop sets it: calendar time, moved to the next opening when it
        # would run out while the step's units are off duty.
        due = deadline(at, step.ack_within, step.working_hours(), days_off)
        lines.append(f"    OFF DUTY at {_local(at)}: if alerted then, its deadline runs out {_local(due)}, "
                     "not while it is closed")
        if ladder.urgent and ladder.night:
            lines.append("    night cover alerted at once: " + ", ".join(f"{c.unit}: {c.name}" for c in ladder.night))
        elif not ladder.urgent and step.index == 0:
            opens = next_opening(at, step.working_hours(), days_off)
            lines.append(f"    not urgent: waits for the office to open ({_local(opens) if opens else '—'}); the "
                         "reporter is told so, with the helplines to call if the child is in danger now")
    return lines


def _local(at: datetime) -> str:
    return at.astimezone(IST).strftime("%a %d %b %H:%M")


def _place_dict(place: PlaceRef) -> dict[str, Any]:
    return {"lgd_code": place.lgd_code, "level": place.level, "name": place.name}


def _place(data: dict[str, Any]) -> PlaceRef:
    return PlaceRef(int(data["lgd_code"]), data["level"], data["name"])


def _step_dict(step: Step) -> dict[str, Any]:
    # `units` is the list of unit keys: the API shows it as the case's current step.
    return {
        "index": step.index, "units": list(step.unit_keys), "ack_within": step.ack_within, "fallback": step.fallback,
        "at": [{"unit": at.unit, "name": at.name, "place": _place_dict(at.place)} for at in step.units],
        "contacts": [_contact_dict(c) for c in step.contacts], "law": step.law, "hours": list(step.hours),
    }


def _contact_dict(contact: StepContact) -> dict[str, Any]:
    return {"unit": contact.unit, "name": contact.name, "phone": contact.phone, "language": contact.language}


def _contact(data: dict[str, Any]) -> StepContact:
    return StepContact(data["unit"], data["name"], data["phone"], data["language"])


def _step(data: dict[str, Any]) -> Step:
    """A step as stored on a case; `law` and `hours` are absent from cases routed before issue 16."""
    units = tuple(UnitAt(item["unit"], item["name"], _place(item["place"])) for item in data["at"])
    contacts = tuple(_contact(c) for c in data["contacts"])
    return Step(int(data["index"]), units, contacts, int(data["ack_within"]), bool(data.get("fallback", False)),
                data.get("law", ""), tuple(data.get("hours", ())))


def _gap_dict(gap: Gap) -> dict[str, Any]:
    return {
        "unit": gap.unit, "step": gap.step, "village": _place_dict(gap.village),
        "place": _place_dict(gap.place) if gap.place else None,
    }


def _gap(data: dict[str, Any]) -> Gap:
    place = _place(data["place"]) if data.get("place") else None
    return Gap(data["unit"], data["step"], place, _place(data["village"]))
