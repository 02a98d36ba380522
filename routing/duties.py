"""What the law asks after a report is taken up: the duties of the rules file's `duties:` section.

An acknowledgement means "I am on it", not "it is done": the police must still register the FIR,
tell the CWC and the Special Court within 24 hours (POCSO s.19(6)), a found child must be produced
before the CWC within 24 hours (JJ s.31), someone must see the family. Each such duty has a key,
the units that owe it, a deadline counted from the report or from the acknowledgement, the SMS
keywords (in every language) that record it, and the section it rests on.

Shape::

    duties:
      every_case:                       # added to every case's own duties
        - {key: home_visit, name: Home visit or call, owners: [ACKNOWLEDGING], within: 72h, from: ack,
           keywords: [VISIT, मुलाकात, দেখা], law: "JJ Model Rules r.19: the DCPU follows each case"}
      sexual_abuse:
        - {key: fir, name: FIR registered, owners: [POLICE_STATION, SJPU], within: 24h, from: report,
           keywords: [FIR, एफआईआर], law: "POCSO s.19(1)"}

`owners` names declared units, or `ACKNOWLEDGING`: the unit that took the case up. The contract's
spellings work too: `owner: CWC` and `keyword: FIR` (one, or a list); `name` defaults to the key's words. `when: cwc`
keeps a duty only for a case whose ladder includes the CWC. `repeat_every` (default 12h): how
often an overdue duty is chased again, each time one step higher up the case's ladder.
A keyword records the same duty key wherever it is used, and no keyword may shadow a committee
command (ACK, DONE, ESC, STATUS, HELP) or a villager's (REPORT, STOP): the loader refuses it.

Pure: no I/O; `rules.py` calls `parse_duties` with its line-keeping parser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from yaml.nodes import ScalarNode

from routing.concerns import BY_KEY

ACKNOWLEDGING = "ACKNOWLEDGING"  # owners: the unit that took the case up
EVERY_CASE = "every_case"
DEFAULT_REPEAT_S = 12 * 3600
Start = Literal["ack", "report"]
KEY = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


@dataclass(frozen=True)
class DutyRule:
    key: str
    name: str  # English label; texts may give `duty.<key>` per language
    owners: tuple[str, ...]  # unit keys, or ACKNOWLEDGING
    within: int  # seconds
    start: Start  # counted from the report or from the acknowledgement
    keywords: tuple[str, ...]  # the first is the one the SMS texts show
    law: str = ""
    when_cwc: bool = False  # only when the CWC is on the case's ladder
    repeat_every: int = DEFAULT_REPEAT_S
    line: int = 0

    @property
    def keyword(self) -> str:
        return self.keywords[0]


def fold(word: str) -> str:
    """How a keyword is compared: NFC, lower case (Latin), so `fir`, `FIR` and `Fir` are one."""
    return unicodedata.normalize("NFC", word).strip().lower()


@dataclass(frozen=True)
class Duties:
    """Every concern's duties, and the keyword → duty key table the SMS channel reads."""

    by_concern: Mapping[str, tuple[DutyRule, ...]]
    every_case: tuple[DutyRule, ...] = ()

    def for_concern(self, concern: str) -> tuple[DutyRule, ...]:
        return (*self.by_concern.get(concern, ()), *self.every_case)

    def rule(self, concern: str, key: str) -> DutyRule | None:
        return next((rule for rule in self.for_concern(concern) if rule.key == key), None)

    @property
    def keywords(self) -> dict[str, str]:
        """Folded keyword → duty key."""
        table: dict[str, str] = {}
        for rule in (*self.every_case, *(r for rules in self.by_concern.values() for r in rules)):
            table.update({fold(word): rule.key for word in rule.keywords})
        return table


# --- loading (called by routing.rules with its parser) --------------------------------------------

RESERVED = frozenset({"ack", "done", "esc", "status", "help", "report", "stop", "?"})


