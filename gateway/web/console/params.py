"""Query and form values as the console's pages send them: empty strings mean "not chosen"."""

from __future__ import annotations

from datetime import date, datetime

from gateway.infra.clock import as_datetime
from gateway.services import Services
from routing.lifecycle import IST


def int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 12 else None


def date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def now(services: Services) -> datetime:
    """The gateway's one clock (Redis TIME; a manual clock in tests), as an aware datetime."""
    return as_datetime(services.clock.now())


def ist_datetime(value: str | None) -> datetime | None:
    """A `datetime-local` field's value ("2026-12-20T10:00"), read as India's time."""
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)
