"""A case's life in the words every part of the gateway shares: its statuses, the outcomes it may
be closed with, and the clock it is read by.

Pure data, imported by the menus (status texts), the referral loop, the API and the console alike,
so that the API cannot accept an outcome the console does not know, nor a status mean two things.
"""

from __future__ import annotations

from datetime import timedelta, timezone

# open: alerts are out and the ladder climbs until someone acknowledges; acknowledged: a unit took
# it up (its duties run, routing.duties); closure_proposed: a committee says it is done and the
# district checks; resolved: closed with one of OUTCOMES. How a case moves: routing.casework.
STATUSES: tuple[str, ...] = ("open", "acknowledged", "closure_proposed", "resolved")

# How a case may be closed (key → the console's label). "other" needs a note saying what happened.
OUTCOMES: dict[str, str] = {
    "rescued": "Child rescued",
    "produced_before_cwc": "Produced before the CWC",
    "referred_to_scheme": "Referred to a scheme",
    "no_concern_found": "No concern found",
    "other": "Other (see note)",
}

# Every time shown to a person (SMS, console, exports, week boundaries) is India's: UTC+05:30,
# no daylight saving. Everything stored is UTC.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
