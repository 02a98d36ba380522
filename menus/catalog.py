"""Menu texts as data: one YAML file per language, validated at load.

A programme officer edits these files; a mistake must be reported with the file and the key, at
start-up, rather than show a blank screen to a villager. A key missing from a translation falls
back to English.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

TEXTS_DIR = Path(__file__).parent / "texts"
FALLBACK = "en"
# Order of the languages on the language screen; files for other codes are loaded after these.
PREFERRED_ORDER = ("en", "hi", "hi_latn", "bn", "sat_latn", "sat_beng")
_FORMATTER = string.Formatter()
_LANG_CODE = re.compile(r"^[a-z]{2,3}(_[a-z]{4})?$")


class CatalogError(ValueError):
    """A menu file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Language:
    code: str
    label: str
    texts: dict[str, str]


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
    for key, text in texts.items():
        if not isinstance(key, str):
            raise CatalogError(f"{where}: key {key!r} is not a text (YAML reads yes/no/on/off as booleans: quote it)")
        if not isinstance(text, str) or not text.strip():
            raise CatalogError(f"{where}: key {key!r} must be a non-empty text")
        try:
            _placeholders(text)
        except ValueError as exc:
            raise CatalogError(f"{where}: key {key!r} has a broken placeholder: {exc}") from exc
    return Language(code=code, label=label.strip(), texts={str(k): v.strip() for k, v in texts.items()})


def load_catalog(directory: Path = TEXTS_DIR, required: Iterable[str] = ()) -> Catalog:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogError(f"{directory}: no menu files (*.yaml)")
    return Catalog((load_language(path) for path in files), required)