def parse_duties(parser: Any, node: Any, units: Sequence[str], reserved: frozenset[str] = RESERVED) -> Duties:
    """The `duties:` section; problems go to `parser` with their lines."""
    found: dict[str, tuple[DutyRule, ...]] = {}
    every: tuple[DutyRule, ...] = ()
    for concern, (key_node, value_node) in (parser.mapping(node, "duties") or {}).items():
        if concern != EVERY_CASE and concern not in BY_KEY:
            parser.problem(key_node, f"duties: unknown concern {concern!r} (or {EVERY_CASE})")
            continue
        rules = tuple(rule for item in parser.sequence(value_node, f"duties {concern}") or []
                      if (rule := _duty(parser, item, f"duties {concern}", units)) is not None)
        if concern == EVERY_CASE:
            every = rules
        else:
            found[concern] = rules
    duties = Duties(found, every)
    _check_keywords(parser, node, duties, reserved)
    return duties


SPELLINGS = {"owner": "owners", "keyword": "keywords"}  # ../shared/CONTRACT.md's words, one each or a list


def _duty(parser: Any, node: Any, what: str, units: Sequence[str]) -> DutyRule | None:
    fields = ("key", "name", "owners", "owner", "within", "from", "keywords", "keyword", "law", "when", "repeat_every")
    entries = _spelled(parser, parser.mapping(node, what, fields, ("key", "within", "from")), what)
    if entries is None or not {"key", "owners", "within", "from", "keywords"} <= set(entries):
        for field in ("owners", "keywords"):
            if entries is not None and field not in entries:
                parser.problem(node, f"{what}: {field} (or {field[:-1]}) is missing")
        return None
    key = parser.scalar(entries["key"][1], f"{what} key")
    if key is not None and not KEY.match(key):
        parser.problem(entries["key"][1], f"{what}: key {key!r} must be lower case letters, digits and _")
        key = None
    what = f"{what} {key or ''}".strip()
    # A name is what the console shows; without one, the key says it ("cwc_informed": "Cwc informed").
    name = parser.scalar(entries["name"][1], f"{what} name") if "name" in entries else (key or "").replace("_", " ").capitalize()
    owners = _owners(parser, entries["owners"][1], what, units)
    within = parser.duration(entries["within"][1], f"{what} within")
    start = parser.scalar(entries["from"][1], f"{what} from")
    if start is not None and start not in ("ack", "report"):
        parser.problem(entries["from"][1], f"{what} from: {start!r} must be ack or report")
        start = None
    words = _one_or_list(parser, entries["keywords"][1], f"{what} keywords")
    if not words:
        parser.problem(entries["keywords"][1], f"{what}: no keyword, so nobody could record it by SMS")
    when = parser.scalar(entries["when"][1], f"{what} when") if "when" in entries else None
    if when not in (None, "cwc"):
        parser.problem(entries["when"][1], f"{what} when: only 'cwc' is understood")
    repeat = parser.duration(entries["repeat_every"][1], f"{what} repeat_every") if "repeat_every" in entries else DEFAULT_REPEAT_S
    law = parser.scalar(entries["law"][1], f"{what} law") if "law" in entries else ""
    if None in (key, name, owners, within, start, repeat) or not words or None in words:
        return None
    return DutyRule(key, name, owners, within, start, tuple(words), law or "", when == "cwc", repeat,
                    node.start_mark.line + 1)


def _spelled(parser: Any, entries: dict[str, Any] | None, what: str) -> dict[str, Any] | None:
    """`owner` and `keyword` (the contract's words) read as `owners` and `keywords`; not both."""
    if entries is None:
        return None
    for single, plural in SPELLINGS.items():
        if single in entries:
            if plural in entries:
                parser.problem(entries[single][0], f"{what}: {single} and {plural} both given; keep one")
            else:
                entries[plural] = entries.pop(single)
    return entries


def _one_or_list(parser: Any, node: Any, what: str) -> list[str | None]:
    """A value that may be one word (`owner: CWC`) or a list (`owners: [CWC, DCPU]`)."""
    if isinstance(node, ScalarNode):
        return [parser.scalar(node, what)]
    return [parser.scalar(item, what) for item in parser.sequence(node, what) or []]


