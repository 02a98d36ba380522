"""Place names and the pickers the console's filters offer, always within the staff member's scope."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from gateway.record.directory import places_by_key
from gateway.record.models import Case, Place
from gateway.referrals.actions import Principal
from menus.engine import PlaceKey


def of_cases(session: Session, cases: Iterable[Case]) -> dict[PlaceKey, Place]:
    """Every place the cases name (village or ward, block, district), keyed by (level, code)."""
    return places_by_key(session, (key for case in cases for key in case.place_keys().values()))


def name_of(places: dict[PlaceKey, Place], key: PlaceKey | None, missing: str = "—") -> str:
    place = places.get(key) if key else None
    return place.name if place else (str(key[1]) if key else missing)


def districts(session: Session, who: Principal) -> list[Place]:
    """The districts a staff member may pick: their own, or every district for admin and viewer."""
    query = select(Place).where(col(Place.level) == "district").order_by(col(Place.name))
    if who.role == "district":
        query = query.where(col(Place.lgd_code) == who.district_lgd)
    return list(session.exec(query))


def blocks(session: Session, district: int | None) -> list[Place]:
    if district is None:
        return []
    query = select(Place).where(col(Place.level) == "block", col(Place.district_lgd) == district)
    return list(session.exec(query.order_by(col(Place.name))))


def scoped_district(who: Principal, asked: int | None) -> int | None:
    """A district user is pinned to their district whatever they ask for; others choose (None: all)."""
    return who.district_lgd if who.role == "district" else asked


def in_scope(session: Session, who: Principal, level: str, place_lgd: int) -> Place | None:
    """The place, if it exists and the staff member may see it (a district user: inside their district)."""
    place = session.get(Place, {"level": level, "lgd_code": place_lgd})
    if place is None:
        return None
    if who.role == "district" and place.district_lgd != who.district_lgd:
        return None
    return place
