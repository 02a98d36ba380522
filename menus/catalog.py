"""Menu texts as data: one YAML file per language, validated at load.

A programme officer edits these files; a mistake must be reported with the file and the key, at
start-up, rather than show a blank screen to a villager. A key missing from a translation falls
back to English.

Besides `texts`, a file may say which of its texts await a native speaker's review
(`unreviewed: all`, or a list of keys; `cpgw texts export` prints them), and English names the
SMS templates allowed two segments (`two_part_sms`). A deployment's own directory of files
(`CPGW_TEXTS_DIR`) is laid over the shipped one key by key: a translated file is dropped in, no
code changed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

TEXTS_DIR = Path(__file__).parent / "texts"
FALLBACK = "en"
# Order of the languages on the language screen; files for other codes are loaded after these.
PREFERRED_ORDER = ("en", "hi", "hi_latn", "bn", "sat_latn", "sat_olck", "sat_beng")
# Place names a language reads when the directory has none in it: Santali in Bengali script reads
# the Bengali names (the same letters), the others the directory's own (Latin) name.
NAME_FALLBACKS: dict[str, tuple[str, ...]] = {"sat_beng": ("bn",)}
_FORMATTER = string.Formatter()
_LANG_CODE = re.compile(r"^[a-z]{2,3}(_[a-z]{4})?$")


def name_languages(lang: str) -> tuple[str, ...]:
    """The `name_<lang>` columns a place's name is read from for `lang`, in order."""
    return (lang, *NAME_FALLBACKS.get(lang, ()))


def place_name(names: Mapping[str, str] | None, lang: str, name: str) -> str:
    """A place's name as `lang` reads it: its own column, a fallback's, else the directory's name."""
    for code in name_languages(lang):
        if names and names.get(code):
            return names[code]
    return name


class CatalogError(ValueError):
    """A menu file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Language:
    code: str
    label: str
    texts: dict[str, str]
    unreviewed: frozenset[str] = frozenset()  # keys awaiting a native speaker's review
    two_part_sms: frozenset[str] = frozenset()  # English only: SMS templates allowed two segments

    def over(self, shipped: Language) -> Language:
        """This (a deployment's) file laid over the shipped one: its keys win, the others stay."""
        return Language(
            code=self.code, label=self.label, texts={**shipped.texts, **self.texts},
            unreviewed=(shipped.unreviewed - self.texts.keys()) | self.unreviewed,
            two_part_sms=self.two_part_sms | shipped.two_part_sms,
        )


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(text) if name}


class Catalog:
    """All languages' texts, with English as the fallback for any missing key."""

    def __init__(self, languages: Iterable[Language], required: Iterable[str] = ()) -> None:
        self.languages = {lang.code: lang for lang in languages}
        if FALLBACK not in self.languages:
            raise CatalogError(f"no {FALLBACK}.yaml: English is the fallback and must exist")
        english = self.languages[FALLBACK]
        for key in required:
            if key not in english.texts:
                raise CatalogError(f"{FALLBACK}.yaml: missing key {key!r}")
        for lang in self.languages.values():
            for key, text in lang.texts.items():
                if key not in english.texts:
                    raise CatalogError(f"{lang.code}.yaml: unknown key {key!r} (not in {FALLBACK}.yaml)")
                if _placeholders(text) != _placeholders(english.texts[key]):
                    raise CatalogError(
                        f"{lang.code}.yaml: key {key!r} must use the placeholders "
                        f"{sorted(_placeholders(english.texts[key]))}, not {sorted(_placeholders(text))}"
                    )
            for key in sorted(lang.unreviewed - english.texts.keys()):
                raise CatalogError(f"{lang.code}.yaml: unreviewed: unknown key {key!r} (not in {FALLBACK}.yaml)")
        for key in sorted(english.two_part_sms - english.texts.keys()):
            raise CatalogError(f"{FALLBACK}.yaml: two_part_sms: unknown key {key!r}")

    @property
    def codes(self) -> list[str]:
        known = [code for code in PREFERRED_ORDER if code in self.languages]
        return known + sorted(set(self.languages) - set(known))

    def text(self, lang: str | None, key: str, **values: object) -> str:
        own = self.languages.get(lang or FALLBACK, self.languages[FALLBACK]).texts.get(key)
        template = own or self.languages[FALLBACK].texts[key]
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        """Whether the texts have `key` (English has every key any language has)."""
        return key in self.languages[FALLBACK].texts

    def label(self, lang: str) -> str:
        return self.languages[lang].label

    def own(self, lang: str, key: str) -> str | None:
        """The language's own text for `key`, None when it falls back to English."""
        language = self.languages.get(lang)
        return language.texts.get(key) if language else None

    def reviewed(self, lang: str, key: str) -> bool:
        """Whether a native speaker has checked this text (a fallback to English never has)."""
        language = self.languages.get(lang)
        return bool(language) and key in language.texts and key not in language.unreviewed

    def segments(self, key: str) -> int:
        """SMS segments the template may take: 2 when English marks it `two_part_sms`, else 1."""
        return 2 if key in self.languages[FALLBACK].two_part_sms else 1


def load_language(path: Path) -> Language:
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{where}: not valid UTF-8 YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: must be a mapping with 'language', 'label' and 'texts'")
    code, label, texts = data.get("language"), data.get("label"), data.get("texts")
    if not isinstance(code, str) or not _LANG_CODE.match(code) or code != path.stem:
        raise CatalogError(f"{where}: key 'language' must be the file's name ({path.stem!r}), got {code!r}")
    if not isinstance(label, str) or not label.strip():
        raise CatalogError(f"{where}: key 'label' must be the language's name in its own script")
    if not isinstance(texts, dict) or not texts:
        raise CatalogError(f"{where}: key 'texts' must be a non-empty mapping")
    unreviewed = _key_list(where, "unreviewed", data.get("unreviewed", []), texts, allow_all=True)
    two_part = _key_list(where, "two_part_sms", data.get("two_part_sms", []), texts, allow_all=False)
    for key, text in texts.items():
        if not isinstance(key, str):
            raise CatalogError(f"{where}: key {key!r} is not a text (YAML reads yes/no/on/off as booleans: quote it)")
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}: key {key!r} must be a non-empty text")
        try:
            _placeholders(text)
        except ValueError as exc:
            raise CatalogError(f"{where}: key {key!r} has a broken placeholder: {exc}") from exc
    return Language(code=code, label=label.strip(), texts={str(k): v.strip() for k, v in texts.items()},
                    unreviewed=unreviewed, two_part_sms=two_part)


def _key_list(where: str, name: str, value: object, texts: dict[object, object], *, allow_all: bool) -> frozenset[str]:
    """A list of keys (`unreviewed`, `two_part_sms`); `all` stands for every key of the file."""
    if allow_all and value == "all":
        return frozenset(str(key) for key in texts)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        hint = "'all' or a list of keys" if allow_all else "a list of keys"
        raise CatalogError(f"{where}: key {name!r} must be {hint}, got {value!r}")
    return frozenset(value)


def load_catalog(directory: Path = TEXTS_DIR, required: Iterable[str] = (), overlay: Path | None = None) -> Catalog:
    """Every language in `directory`; files in `overlay` (a deployment's own) laid over them key by key."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogError(f"{directory}: no menu files (*.yaml)")
    languages = {language.code: language for language in map(load_language, files)}
    if overlay is not None and overlay.is_dir() and overlay.resolve() != directory.resolve():
        for path in sorted(overlay.glob("*.yaml")):
            own = load_language(path)
            languages[own.code] = own.over(languages[own.code]) if own.code in languages else own
    return Catalog(languages.values(), required)
