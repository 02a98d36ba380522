"""An in-memory `Places`, for a REPL, the SMS channel's tests and small deployments' previews."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from menus.engine import PlaceInfo


@dataclass
class StaticPlaces:
    """Places given as (lgd_code, level, parent, {lang: name}) rows; names fall back to `en`."""

    rows: Iterable[tuple[int, str, int | None, dict[str, str]]]
    _by_code: dict[int, tuple[str, int | None, dict[str, str]]] = field(init=False, default_factory=dict)
    _children: dict[int | None, list[int]] = field(init=False, default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for code, level, parent, names in self.rows:
            self._by_code[code] = (level, parent, names)
            self._children[parent].append(code)

    def _info(self, code: int, lang: str) -> PlaceInfo:
        level, _, names = self._by_code[code]
        return PlaceInfo(code, level, names.get(lang) or names["en"])

    def children(self, parent: int | None, lang: str) -> Sequence[PlaceInfo]:
        infos = [self._info(code, lang) for code in self._children.get(parent, [])]
        return sorted(infos, key=lambda place: place.name)

    def village(self, lgd_code: int, lang: str) -> PlaceInfo | None:
        return self._info(lgd_code, lang) if lgd_code in self._by_code else None
