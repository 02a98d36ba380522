"""The concern taxonomy (keys fixed by shared/CONTRACT.md), with priority and legal duties (DOMAIN.md).

The order is the menu's: villagers pick a concern by its number (USSD and `REPORT <village> <n>`),
so a new concern goes before `other`, the catch-all shown last.

`police=True` means the law sends every such report to the police at once, whatever the reporter
says about danger now; the rules loader then refuses a ladder without a `police: true` unit at step
1 (the shipped rules put the covering police station and the SJPU there). A concern whose police
duty depends on danger now (violence, child marriage, labour, drugs) keeps `police=False` and
names the police station in its urgent ladder instead (routing/rules.yaml says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Priority = Literal["emergency", "urgent", "routine"]


@dataclass(frozen=True)
class Concern:
    key: str
    priority: Priority  # when the reporter does not say the child is in danger now
    police: bool  # the law sends every report to the police at once (see the module docstring)
    law: str


CONCERNS: tuple[Concern, ...] = (
    # Anyone who knows must tell the SJPU or the local police; not telling is an offence.
    Concern("sexual_abuse", "emergency", True, "POCSO s.19(1), s.21"),
    Concern("child_marriage", "urgent", False, "PCMA 2006 s.16, s.13; JJ s.2(14)(xii)"),
    # An offence to investigate, not a welfare referral.
    Concern("trafficking", "emergency", True, "BNS 2023 s.143; ITPA 1956; JJ s.2(14)(ix)"),
    # An FIR for every missing child (Supreme Court, Bachpan Bachao Andolan v. Union of India, 2013).
    Concern("missing_child", "emergency", True, "FIR mandatory (SC 2013); JJ s.32"),
    # JJ s.32 lets the finder tell Childline, the police, the CWC or the DCPU: police are one choice.
    Concern("abandoned_child", "emergency", False, "JJ s.31, s.32; JJ s.2(14)(vi)"),
    Concern("physical_violence", "urgent", False, "JJ s.75; JJ s.2(14)(iii)"),
    # The labour inspector and the DM enforce CALPRA (s.17, s.17A); police join a rescue (s.14A).
    Concern("child_labour", "urgent", False, "CALPRA 1986 s.17, s.17A; JJ s.2(14)(ii)"),
    # Using a child to beg is an offence (JJ s.76); a non-guardian who does is presumed to have
    # kidnapped the child (BNS s.139(3), cognizable): the police take the child from that adult.
    Concern("begging", "urgent", True, "JJ s.76, BNS s.139; JJ s.2(14)(ii)"),
    Concern("corporal_punishment", "routine", False, "RTE 2009 s.17"),
    # The CWC orders sponsorship or foster care (JJ s.45, s.44) through the SFCAC.
    Concern("orphan_support", "routine", False, "JJ s.2(14)(vi), s.44, s.45"),
    Concern("neglect_dropout", "routine", False, "JJ s.2(14)(iii), (v); RTE 2009 s.8, s.9"),
    Concern("other", "routine", False, ""),
    # Added in issue 16, after `other`: the numbers 1–12 are the ones mobilisers already type in a
    # one-line SMS report (`REPORT <village> 12` is still "other"); a new concern takes a new number.
    # A runaway is a missing child until found: the same FIR duty.
    Concern("runaway", "emergency", True, "JJ s.2(14)(vii), s.32; FIR mandatory (SC 2013)"),
    # Taken away for work by an agent: trafficking for labour, an offence to investigate.
    Concern("labour_migration", "urgent", True, "BNS 2023 s.143; CALPRA 1986; JJ s.2(14)(ii), (ix)"),
    # The child needs care, not prosecution; the supplier's offence (JJ s.77) is for the police when urgent.
    Concern("substance_abuse", "urgent", False, "JJ s.2(14)(ix); JJ s.77"),
    Concern("disability_neglect", "urgent", False, "JJ s.2(14)(iv)"),
)
BY_KEY = {concern.key: concern for concern in CONCERNS}
KEYS: tuple[str, ...] = tuple(BY_KEY)
