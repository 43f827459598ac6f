"""The weekly roll: open times for the next BOOKING_HORIZON_DAYS from each practitioner's
weekly hours, and what changing those hours does to times already open.

- `roll()` creates every missing slot of the horizon with a conditional put on its
  deterministic id, so running it again (or twice at once) creates nothing new. It runs
  daily (`handle_roll`, an EventBridge schedule), from `flask --app webapp roll-schedule`
  and on every local start. A time staff removed or closed exists as a REMOVED item
  (store/schedule.py), so the same put refuses to re-create it; days inside a closure
  are skipped as well.
- Daylight saving: hours are wall-clock times in the clinic's zone. A time that does not
  exist on a spring-forward day (02:30 in New York) is not created; one that happens
  twice on a fall-back day is one slot (its id and `slotStart` are the local time).
- `apply_hours()` after an hours change: open times from now on that the roll made and
  the new hours no longer contain are deleted (conditionally: a time booked meanwhile
  stays); times added by hand (`source: manual`) are kept. Then the roll fills in the
  new ones. Bookings outside the new hours stay and are listed for
  staff (`outside_hours`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from . import clock
from .cache import SlotCache
from .notifications import events
from .practitioners import WEEKDAYS, Practitioners, slot_id
from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, AVAILABLE, PENDING, slot_start
from .store.schedule import is_rolled

log = logging.getLogger(__name__)


def exists_locally(day: date, hhmm: str, tz: ZoneInfo) -> bool:
    """Whether the wall-clock time happens on `day` in `tz`: a time skipped by a DST
    transition does not survive a round trip through UTC."""
    naive = datetime.combine(day, dtime.fromisoformat(hhmm))
    round_trip = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    return round_trip.replace(tzinfo=None) == naive


def day_starts(day: date, ranges: Iterable[str], minutes: int, tz: ZoneInfo) -> list[str]:
    """The appointment start times (HH:MM) of `day` in its ranges, each long enough for a
    whole appointment, leaving out times that do not exist that day."""
    starts: list[str] = []
    for text in ranges:
        start_text, end_text = text.split("-")
        start = _minutes(start_text)
        end = _minutes(end_text)
        while start + minutes <= end:
            hhmm = f"{start // 60:02d}:{start % 60:02d}"
            if exists_locally(day, hhmm, tz):
                starts.append(hhmm)
            start += minutes
    return sorted(set(starts))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def starts_for(practitioner: dict[str, Any], day: date, tz: ZoneInfo) -> list[str]:
    ranges = practitioner.get("hours", {}).get(WEEKDAYS[day.weekday()], [])
    return day_starts(day, ranges, int(practitioner["minutes"]), tz)


def is_closed(closures: Iterable[dict[str, Any]], practitioner_id: str, day: date) -> bool:
    text = day.isoformat()
    return any(
        c["start"] <= text <= c["end"] and c.get("practitionerId") in ("", None, practitioner_id)
        for c in closures
    )


@dataclass(frozen=True)
class RollResult:
    created: int
    existing: int
    skipped_closed: int
    days: int


class Schedule:
    def __init__(
        self, settings: Settings, store: Store, cache: SlotCache, practitioners: Practitioners
    ):
        self.settings = settings
        self.store = store
        self.cache = cache
        self.practitioners = practitioners

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    def horizon_end(self) -> date:
        return clock.today(self.tz) + timedelta(days=self.settings.booking_horizon_days - 1)

    def roll(
        self,
        start: date | None = None,
        end: date | None = None,
        only: str | None = None,
    ) -> RollResult:
        """Create the missing open times of [start, end] (default: today to the horizon's
        last day) from the weekly hours of every active practitioner (or only `only`)."""
        directory = self.practitioners.directory(fresh=True)
        closures = list(directory["closures"].values())
        today = clock.today(self.tz)
        first = max(start or today, today)
        last = min(end or self.horizon_end(), self.horizon_end())
        now_slot = clock.now_slot(self.tz)
        created = existing = closed = 0
        opened: list[dict[str, str]] = []
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        for practitioner in directory["practitioners"].values():
            if not practitioner.get("active", True) or not practitioner.get("hours"):
                continue
            if only is not None and practitioner["id"] != only:
                continue
            for day in days:
                starts = starts_for(practitioner, day, self.tz)
                if not starts:
                    continue
                if is_closed(closures, practitioner["id"], day):
                    closed += len(starts)
                    continue
                for hhmm in starts:
                    if slot_start(day.isoformat(), hhmm) <= now_slot:
                        continue
                    new_id = slot_id(day, hhmm, practitioner["id"])
                    made = self.store.schedule.put_open(
                        new_id, day.isoformat(), hhmm, practitioner, clock.iso_timestamp()
                    )
                    if made:
                        opened.append({"appointmentId": new_id, "appointmentDate": day.isoformat()})
                    created += made
                    existing += not made
        if created:
            self.cache.invalidate()
            events.opened(self.settings, opened)  # new hours, or a closure lifted
        log.info(
            "schedule rolled: %d created, %d existing, %d closed, %d day(s)",
            created,
            existing,
            closed,
            len(days),
        )
        return RollResult(created, existing, closed, len(days))

    def apply_hours(self, practitioner_id: str, hours: dict[str, list[str]]) -> dict[str, int]:
        """Save new weekly hours, delete the roll's open times they no longer contain (times
        added by hand stay), roll."""
        practitioner = self.practitioners.save_hours(practitioner_id, hours)
        now_slot = clock.now_slot(self.tz)
        removed = 0
        for item in self.store.schedule.in_window(AVAILABLE, now_slot, None, practitioner_id):
            if not is_rolled(item):
                continue
            day = date.fromisoformat(item["appointmentDate"])
            if item["appointmentTime"] not in starts_for(practitioner, day, self.tz):
                removed += self.store.schedule.delete_open(item["appointmentId"])
        if removed:
            self.cache.invalidate()
        result = self.roll(only=practitioner_id)
        return {"removed": removed, "created": result.created}

    def outside_hours(self, practitioner_id: str) -> list[dict[str, Any]]:
        """Future requests and accepted appointments of a practitioner with weekly hours
        that fall outside those hours (kept when the hours changed; staff decide)."""
        practitioner = self.practitioners.get(practitioner_id, field="id")
        if not practitioner.get("hours"):
            return []
        now_slot = clock.now_slot(self.tz)
        found = []
        for status in (PENDING, ACCEPTED):
            for item in self.store.schedule.in_window(status, now_slot, None, practitioner_id):
                day = date.fromisoformat(item["appointmentDate"])
                if item["appointmentTime"] not in starts_for(practitioner, day, self.tz):
                    found.append(item)
        found.sort(key=lambda item: item["slotStart"])
        return found


# -- the scheduled function ----------------------------------------------------------------
_schedule: Schedule | None = None


def handle_roll(event: dict[str, Any] | None = None, context=None) -> dict[str, int]:
    """EventBridge schedule (daily) -> the roll. Built once per Lambda process."""
    global _schedule
    from .observability import configure_logging, lambda_invocation

    if _schedule is None:
        from .extensions import build_services
        from .settings import load_settings

        settings = load_settings()
        configure_logging(settings.log_level)
        _schedule = build_services(settings).schedule
    with lambda_invocation(context):
        result = _schedule.roll()
    return {"created": result.created, "existing": result.existing, "closed": result.skipped_closed}
