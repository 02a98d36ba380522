"""The translators' workflow: a language's texts out to a CSV and back, checked row by row.

The people who can judge these words are programme officers and native speakers, who work in a
spreadsheet, not in YAML. `export_rows` gives them every key with its English, the current text,
where it is shown, its budget and the characters left with the longest values it carries, and
whether a native speaker has reviewed it; `read_csv` takes the sheet back and refuses it, naming
the line of every error (unknown key, a text blanked, a placeholder lost or added, a budget broken;
a row left empty where the language has no text yet stays in English),
before anything is written; `dump_language` writes the YAML file a deployment drops into its
texts directory (`CPGW_TEXTS_DIR`). Pure: the caller reads and writes the files.
"""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml

from menus.budgets import Values, rooms
from menus.catalog import FALLBACK, Catalog, Language

COLUMNS = ("key", "English", "text", "screen or SMS", "budget", "characters left", "reviewed")
YES, NO = "yes", "no"
_FORMATTER = string.Formatter()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(text) if name}


def export_rows(catalog: Catalog, lang: str, values: Values, concerns: Sequence[str]) -> list[list[str]]:
    """One row per key of the English file, in its order; `text` is empty where the language has none."""
    room = rooms(catalog, lang, values, concerns)
    rows = [list(COLUMNS)]
    for key, english in catalog.languages[FALLBACK].texts.items():
        fit = room[key]
        rows.append([key, english, catalog.own(lang, key) or "", " + ".join(fit.channels), str(fit.budget),
                     str(fit.left), YES if catalog.reviewed(lang, key) else NO])
    return rows


def to_csv(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class Imported:
    language: Language  # the sheet's texts alone (a file for the texts directory)
    problems: list[str]  # "line 12: key 'sent': …", empty when the sheet can be used


def read_csv(text: str, lang: str, catalog: Catalog, values: Values, concerns: Sequence[str],
             where: str = "CSV") -> Imported:
    """The sheet checked against English and the budgets, with the language it would make."""
    english = catalog.languages[FALLBACK].texts
    problems: list[str] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # a spreadsheet may save a BOM
    missing = [column for column in ("key", "text") if column not in (reader.fieldnames or [])]
    if missing:
        return Imported(Language(lang, lang, {}), [f"{where} line 1: no {' or '.join(missing)} column "
                                                   f"(the columns are {', '.join(COLUMNS)})"])
    texts: dict[str, str] = {}
    unreviewed: set[str] = set()
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        key, own = (row.get("key") or "").strip(), (row.get("text") or "").strip()
        reviewed = (row.get("reviewed") or NO).strip().lower()
        if not key:
            problems.append(f"{where} line {line}: the key is empty")
            continue
        if key not in english:
            problems.append(f"{where} line {line}: unknown key {key!r} (not in {FALLBACK}.yaml)")
            continue
        if key in lines:
            problems.append(f"{where} line {line}: key {key!r} again (first on line {lines[key]})")
            continue
        lines[key] = line
        if not own:
            if catalog.own(lang, key):  # blanking a text would put English on a villager's screen
                problems.append(f"{where} line {line}: key {key!r}: the text is blank")
            continue  # a row the language has no text for yet: it stays in English
        try:
            found = _placeholders(own)
        except ValueError as exc:
            problems.append(f"{where} line {line}: key {key!r}: a broken placeholder ({exc})")
            continue
        if found != _placeholders(english[key]):
            problems.append(f"{where} line {line}: key {key!r} must keep the placeholders "
                            f"{sorted(_placeholders(english[key])) or 'none'}, not {sorted(found) or 'none'}")
            continue
        if reviewed not in (YES, NO, ""):
            problems.append(f"{where} line {line}: key {key!r}: reviewed must be yes or no, not {reviewed!r}")
            continue
        texts[key] = own
        if reviewed != YES:
            unreviewed.add(key)
    shipped = catalog.languages.get(lang)
    language = Language(lang, shipped.label if shipped else lang, texts, frozenset(unreviewed))
    merged = language.over(shipped) if shipped else language
    trial = Catalog([*(other for code, other in catalog.languages.items() if code != lang), merged])
    for key, fit in rooms(trial, lang, values, concerns).items():
        if key in texts and fit.left < 0:
            problems.append(f"{where} line {lines[key]}: key {key!r} is {-fit.left} characters over its budget of "
                            f"{fit.budget} ({fit.worst}, with the longest values: {fit.text!r})")
    problems.sort(key=lambda problem: int(problem.split("line ", 1)[1].split(":", 1)[0]))
    return Imported(language, problems)


def dump_language(language: Language, order: Sequence[str]) -> str:
    """The YAML file of one language, texts in `order` (English's), ready for the texts directory."""
    head = (f"# {language.code} menu texts, imported from a translators' sheet (cpgw texts import).\n"
            "# Keys and {placeholders} as in en.yaml; `unreviewed` lists the texts no native speaker has checked.\n")
    body = {
        "language": language.code,
        "label": language.label,
        "unreviewed": sorted(language.unreviewed),
        "texts": {key: language.texts[key] for key in order if key in language.texts},
    }
    return head + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=1000)
