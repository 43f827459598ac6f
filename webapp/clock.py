"""The current time in the clinic's time zone, and how dates and times are written.

In one place so tests can move the clock (`utcnow`) and every page and email writes a
date the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def clinic_now(tz: ZoneInfo) -> datetime:
    return utcnow().astimezone(tz)


def today(tz: ZoneInfo) -> date:
    return clinic_now(tz).date()


def slot_key(moment: datetime) -> str:
    """The sortable `slotStart` form of a local time: YYYY-MM-DDTHH:MM."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def now_slot(tz: ZoneInfo) -> str:
    """Now, in the clinic's zone, as a `slotStart`: a slot at or before it has started."""
    return slot_key(clinic_now(tz))


def iso_timestamp() -> str:
    return utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")


def long_date(value: str | date, year: bool = True) -> str:
    """2030-06-03 -> "Monday 3 June 2030" ("Monday 3 June" without the year).

    The day of the month is formatted by Python, not by a platform-specific strftime flag.
    """
    day = date.fromisoformat(value) if isinstance(value, str) else value
    written = f"{day:%A} {day.day} {day:%B}"
    return f"{written} {day.year}" if year else written


def clinic_time(value: str, tz: ZoneInfo) -> str:
    """A stored UTC timestamp (2026-11-25T09:58:19Z) as staff read it, in the clinic's zone."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz)
    except (AttributeError, TypeError, ValueError):
        return str(value)
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"
