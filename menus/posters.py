"""Poster texts as data (posters.yaml), validated at load.

The lines of the village-code poster (`cpgw posters`) are reworded by programme officers, like the
menu texts; a mistake must stop the printing with the file, the language and the key named, rather
than put a blank line or a raw `{placeholder}` on a thousand walls. Pure: no I/O beyond reading the
file, so `menus` stays importable without a server.
"""

from __future__ import annotations

import string
from pathlib import Path

import yaml

from menus.catalog import PREFERRED_ORDER, CatalogError

POSTERS_FILE = Path(__file__).parent / "posters.yaml"
# Languages every posters.yaml must have: every language the menu ships, since the menu's first
# question ("type the village code from the poster") is asked in each; a file may add more.
POSTER_LANGUAGES: tuple[str, ...] = PREFERRED_ORDER
# Every key a poster prints, with the placeholders the renderer fills in; any other would stay raw.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "title": frozenset(),
    "dial": frozenset({"ussd_code"}),
    "sms": frozenset({"sms_number"}),
    "secret": frozenset(),
    "helplines": frozenset(),
    "panchayat": frozenset({"panchayat"}),
    "place": frozenset({"block", "district"}),
    "villages": frozenset(),
    "continued": frozenset(),
    "more": frozenset(),
}
_FORMATTER = string.Formatter()

PosterTexts = dict[str, dict[str, str]]  # language -> key -> text


def load_poster_texts(path: Path = POSTERS_FILE) -> PosterTexts:
    """Every language's poster lines, or a CatalogError naming the file, the language and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path.name}: cannot read as UTF-8 YAML: {exc}") from exc
    languages = data.get("languages") if isinstance(data, dict) else None
    if not isinstance(languages, dict):
        raise CatalogError(f"{path.name}: must hold a 'languages' mapping of language code to texts")
    for lang in POSTER_LANGUAGES:
        if lang not in languages:
            raise CatalogError(f"{path.name}: language {lang!r} is missing")
    return {str(lang): _language(path.name, str(lang), texts) for lang, texts in languages.items()}


def _language(where: str, lang: str, texts: object) -> dict[str, str]:
    if not isinstance(texts, dict):
        raise CatalogError(f"{where}: language {lang!r} must be a mapping of key to text")
    for key in texts:
        if key not in PLACEHOLDERS:
            raise CatalogError(f"{where}: language {lang!r}: unknown key {key!r} (known: {', '.join(PLACEHOLDERS)})")
    return {key: _text(where, lang, key, texts.get(key)) for key in PLACEHOLDERS}


def _text(where: str, lang: str, key: str, text: object) -> str:
    if text is None:
        raise CatalogError(f"{where}: language {lang!r}: key {key!r} is missing")
    if not isinstance(text, str) or not text.strip():
        raise CatalogError(f"{where}: language {lang!r}: key {key!r} must be a non-empty text")
    try:
        found = {name for _, name, _, _ in _FORMATTER.parse(text) if name is not None}
    except ValueError as exc:
        raise CatalogError(f"{where}: language {lang!r}: key {key!r} has a broken placeholder: {exc}") from exc
    if found != PLACEHOLDERS[key]:
        raise CatalogError(f"{where}: language {lang!r}: key {key!r} must use the placeholders "
                           f"{sorted(PLACEHOLDERS[key])}, not {sorted(found)}")
    return text.strip()
