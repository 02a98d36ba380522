"""A block's gram panchayats and villages, read from the directory for its posters.

Villages that sit straight under the block (no panchayat known) get a page of their own, headed
with the block's name, so that no village of the block is left off its posters.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine
from sqlmodel import col, or_, select

from gateway.channels.posters import PosterBlock, PosterPanchayat, PosterVillage
from gateway.record.db import read_session
from gateway.record.lgd import STATE_LANGUAGES
from gateway.record.models import Place
from menus.catalog import name_languages


class NoSuchBlock(LookupError):
    pass


def state_language(state_lgd: int | None) -> str:
    """The language a state's posters are printed in by default (English where none is known)."""
    column = STATE_LANGUAGES.get(state_lgd or 0)
    return column.removeprefix("name_") if column else "en"


def block_places(engine: Engine, block_lgd: int, lang: str) -> tuple[PosterBlock, int | None]:
    """The block as its posters show it, and its state's LGD code."""
    with read_session(engine) as session:
        block = session.get(Place, {"level": "block", "lgd_code": block_lgd})
        if block is None:
            raise NoSuchBlock(f"no block with LGD code {block_lgd} in the directory")
        district = session.get(Place, {"level": "district", "lgd_code": block.district_lgd or 0})
        under = list(session.exec(select(Place).where(
            col(Place.block_lgd) == block_lgd,
            or_(col(Place.level) == "gram_panchayat", col(Place.level) == "village"))))
    villages: dict[int | None, list[PosterVillage]] = defaultdict(list)
    for place in under:
        if place.level == "village":
            villages[place.gram_panchayat_lgd].append(PosterVillage(place.lgd_code, place.name, _local(place, lang)))
    pages = [_panchayat(place, villages[place.lgd_code], lang) for place in under if place.level == "gram_panchayat"]
    if villages[None]:
        pages.append(_panchayat(block, villages[None], lang))
    poster = PosterBlock(
        code=block.lgd_code, name=block.name, local_name=_local(block, lang),
        district=district.name if district else "", district_local=_local(district, lang) if district else None,
        panchayats=tuple(sorted((page for page in pages if page.villages), key=lambda page: page.name)),
    )
    return poster, block.state_lgd


def _panchayat(place: Place, villages: list[PosterVillage], lang: str) -> PosterPanchayat:
    ordered = tuple(sorted(villages, key=lambda village: village.name))
    return PosterPanchayat(place.lgd_code, place.name, _local(place, lang), ordered)


def _local(place: Place, lang: str) -> str | None:
    """The name in the poster's script, read as the menu reads it (Santali in Bengali script takes
    the Bengali names); none on a poster in Latin letters (English, Hinglish…)."""
    if lang == "en" or lang.endswith("_latn"):
        return None
    names = place.names or {}
    return next((names[code] for code in name_languages(lang) if names.get(code)), None)
