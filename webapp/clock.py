"""The current time in the clinic's time zone, and how dates and times are written.

In one place so tests can move the clock (`utcnow`) and every page and email writes a
date the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
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


# How each language writes a date and a time, as Babel (CLDR) patterns: English keeps the
# clinic's "Monday 3 June 2030" and 24-hour "09:00"; Spanish writes "lunes, 3 de junio de
# 2030" and "9:00". Day and month names come from Babel's locale data.
PATTERNS = {
    "en": {
        "date": "EEEE d MMMM y",
        "date_no_year": "EEEE d MMMM",
        "moment": "EEE d MMM y, HH:mm",
        "time": "HH:mm",
    },
    "es": {
        "date": "EEEE, d 'de' MMMM 'de' y",
        "date_no_year": "EEEE, d 'de' MMMM",
        "moment": "EEE d MMM y, H:mm",
        "time": "H:mm",
    },
}


def _patterns(locale: str) -> dict[str, str]:
    return PATTERNS.get(locale, PATTERNS["en"])


def long_date(value: str | date, year: bool = True, locale: str = "en") -> str:
    """2030-06-03 -> "Monday 3 June 2030" ("Monday 3 June" without the year), in `locale`."""
    # Babel's dates module and its locale data load only where a date is written, never
    # for a JSON listing (tests/test_cold_path.py).
    from babel.dates import format_date

    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, _patterns(locale)["date" if year else "date_no_year"], locale=locale)


def time_of_day(value: str, locale: str = "en") -> str:
    """A slot's "HH:MM" as `locale` writes it ("09:00" in English, "9:00" in Spanish)."""
    from babel.dates import format_time

    try:
        moment = time.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return format_time(moment, _patterns(locale)["time"], locale=locale)


def clinic_time(value: str, tz: ZoneInfo, locale: str = "en") -> str:
    """A stored UTC timestamp (2026-11-25T09:58:19Z) in the clinic's zone, as `locale`
    writes it ("Wed 25 Nov 2026, 09:58")."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz)
    except (AttributeError, TypeError, ValueError):
        return str(value)
    from babel.dates import format_datetime

    # The moment is already in the clinic's zone; Babel only writes it.
    return format_datetime(moment.replace(tzinfo=None), _patterns(locale)["moment"], locale=locale)
