"""An in-memory `Places`, for a REPL, the SMS channel's tests and small deployments' previews."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from menus.catalog import place_name
from menus.engine import REPORTABLE, PlaceInfo, PlaceKey

Parent = PlaceKey | int | None  # a bare code names the first place listed with that code


@dataclass
class StaticPlaces:
    """Places given as (lgd_code, level, parent, {lang: name}) rows; names fall back to `en`."""

    rows: Iterable[tuple[int, str, Parent, dict[str, str]]]
    _by_key: dict[PlaceKey, dict[str, str]] = field(init=False, default_factory=dict)
    _children: dict[PlaceKey | None, list[PlaceKey]] = field(init=False, default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        rows = list(self.rows)
        first: dict[int, PlaceKey] = {}
        for code, level, _, names in rows:
            self._by_key[(level, code)] = names
            first.setdefault(code, (level, code))
        for code, level, parent, _ in rows:
            up = first.get(parent) if isinstance(parent, int) else parent
            self._children[up].append((level, code))

    def _info(self, key: PlaceKey, lang: str) -> PlaceInfo:
        names = self._by_key[key]
        return PlaceInfo(key[1], key[0], place_name(names, lang, names["en"]))

    def children(self, parent: PlaceKey | None, lang: str) -> Sequence[PlaceInfo]:
        infos = [self._info(key, lang) for key in self._children.get(parent, [])]
        return sorted(infos, key=lambda place: place.name)

    def village(self, lgd_code: int, lang: str, level: str | None = None) -> PlaceInfo | None:
        for candidate in (level,) if level else REPORTABLE:
            if (candidate, lgd_code) in self._by_key:
                return self._info((candidate, lgd_code), lang)
        return None
