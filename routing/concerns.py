"""The concern taxonomy (keys fixed by shared/CONTRACT.md), with priority and legal duties (DOMAIN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Priority = Literal["emergency", "urgent", "routine"]


@dataclass(frozen=True)
class Concern:
    key: str
    priority: Priority  # when the reporter does not say the child is in danger now
    police: bool  # the law requires police/SJPU to be told (POCSO s.19/21, FIR for missing children…)
    law: str


CONCERNS: tuple[Concern, ...] = (
    Concern("sexual_abuse", "emergency", True, "POCSO s.19/21"),
    Concern("child_marriage", "urgent", False, "Prohibition of Child Marriage Act 2006"),
    Concern("trafficking", "emergency", True, "JJ Act 2(14)"),
    Concern("missing_child", "emergency", True, "FIR mandatory"),
    Concern("abandoned_child", "emergency", False, "JJ Act s.32"),
    Concern("physical_violence", "urgent", False, "JJ Act s.75"),
    Concern("child_labour", "urgent", False, "Child and Adolescent Labour Act 2016"),
    Concern("begging", "urgent", False, "JJ Act 2(14)"),
    Concern("corporal_punishment", "routine", False, "RTE Act s.17"),
    Concern("orphan_support", "routine", False, "Mission Vatsalya sponsorship"),
    Concern("neglect_dropout", "routine", False, "JJ Act 2(14)(iv)"),
    Concern("other", "routine", False, ""),
)
BY_KEY = {concern.key: concern for concern in CONCERNS}
KEYS: tuple[str, ...] = tuple(BY_KEY)
