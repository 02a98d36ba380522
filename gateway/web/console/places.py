"""Place names and the pickers the console's filters offer, always within the staff member's scope."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from gateway.record.models import Place
from gateway.referrals.actions import Principal


def by_code(session: Session, codes: Iterable[int | None]) -> dict[int, Place]:
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    return {place.lgd_code: place for place in session.exec(select(Place).where(col(Place.lgd_code).in_(wanted)))}


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


def in_scope(session: Session, who: Principal, place_lgd: int) -> Place | None:
    """The place, if it exists and the staff member may see it (a district user: inside their district)."""
    place = session.get(Place, place_lgd)
    if place is None:
        return None
    if who.role == "district" and place.district_lgd != who.district_lgd:
        return None
    return place
