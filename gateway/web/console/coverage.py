"""Coverage gaps of a district: which units have nobody active, and how many villages that leaves out.

`routing.ladder.coverage` answers per village; a DCPU plans per committee ("the BCPC of Kanke has
nobody: 14 villages"), so gaps are grouped by unit and the place where the unit should sit. A
national run would be 640,000 villages: the console asks for one district at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select

from gateway.record.models import Place
from gateway.services import Services
from gateway.web.console.reading import read_only
from routing.ladder import coverage
from routing.units import REPORTABLE_LEVELS


@dataclass
class GapGroup:
    unit: str
    place: str  # where the unit should sit, "name (level code)", or "no such place in the chain"
    villages: list[str] = field(default_factory=list)


def district_gaps(services: Services, district: int) -> tuple[list[GapGroup], int]:
    """Gap groups, biggest first, and how many villages (and wards) the district has."""
    with read_only(services.engine) as session:
        villages = session.exec(select(Place.lgd_code, Place.level, Place.name).where(
            col(Place.level).in_(REPORTABLE_LEVELS), col(Place.district_lgd) == district).order_by(col(Place.name))).all()
    groups: dict[tuple[str, str | None, int | None], GapGroup] = {}
    referrals = services.referrals
    for code, level, name in villages:
        for gap in coverage(code, referrals.directory, referrals.rules, level=level):
            where = f"{gap.place.name} ({gap.place.level} {gap.place.lgd_code})" if gap.place else "no such place in the chain"
            key = (gap.unit, gap.place.level, gap.place.lgd_code) if gap.place else (gap.unit, None, None)
            groups.setdefault(key, GapGroup(gap.unit, where)).villages.append(f"{name} ({code})")
    return sorted(groups.values(), key=lambda g: (-len(g.villages), g.unit, g.place)), len(villages)
