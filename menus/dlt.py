"""DLT template ids (TRAI): which registered template each outgoing SMS matches.

Kept as data beside the texts, so the compliance officer who registers templates edits one file;
checked at load like the texts, with the file and key named in every error.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from menus.catalog import CatalogError

DLT_FILE = Path(__file__).parent / "dlt.yaml"


def load_dlt(path: Path = DLT_FILE, known: frozenset[str] | None = None) -> dict[str, str]:
    """Template key -> DLT template id ("" when not registered yet)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path.name}: cannot read: {exc}") from exc
    templates = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(templates, dict):
        raise CatalogError(f"{path.name}: must hold a 'templates' mapping of template key to DLT id")
    ids: dict[str, str] = {}
    for key, value in templates.items():
        text = "" if value is None else str(value).strip()
        if known is not None and key not in known:
            raise CatalogError(f"{path.name}: unknown template {key!r}")
        if text and not text.isdigit():
            raise CatalogError(f"{path.name}: template {key!r}: a DLT id is digits only, got {text!r}")
        ids[str(key)] = text
    return ids


@cache
def _shipped() -> dict[str, str]:
    return load_dlt()


def dlt_id(template: str) -> str | None:
    """The registered DLT template id of an SMS template, None when it has none (yet)."""
    return _shipped().get(template) or None
