"""Routing rules as data: load the YAML file, refuse it whole if anything is wrong, name the line.

The file is composed (`yaml.compose`), not just loaded, so every node keeps its line and a mistake
in a 200-line rules file points at the line to fix. Every problem is collected before raising, as
the directory import does, so a deployer fixes the file in one pass.

Shape (the shipped `routing/rules.yaml` is the worked example)::

    version: 1
    jurisdictions:               # optional: places LGD does not describe; the deployment numbers them
      police_station: {name: Police station, parent: district}
    units:                       # every unit a rule, a contact or an SMS command may name
      VCPC: {name: Village Child Protection Committee, levels: [village, ward], hours: "Mon-Sat 10:00-17:30"}
      CHILDLINE: {name: Child helpline 1098, levels: [district, state], round_the_clock: true}
    fallback:                    # when the ladder has no top left: looked up at the state place
      units: [CHILDLINE, DCPU]
      ack_within: 30m
      repeat_every: 1h
    rules:                       # every concern, for urgent and not_urgent reports (or `any`)
      neglect_dropout:
        not_urgent:
          - {units: [VCPC], ack_within: 24h}
          - {units: [BCPC], ack_within: 48h}
          - {units: [DCPU], ack_within: 72h, repeat_every: 12h}
        urgent: ...
    states:                      # optional, by state LGD code: units and/or some rules replaced
      19: {units: {VCPC: {name: CWPC}}, rules: {child_marriage: {...}}}
    districts:                   # optional, by district LGD code: some rules replaced
      9101: {rules: {...}}

A unit a rule names must be declared under `units:`; the code keeps no list of its own. A unit's
`levels` are LGD levels or jurisdictions declared under `jurisdictions:` (each with the LGD level its
places sit under: block, sub_district, district or state); the directory and coverage imports
accept places of the declared levels only (`Rules.levels`), and routing ranks every jurisdiction
after the places below the block and before the block (`routing.units.rank`).
Refused as "a rule that can leave a report with nobody to tell": an empty ladder or step, a last
step without `repeat_every` (an unacknowledged report would go quiet), a last step with no unit
that sits at district or state level in some state (escalation would have no top), a concern the
law sends to the police (`Concern.police`) without SJPU at step 1, and a missing `fallback`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from routing.concerns import BY_KEY, KEYS
from routing.duties import Duties, parse_duties
from routing.units import (
    HOURS,
    JURISDICTION_KEY,
    JURISDICTION_PARENTS,
    LGD_LEVELS,
    Jurisdiction,
    Levels,
    UnitSpec,
    UnitTable,
    override,
    rank,
)

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")
DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
URGENCIES = {"urgent": (True,), "not_urgent": (False,), "any": (True, False)}
MAX_REPORTED = 30

Key = tuple[str, bool]  # (concern, urgent)


class RulesError(ValueError):
    """A rules file that cannot be used; `problems` lists `file line N: reason`."""

    def __init__(self, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_REPORTED])
        more = len(problems) - len(shown)
        super().__init__("\n".join(shown + ([f"… and {more} more"] if more else [])))
        self.problems = list(problems)


@dataclass(frozen=True)
class StepRule:
    units: tuple[str, ...]  # alerted together
    ack_within: int  # seconds
    line: int = 0
    law: str = ""  # the section(s) of law that put these units here, shown by `routing explain`


@dataclass(frozen=True)
class LadderRule:
    steps: tuple[StepRule, ...]
    repeat_every: int  # seconds between re-alerts of the last step once its ack_within has passed
    line: int = 0


@dataclass(frozen=True)
class Fallback:
    """Who hears when a ladder resolves to no top at all: these units at the state place."""

    units: tuple[str, ...]
    ack_within: int
    repeat_every: int


@dataclass(frozen=True)
class Rules:
    ladders: Mapping[Key, LadderRule]
    fallback: Fallback
    units: UnitTable
    states: Mapping[int, Mapping[Key, LadderRule]]
    districts: Mapping[int, Mapping[Key, LadderRule]]
    source: str = "rules.yaml"
    night_cover: tuple[str, ...] = ()  # round-the-clock units an urgent step adds while its own are off duty
    holidays: Mapping[int, frozenset[date]] = field(default_factory=dict)  # by state LGD code
    duties: Duties = field(default_factory=lambda: Duties({}))  # what the law asks after an acknowledgement
    levels: Levels = field(default_factory=Levels)  # LGD's and the jurisdictions the file declares

    def days_off(self, state_lgd: int | None) -> frozenset[date]:
        return self.holidays.get(state_lgd or 0, frozenset())

    def ladder(
        self, concern: str, urgent: bool, *, state_lgd: int | None = None, district_lgd: int | None = None
    ) -> tuple[LadderRule, str]:
        """The rule that applies and where it came from: the district's, else the state's, else the default."""
        key = (concern, urgent)
        if key not in self.ladders:
            raise KeyError(f"unknown concern {concern!r}")
        if district_lgd is not None and key in self.districts.get(district_lgd, {}):
            return self.districts[district_lgd][key], f"district {district_lgd}"
        if state_lgd is not None and key in self.states.get(state_lgd, {}):
            return self.states[state_lgd][key], f"state {state_lgd}"
        return self.ladders[key], "default"


def parse_duration(text: str) -> int | None:
    """Seconds in `30m`, `24h`, `2d`…, or None: one format everywhere, so one edit shortens them all."""
    match = DURATION.match(text.strip())
    return int(match.group(1)) * SECONDS[match.group(2)] if match else None


def format_duration(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % SECONDS[unit] == 0 and seconds >= SECONDS[unit]:
            return f"{seconds // SECONDS[unit]}{unit}"
    return f"{seconds}s"


def load_rules(path: Path | str | None = None) -> Rules:
    """The rules at `path` (CPGW_ROUTING_RULES), or the shipped default; raises `RulesError`."""
    path = Path(path) if path else DEFAULT_RULES
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError([f"{path}: cannot read ({exc})"]) from exc
    return parse_rules(text, path.name)


def parse_rules(text: str, name: str = "rules.yaml") -> Rules:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise RulesError([f"{name} line {line}: not valid YAML ({exc.problem or exc.context})"]) from exc
    parser = _Parser(name)
    rules = parser.document(root)
    if parser.problems or rules is None:
        raise RulesError(parser.problems or [f"{name} line 1: no rules"])
    _check_tops(parser, rules)
    _check_police(parser, rules)
    if parser.problems:
        raise RulesError(parser.problems)
    return rules


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _Parser:
    """Walks the composed node tree; every `problem` carries the line of the node at fault."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        self.declared: tuple[str, ...] = ()  # the units the file declares, once read
        self.places = Levels()  # the levels a unit may sit at: LGD's and the declared jurisdictions

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(f"{self.name} line {_line(node)}: {message}")

    # -- shapes ---------------------------------------------------------------------------------

    def mapping(
        self, node: Node, what: str, allowed: Sequence[str] | None = None, required: Sequence[str] = ()
    ) -> dict[str, tuple[Node, Node]] | None:
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping (key: value)")
            return None
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, f"{what}: a key must be a plain word")
            elif key_node.value in entries:
                first = _line(entries[key_node.value][0])
                self.problem(key_node, f"{what}: {key_node.value!r} appears twice (first on line {first})")
            elif allowed is not None and key_node.value not in allowed:
                self.problem(key_node, f"{what}: unknown key {key_node.value!r} (expected one of {', '.join(allowed)})")
            else:
                entries[key_node.value] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.problem(node, f"{what}: missing {key!r}")
        return entries

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list")
            return None
        return list(node.value)

    def scalar(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or not node.value.strip():
            self.problem(node, f"{what} must be a single value")
            return None
        return str(node.value).strip()

    def duration(self, node: Node, what: str) -> int | None:
        text = self.scalar(node, what)
        seconds = parse_duration(text) if text is not None else None
        if text is not None and seconds is None:
            self.problem(node, f"{what}: {text!r} is not a duration like 30s, 15m, 24h or 2d")
        return seconds

    def code(self, node: Node, what: str) -> int | None:
        text = self.scalar(node, what)
        if text is not None and not (text.isdigit() and 0 < int(text) < 10**12):
            self.problem(node, f"{what}: {text!r} is not an LGD code")
            return None
        return int(text) if text is not None else None

    def units(self, node: Node, what: str) -> tuple[str, ...] | None:
        items = self.sequence(node, what)
        if items is None:
            return None
        if not items:
            self.problem(node, f"{what} lists no units: nobody would be told")
            return None
        found: list[str] = []
        for item in items:
            unit = self.scalar(item, what)
            if unit is None:
                return None
            if unit not in self.declared:
                if self.declared:  # with no units: section at all, that one problem is reported once
                    self.problem(item, f"unit {unit!r} is not declared under units: ({', '.join(self.declared)})")
                return None
            if unit in found:
                self.problem(item, f"{what}: {unit} is listed twice")
                return None
            found.append(unit)
        return tuple(found)

    # -- ladders --------------------------------------------------------------------------------

    def step(self, node: Node, what: str, last: bool) -> tuple[StepRule, int | None] | None:
        entries = self.mapping(node, what, ("units", "ack_within", "repeat_every", "law"), ("units", "ack_within"))
        if entries is None:
            return None
        units = self.units(entries["units"][1], f"{what} units") if "units" in entries else None
        ack = self.duration(entries["ack_within"][1], f"{what} ack_within") if "ack_within" in entries else None
        repeat = None
        if "repeat_every" in entries:
            if not last:
                self.problem(entries["repeat_every"][0], f"{what}: only the last step repeats (move repeat_every)")
            else:
                repeat = self.duration(entries["repeat_every"][1], f"{what} repeat_every")
        elif last:
            self.problem(node, f"{what} is the last step and needs repeat_every, or an unanswered report goes quiet")
        law = self.scalar(entries["law"][1], f"{what} law") if "law" in entries else ""
        if units is None or ack is None:
            return None
        return StepRule(units, ack, _line(node), law or ""), repeat

    def ladder(self, node: Node, what: str) -> LadderRule | None:
        items = self.sequence(node, what)
        if items is None:
            return None
        if not items:
            self.problem(node, f"{what} has no steps: nobody would be told")
            return None
        parsed = [self.step(item, f"{what} step {n + 1}", last=n == len(items) - 1) for n, item in enumerate(items)]
        repeat = parsed[-1][1] if parsed[-1] else None
        if repeat is None or any(step is None for step in parsed):
            return None  # the problems are recorded; every step was still checked
        return LadderRule(tuple(step[0] for step in parsed if step), repeat, _line(node))

    def concern_rules(self, node: Node, what: str, complete: bool) -> dict[Key, LadderRule]:
        entries = self.mapping(node, what)
        if entries is None:
            return {}
        found: dict[Key, LadderRule] = {}
        for concern, (key_node, value_node) in entries.items():
            if concern not in BY_KEY:
                self.problem(key_node, f"unknown concern {concern!r} (expected one of {', '.join(KEYS)})")
                continue
            found.update(self.urgencies(value_node, concern, complete))
        if complete:
            for concern in KEYS:
                if concern not in entries:
                    self.problem(node, f"{what}: no rule for concern {concern!r}")
        return found

    def urgencies(self, node: Node, concern: str, complete: bool) -> dict[Key, LadderRule]:
        entries = self.mapping(node, concern, tuple(URGENCIES))
        if entries is None:
            return {}
        if "any" in entries and len(entries) > 1:
            self.problem(node, f"{concern}: 'any' already covers urgent and not_urgent; give either 'any' or those two")
            return {}
        found: dict[Key, LadderRule] = {}
        for word, (_, value_node) in entries.items():
            ladder = self.ladder(value_node, f"{concern} ({word})")
            if ladder is not None:
                found.update({(concern, urgent): ladder for urgent in URGENCIES[word]})
        if complete and "any" not in entries:
            for word in ("urgent", "not_urgent"):
                if word not in entries:
                    self.problem(node, f"{concern}: no rule for {word.replace('_', ' ')} reports")
        return found

    # -- units, fallback, overrides -------------------------------------------------------------

    def declarations(self, node: Node) -> dict[str, UnitSpec]:
        """The `units:` section: every unit a rule, a contact or a command may name."""
        specs: dict[str, UnitSpec] = {}
        for unit, (key_node, value_node) in (self.mapping(node, "units") or {}).items():
            if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,15}", unit):
                self.problem(key_node, f"units: {unit!r} is not a unit key (capital letters, digits, _; up to 16)")
                continue
            spec = self.unit_fields(value_node, unit, None)
            if spec is not None:
                specs[unit] = spec
        if not specs:
            self.problem(node, "units: no unit is declared")
        self.declared = tuple(specs)
        return specs

    def unit_specs(self, node: Node, what: str, base: Mapping[str, UnitSpec]) -> dict[str, UnitSpec]:
        """A state's changes to declared units (name, levels, hours): it cannot add units."""
        specs = dict(base)
        for unit, (key_node, value_node) in (self.mapping(node, what) or {}).items():
            if unit not in base:
                self.problem(key_node, f"unit {unit!r} is not declared under units: (declared: {', '.join(base)})")
                continue
            spec = self.unit_fields(value_node, f"{what} {unit}", base[unit])
            if spec is not None:
                specs[unit] = spec
        return specs

    def unit_fields(self, node: Node, what: str, base: UnitSpec | None) -> UnitSpec | None:
        keys = ("name", "levels", "round_the_clock", "hours", "police")
        fields = self.mapping(node, what, keys, () if base else ("name", "levels"))
        if fields is None or (base is None and not {"name", "levels"} <= set(fields)):
            return None
        name = self.scalar(fields["name"][1], f"{what} name") if "name" in fields else None
        levels = self.levels(fields["levels"][1], f"{what} levels") if "levels" in fields else None
        night = self.flag(fields["round_the_clock"][1], f"{what} round_the_clock") if "round_the_clock" in fields else None
        hours = self.hours(fields["hours"][1], f"{what} hours") if "hours" in fields else None
        police = self.flag(fields["police"][1], f"{what} police") if "police" in fields else None
        if base is None:
            if name is None or levels is None:
                return None
            base = UnitSpec(what, name, levels)
        return replace(override(base, name=name, levels=levels), hours=hours or base.hours,
                       round_the_clock=base.round_the_clock if night is None else night,
                       police=base.police if police is None else police)

    def flag(self, node: Node, what: str) -> bool | None:
        text = self.scalar(node, what)
        if text is not None and text.lower() not in ("true", "false"):
            self.problem(node, f"{what}: {text!r} is not true or false")
            return None
        return text.lower() == "true" if text is not None else None

    def hours(self, node: Node, what: str) -> str | None:
        text = self.scalar(node, what)
        if text is not None and not HOURS.match(text):
            self.problem(node, f"{what}: {text!r} is not working hours like \"Mon-Sat 10:00-17:30\"")
            return None
        return text

    def levels(self, node: Node, what: str) -> tuple[str, ...] | None:
        items = self.sequence(node, what)
        if items is None:
            return None
        if not items:
            self.problem(node, f"{what} is empty: the unit could never be found")
            return None
        levels: list[str] = []
        for item in items:
            level = self.scalar(item, what)
            if level is not None and level not in self.places:
                self.problem(item, f"{what}: {level!r} is neither an LGD level ({', '.join(LGD_LEVELS)}) nor a "
                                   f"jurisdiction declared under jurisdictions: "
                                   f"({', '.join(self.places.jurisdictions) or 'none declared'})")
            elif level is not None:
                levels.append(level)
        # Nearest the village first; jurisdictions rank together, so they keep the file's order.
        return tuple(sorted(dict.fromkeys(levels), key=rank)) if len(levels) == len(items) else None

    def jurisdictions(self, node: Node) -> Levels:
        """The `jurisdictions:` section: levels of places LGD does not describe (a police station),
        each numbered by the deployment and sitting under an LGD place (its district)."""
        found: dict[str, Jurisdiction] = {}
        for level, (key_node, value_node) in (self.mapping(node, "jurisdictions") or {}).items():
            if level in LGD_LEVELS:
                self.problem(key_node, f"jurisdictions: {level!r} is an LGD level already")
                continue
            if not JURISDICTION_KEY.match(level):
                self.problem(key_node, f"jurisdictions: {level!r} is not a level key (small letters, digits, _; "
                                       "up to 16)")
                continue
            fields = self.mapping(value_node, f"jurisdictions {level}", ("name", "parent"), ("name", "parent"))
            if fields is None or len(fields) < 2:
                continue
            name = self.scalar(fields["name"][1], f"jurisdictions {level} name")
            parent = self.scalar(fields["parent"][1], f"jurisdictions {level} parent")
            if parent is not None and parent not in JURISDICTION_PARENTS:
                self.problem(fields["parent"][1], f"jurisdictions {level} parent: {parent!r} is not one of "
                                                  f"{', '.join(JURISDICTION_PARENTS)}")
                continue
            if name is not None and parent is not None:
                found[level] = Jurisdiction(level, name, parent)
        return Levels(found)

    def fallback(self, node: Node) -> Fallback | None:
        keys = ("units", "ack_within", "repeat_every")
        entries = self.mapping(node, "fallback", keys, keys)
        if entries is None or len(entries) < 3:
            return None
        units = self.units(entries["units"][1], "fallback units")
        ack = self.duration(entries["ack_within"][1], "fallback ack_within")
        repeat = self.duration(entries["repeat_every"][1], "fallback repeat_every")
        return Fallback(units, ack, repeat) if units and ack and repeat else None

    def night_cover(self, node: Node, specs: Mapping[str, UnitSpec]) -> tuple[str, ...]:
        units = self.units(node, "night_cover") or ()
        for item, unit in zip(node.value, units, strict=False):
            if not specs[unit].round_the_clock:
                self.problem(item, f"night_cover: {unit} is not declared round_the_clock: true")
        return units

    def holidays(self, node: Node) -> dict[int, frozenset[date]]:
        found: dict[int, frozenset[date]] = {}
        for _, (key_node, value_node) in (self.mapping(node, "holidays") or {}).items():
            code = self.code(key_node, "holidays")
            days: set[date] = set()
            for item in self.sequence(value_node, f"holidays {code}") or []:
                text = self.scalar(item, f"holidays {code}")
                try:
                    days.add(date.fromisoformat(text or ""))
                except ValueError:
                    self.problem(item, f"holidays {code}: {text!r} is not a date like 2026-12-25")
            if code is not None:
                found[code] = frozenset(days)
        return found

    def overrides(self, node: Node, what: str, allowed: tuple[str, ...]) -> dict[int, dict[str, Node]]:
        found: dict[int, dict[str, Node]] = {}
        for _, (key_node, value_node) in (self.mapping(node, what) or {}).items():
            code = self.code(key_node, what)
            entries = self.mapping(value_node, f"{what} {code}", allowed)
            if code is not None and entries is not None:
                found[code] = {key: value for key, (_, value) in entries.items()}
        return found

    def states(
        self, node: Node, default: Mapping[str, UnitSpec]
    ) -> tuple[dict[int, Mapping[str, UnitSpec]], dict[int, Mapping[Key, LadderRule]]]:
        units: dict[int, Mapping[str, UnitSpec]] = {}
        rules: dict[int, Mapping[Key, LadderRule]] = {}
        for code, entries in self.overrides(node, "states", ("units", "rules")).items():
            if "units" in entries:
                units[code] = self.unit_specs(entries["units"], f"state {code} units", default)
            if "rules" in entries:
                rules[code] = self.concern_rules(entries["rules"], f"state {code} rules", False)
        return units, rules

    def document(self, root: Node | None) -> Rules | None:
        if root is None:
            self.problems.append(f"{self.name} line 1: the file is empty")
            return None
        keys = ("version", "jurisdictions", "units", "night_cover", "holidays", "fallback", "rules", "states",
                "districts", "duties")
        top = self.mapping(root, "the file", keys, ("units", "fallback", "rules"))
        if top is None:
            return None
        if "version" in top and self.scalar(top["version"][1], "version") not in (None, "1"):
            self.problem(top["version"][1], "version: only version 1 is understood")
        if "jurisdictions" in top:  # before the units, whose levels may name them
            self.places = self.jurisdictions(top["jurisdictions"][1])
        default = self.declarations(top["units"][1]) if "units" in top else {}
        fallback = self.fallback(top["fallback"][1]) if "fallback" in top else None
        ladders = self.concern_rules(top["rules"][1], "rules", complete=True) if "rules" in top else {}
        state_units, state_rules = self.states(top["states"][1], default) if "states" in top else ({}, {})
        districts = self.overrides(top["districts"][1], "districts", ("rules",)) if "districts" in top else {}
        district_rules = {
            code: self.concern_rules(entries["rules"], f"district {code} rules", False) if "rules" in entries else {}
            for code, entries in districts.items()
        }
        night = self.night_cover(top["night_cover"][1], default) if "night_cover" in top else ()
        holidays = self.holidays(top["holidays"][1]) if "holidays" in top else {}
        duties = parse_duties(self, top["duties"][1], tuple(default)) if "duties" in top else Duties({})
        if fallback is None:
            return None
        return Rules(ladders, fallback, UnitTable(default, state_units), state_rules, district_rules, self.name,
                     night, holidays, duties, self.places)


