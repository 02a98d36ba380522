"""Query and form values as the console's pages send them: empty strings mean "not chosen"."""

from __future__ import annotations

from datetime import date, datetime

from gateway.infra.clock import as_datetime
from gateway.services import Services


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