def _owners(parser: Any, node: Any, what: str, units: Sequence[str]) -> tuple[str, ...] | None:
    items = _one_or_list(parser, node, f"{what} owners")
    if not items:
        parser.problem(node, f"{what}: owners lists nobody")
        return None
    unknown = [unit for unit in items if unit is not None and unit != ACKNOWLEDGING and unit not in units]
    if unknown:
        parser.problem(node, f"{what} owners: {', '.join(unknown)} not declared under units: (or {ACKNOWLEDGING})")
        return None
    return tuple(unit for unit in items if unit is not None) if None not in items else None


def _check_keywords(parser: Any, node: Any, duties: Duties, reserved: frozenset[str]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for rule in (*duties.every_case, *(r for rules in duties.by_concern.values() for r in rules)):
        for word in rule.keywords:
            folded = fold(word)
            if folded in reserved:
                parser.problems.append(f"{parser.name} line {rule.line}: {rule.key}: keyword {word!r} is a command")
            elif folded in seen and seen[folded][0] != rule.key:
                parser.problems.append(f"{parser.name} line {rule.line}: {rule.key}: keyword {word!r} already "
                                       f"records {seen[folded][0]} (line {seen[folded][1]})")
            seen.setdefault(folded, (rule.key, rule.line))


# --- deciding (the referral loop applies these) ---------------------------------------------------


@dataclass(frozen=True)
class PlannedDuty:
    key: str
    name: str
    owners: tuple[str, ...]  # unit keys (ACKNOWLEDGING resolved)
    due_at: datetime
    law: str
    keyword: str
    repeat_every: int


def plan(duties: Duties, concern: str, *, ladder_units: set[str], acknowledged_unit: str,
         reported_at: datetime, acknowledged_at: datetime) -> list[PlannedDuty]:
    """The duties a case owes once `acknowledged_unit` took it up."""
    planned = []
    for rule in duties.for_concern(concern):
        if rule.when_cwc and "CWC" not in ladder_units:
            continue
        owners = tuple(dict.fromkeys(acknowledged_unit if unit == ACKNOWLEDGING else unit for unit in rule.owners))
        start = reported_at if rule.start == "report" else acknowledged_at
        planned.append(PlannedDuty(rule.key, rule.name, owners, start + timedelta(seconds=rule.within), rule.law,
                                   rule.keyword, rule.repeat_every))
    return planned


@dataclass(frozen=True)
class Chase:
    """Who hears about an overdue duty this time, and when it is chased next."""

    step: int | None  # the ladder step alerted; None: its owners (the first time)
    next_at: datetime


def chase(round_: int, owner_step: int, last_step: int, now: datetime, repeat_every: int) -> Chase:
    """Round 0 reminds the owners; each later round alerts one step higher up the case's ladder
    (from the highest step an owner sits at), and the top step again once there: an overdue duty
    climbs as surely as an unanswered alert."""
    step = None if round_ == 0 else min(owner_step + round_, last_step)
    return Chase(step, now + timedelta(seconds=repeat_every))


def owner_step(steps_units: Sequence[Sequence[str]], owners: Sequence[str], current: int) -> int:
    """The highest ladder step where an owner sits, else the step the case stood at."""
    indices = [n for n, units in enumerate(steps_units) if set(units) & set(owners)]
    return max(indices) if indices else current


def explain_duties(duties: Duties, concern: str, ladder_units: set[str]) -> list[str]:
    """`cpgw routing explain`'s last lines: what the law asks once a unit takes the case up."""
    from routing.rules import format_duration  # (rules imports this module)

    rules = [rule for rule in duties.for_concern(concern) if not rule.when_cwc or "CWC" in ladder_units]
    if not rules:
        return []
    lines = ["", "After an acknowledgement, the duties (SMS: <word> <case number> [details]):"]
    for rule in rules:
        owners = ", ".join("the unit that acknowledged" if unit == ACKNOWLEDGING else unit for unit in rule.owners)
        start = "the report" if rule.start == "report" else "the acknowledgement"
        lines.append(f"  {rule.name}: {owners}, within {format_duration(rule.within)} of {start}; "
                     f"SMS {rule.keyword}" + (f" — {rule.law}" if rule.law else ""))
    return lines