def _check_police(parser: _Parser, rules: Rules) -> None:
    """POCSO s.19/21 and the FIR duty: police must hear at once, not after a committee sat on it."""
    police = {unit for unit, spec in rules.units.default.items() if spec.police}
    reported: set[int] = set()
    for scope in (rules.ladders, *rules.states.values(), *rules.districts.values()):
        for (concern, _), ladder in scope.items():
            first = ladder.steps[0]
            if BY_KEY[concern].police and not police & set(first.units) and first.line not in reported:
                reported.add(first.line)  # `any` is one ladder for both urgencies: say it once
                parser.problems.append(f"{parser.name} line {first.line}: {concern}: the law ({BY_KEY[concern].law}) "
                                       f"requires police ({', '.join(sorted(police)) or 'a unit with police: true'}) "
                                       "at step 1")


def _check_tops(parser: _Parser, rules: Rules) -> None:
    """Every ladder that can apply in a state must end at a unit that sits at district or state level there."""
    seen: set[tuple[int, int | None]] = set()

    def check(key: Key, ladder: LadderRule, state: int | None) -> None:
        specs = rules.units.specs(state)
        last = ladder.steps[-1]
        if (last.line, state) in seen or any(specs[unit].is_top for unit in last.units):
            return
        seen.add((last.line, state))
        where = f" in state {state} (its unit levels)" if state is not None else ""
        parser.problems.append(
            f"{parser.name} line {last.line}: {key[0]}: the last step ({', '.join(last.units)}) has no unit at "
            f"district or state level{where}, so escalation has no top; add DCPU"
        )

    for state, _ in rules.units.variants():
        overridden = rules.states.get(state, {}) if state is not None else {}
        for key, ladder in rules.ladders.items():
            if key not in overridden:
                check(key, ladder, state)
    for state, ladders in rules.states.items():
        for key, ladder in ladders.items():
            check(key, ladder, state if state in rules.units.states else None)
    for ladders in rules.districts.values():
        for key, ladder in ladders.items():
            for state, _ in rules.units.variants():
                check(key, ladder, state)
