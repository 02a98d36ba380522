"""How much room each text has: every screen and SMS rendered with the longest values it can carry.

A text that fits with "Amtola" may not fit with the longest village name in the directory, a
10-digit reference and the longest unit name; a screen that does not fit is cut with an ellipsis,
and an SMS that does not fit costs a second segment (or is dropped by a DLT template check). So a
text is measured in the worst screen or SMS it appears in, in the encoding that screen needs (one
Devanagari, Bengali or Ol Chiki letter makes it UCS-2):

* USSD screens with their `CON `/`END ` prefix, a one-off hint ("Wrong choice") on top, the
  navigation lines, and each option of the screen in turn: 160 GSM-7 / 80 UCS-2 (`USSD`);
* SMS (`sms.*`, and the menu texts a villager gets by SMS: `sent`, `check.*`): one segment, 160
  GSM-7 / 70 UCS-2, or two (306 / 134) for a template English marks `two_part_sms`.

`rooms()` gives each key its tightest fit; `cpgw texts export` prints it, `cpgw texts import`
refuses a row that does not fit, and a test checks every shipped language. Pure: the caller reads
the longest names out of the directory and the rules (`Values`).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from menus.catalog import Catalog, name_languages
from menus.gsm import Budget, encoded_length
from menus.screens import BACK_KEY, CON, END, MORE_KEY

USSD = Budget(160, 80)
SMS_SEGMENT = Budget(160, 70)
SMS_TWO_SEGMENTS = Budget(2 * 153, 2 * 67)  # a concatenated SMS loses 7 septets / 3 units a part to its header
# Menu texts the villagers' SMS channel also sends on their own (one-line reports, STATUS <ref>).
SMS_MENU_KEYS = ("sent", "check.bad_ref", "check.not_found", "check.status")
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Values:
    """The longest real values a text can carry (the directory's, the rules', the formats')."""

    villages: Mapping[str, str]  # language -> the longest village name written in it ("en": in Latin letters)
    units: Mapping[str, str] = field(default_factory=dict)  # unit key -> the rules' name (sent when it has no `unit.*` text)
    ref: str = "9" * 10  # CONTRACT: references are 6 to 10 digits
    code: str = "9" * 10  # a village code typed in an SMS
    helplines: str = "112, 1098"
    time: str = "30 Dec 23:59"  # sms.already_ack: "%d %b %H:%M"
    opens: str = "10:00"
    count: str = "99"
    number: str = "+919999999999"  # CPGW_SMS_NUMBER, where villagers send an SMS
    keyword: str = "XXXXXXXX"  # a duty's keyword from the rules (FIR, CWC …)
    other: str = "X" * 16  # a placeholder nobody has described here yet
    extra: Mapping[str, str] = field(default_factory=dict)  # placeholder -> value, for new ones

    def village(self, lang: str) -> str:
        for code in (*name_languages(lang), "en"):
            if self.villages.get(code):
                return self.villages[code]
        return "X" * 30


def longest_names(rows: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The longest village (or ward) name per language, from rows shaped like the places CSV
    (`name`, `name_hi`, `name_bn` …; `name` counts as `en`)."""
    longest: dict[str, str] = {}
    for row in rows:
        if row.get("level", "village") not in ("village", "ward"):
            continue
        for column, name in row.items():
            if not name or not (column == "name" or column.startswith("name_")) or column == "name_original":
                continue
            lang = "en" if column == "name" else column[5:]
            if encoded_length(name)[0] > encoded_length(longest.get(lang, ""))[0]:
                longest[lang] = name
    return longest


@dataclass(frozen=True)
class Rendering:
    """One screen or SMS as it would go out, and the keys whose texts are in it."""

    name: str
    channel: str  # "screen" or "SMS"
    text: str  # with its CON/END prefix on a screen
    keys: frozenset[str]
    budget: Budget

    @property
    def limit(self) -> int:
        gsm = encoded_length(self.text)[1]
        return self.budget.gsm if gsm else self.budget.ucs2

    @property
    def length(self) -> int:
        return encoded_length(self.text)[0]

    @property
    def left(self) -> int:
        return self.limit - self.length


@dataclass(frozen=True)
class Room:
    """A key's tightest fit: the budget of the worst screen or SMS it is in, and what is left of it."""

    key: str
    channels: tuple[str, ...]  # ("screen",), ("SMS",) or both
    budget: int
    left: int
    worst: str  # that screen's or SMS's name, and its text
    text: str


def _placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(text) if name]


def _family(catalog: Catalog, name: str) -> list[str]:
    """The keys whose texts fill `{name}`: `{concern}` takes a `concern.*` text, `{unit}` a `unit.*`."""
    prefix = f"{name}."
    return [key for key in catalog.languages["en"].texts if key.startswith(prefix) and key != f"{name}.title"]


def _sms(catalog: Catalog, lang: str, key: str, values: Values) -> Iterator[Rendering]:
    """`key` as an SMS with the longest values, and once more for each text that fills a placeholder."""
    template = catalog.text(lang, key)
    budget = SMS_TWO_SEGMENTS if catalog.segments(key) == 2 else SMS_SEGMENT
    fills: dict[str, list[tuple[str, str | None]]] = {}
    chosen: dict[str, str] = {}
    for name in _placeholders(template):
        members: list[tuple[str, str | None]] = [(catalog.text(lang, k), k) for k in _family(catalog, name)]
        if name == "unit":
            members += [(unit, None) for key, unit in values.units.items() if not catalog.has(f"unit.{key}")]
        if name == "village":
            members = [(values.village(lang), None)]
        if members:
            fills[name] = members
            chosen[name] = max((text for text, _ in members), key=lambda text: encoded_length(text)[0])
        else:
            chosen[name] = values.extra.get(name) or str(getattr(values, name, values.other))
    yield Rendering(key, "SMS", template.format(**chosen), frozenset({key}), budget)
    for name, members in fills.items():
        for text, member in members:
            if member is not None:
                yield Rendering(key, "SMS", template.format(**{**chosen, name: text}), frozenset({key, member}), budget)


class _Screens:
    """Every USSD screen the engine can show in one language, at its longest."""

    def __init__(self, catalog: Catalog, lang: str, values: Values, concerns: Sequence[str], budget: Budget) -> None:
        self.catalog, self.lang, self.values, self.concerns, self.budget = catalog, lang, values, concerns, budget

    def t(self, key: str, **values: object) -> str:
        return self.catalog.text(self.lang, key, **values)

    def listing(self, name: str, title: str, title_keys: Iterable[str], options: Sequence[tuple[str, str | None]],
                *, back: bool = True, extra: Sequence[tuple[str, str]] = (),
                hints: Sequence[str] = ("invalid",), one_page: bool = True) -> Iterator[Rendering]:
        """A list screen with a hint over its title. A screen of a few fixed options (`one_page`:
        home, yes/no) must show them all at once, hint or not: a `3` that went to page two would
        be refused. A long list (languages, places, concerns) may page: each option then has to
        fit first on its page, with `98 More`."""
        tail = [f"{key} {self.t(label)}" for key, label in extra]
        tail_keys = {label for _, label in extra}
        if back:
            tail.append(f"{BACK_KEY} {self.t('back')}")
            tail_keys.add("back")
        more = [f"{MORE_KEY} {self.t('more')}"] if len(options) > 1 else []
        for hint in (None, *hints):
            head = ([self.t(hint)] if hint else []) + [title]
            keys = {*title_keys, *tail_keys, *([hint] if hint else [])}
            whole = Rendering(name, "screen", f"{CON} " + "\n".join(
                [*head, *(f"{n} {text}" for n, (text, _) in enumerate(options, 1)), *tail]),
                frozenset(keys | {key for _, key in options if key}), self.budget)
            if one_page or whole.left >= 0:
                yield whole
                continue
            for text, key in options:
                lines = [*head, f"1 {text}", *more, *tail]
                yield Rendering(name, "screen", f"{CON} " + "\n".join(lines),
                                frozenset(keys | ({key, "more"} if more else {key}) - {None}), self.budget)

    def message(self, name: str, kind: str, lines: Sequence[tuple[str, str]]) -> Rendering:
        return Rendering(name, "screen", f"{kind} " + "\n".join(text for text, _ in lines if text),
                         frozenset(key for _, key in lines), self.budget)

    def all(self) -> Iterator[Rendering]:
        t, v = self.t, self.values
        labels = [(self.catalog.label(code), None) for code in self.catalog.codes]
        yield from self.listing("language", t("language.title"), ["language.title"], labels, one_page=False)
        yield from self.listing("resume", t("resume.title"), ["resume.title"],
                                [(t("resume.continue"), "resume.continue"), (t("resume.restart"), "resume.restart")],
                                back=False)
        yield from self.listing("home", t("home.title"), ["home.title"],
                                [(t(key), key) for key in ("home.report", "home.check", "home.help")],
                                back=False, extra=[("9", "home.language")])
        yield from self.listing("where", t("where.title"), ["where.title"],
                                [(t("where.code"), "where.code"), (t("where.list"), "where.list")])
        for key in _family(self.catalog, "place"):
            if key != "place.empty":
                yield from self.listing(key, t(key), [key], [(v.village(self.lang), None)],
                                        hints=("invalid", "place.empty"), one_page=False)
        yield from self.listing("concern", t("concern.title"), ["concern.title"],
                                [(t(f"concern.{key}"), f"concern.{key}") for key in self.concerns], one_page=False)
        yield from self.listing("urgent", t("urgent.title"), ["urgent.title"],
                                [(t("answer.yes"), "answer.yes"), (t("answer.no"), "answer.no")])
        yield from self.listing("callback", t("callback.title"), ["callback.title"],
                                [(t("answer.yes"), "answer.yes"), (t("callback.no"), "callback.no")])
        for concern in self.concerns:
            title = t("confirm.title", village=v.village(self.lang), concern=t(f"concern.{concern}"))
            for urgent in (False, True):
                shown = f"{title}, {t('confirm.urgent')}" if urgent else title
                keys = ["confirm.title", f"concern.{concern}", *(["confirm.urgent"] if urgent else [])]
                yield from self.listing("confirm", shown, keys, [(t("confirm.send"), "confirm.send")])
        for name, prompt, hint in (("village_code", "village_code.prompt", "village_code.not_found"),
                                   ("check", "check.prompt", "check.bad_ref")):
            for lines in ([(t(prompt), prompt)], [(t(hint), hint), (t(prompt), prompt)]):
                yield self.message(name, CON, [*lines, (f"{BACK_KEY} {t('back')}", "back")])
        sent = (t("sent", ref=v.ref), "sent")
        yield self.message("sent", END, [sent, (t("sent.urgent", helplines=v.helplines), "sent.urgent")])
        yield self.message("sent", END, [sent, (t("sent.later", opens=v.opens, helplines=v.helplines), "sent.later")])
        for key in ("failed", "limited", "help.text"):
            yield self.message(key, END, [(t(key, helplines=v.helplines), key)])
        yield self.message("expired", END, [(t("expired"), "expired")])
        yield self.message("check", END, [(t("check.not_found", ref=v.ref), "check.not_found")])
        for key in _family(self.catalog, "status"):
            yield self.message("check", END, [(t("check.status", ref=v.ref, status=t(key)), "check.status"), ("", key)])


def renderings(catalog: Catalog, lang: str, values: Values, concerns: Sequence[str],
               budget: Budget = USSD) -> Iterator[Rendering]:
    """Every screen and SMS in `lang` at its longest (a screen once per option it lists)."""
    yield from _Screens(catalog, lang, values, concerns, budget).all()
    english = catalog.languages["en"].texts
    for key in (*SMS_MENU_KEYS, *(key for key in english if key.startswith("sms."))):
        yield from _sms(catalog, lang, key, values)


def rooms(catalog: Catalog, lang: str, values: Values, concerns: Sequence[str],
          budget: Budget = USSD) -> dict[str, Room]:
    """Every key's tightest fit in `lang`. A key on no screen and in no SMS (one added for a new
    screen this module does not know yet) is measured alone, as a line of an `END` screen."""
    found: dict[str, Room] = {}
    channels: dict[str, set[str]] = {}
    for shown in renderings(catalog, lang, values, concerns, budget):
        left = shown.left
        for key in shown.keys:
            channels.setdefault(key, set()).add(shown.channel)
            if key not in found or left < found[key].left:
                found[key] = Room(key, (), shown.limit, left, shown.name, shown.text)
    for key in catalog.languages["en"].texts:
        if key not in found:
            alone = Rendering(key, "screen", f"{END} {catalog.text(lang, key)}", frozenset({key}), budget)
            channels[key] = {"screen"}
            found[key] = Room(key, (), alone.limit, alone.left, key, alone.text)
    return {key: Room(key, tuple(sorted(channels[key], key=("screen", "SMS").index)), room.budget, room.left,
                      room.worst, room.text)
            for key, room in found.items()}
