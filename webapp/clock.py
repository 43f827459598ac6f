"""The current time in the clinic's time zone, in one place so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def clinic_now(tz: ZoneInfo) -> datetime:
    return utcnow().astimezone(tz)


def slot_key(moment: datetime) -> str:
    """The sortable `slotStart` form of a local time: YYYY-MM-DDTHH:MM."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def iso_timestamp() -> str:
    return utcnow().isoformat(timespec="seconds").replace("+00:00", "Z")
