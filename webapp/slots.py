"""Slot use cases: listing through the cache, booking, creating. Views call these."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from . import clock, events
from .appointments import (
    AppointmentNotFound,
    AppointmentStore,
    Booking,
    SlotUnavailable,
    TooManyOpenRequests,
    dynamodb_client,
    public_slot,
)
from .cache import SlotCache
from .settings import Settings

log = logging.getLogger(__name__)
# What an AVAILABLE slot holds before anyone books it.
SLOT_ATTRIBUTES = ("appointmentId", "appointmentDate", "appointmentTime", "slotStart", "createdAt")


def slot_id(day: date, time: str) -> str:
    """Deterministic id for a populated slot, so populating twice creates nothing new."""
    return f"{day:%Y%m%d}-{time.replace(':', '')}"


class SlotService:
    def __init__(self, settings: Settings, cache: SlotCache):
        self.settings = settings
        self.cache = cache
        self._store: AppointmentStore | None = None

    @property
    def store(self) -> AppointmentStore:
        if self._store is None:
            self._store = AppointmentStore(dynamodb_client(self.settings), self.settings.table_name)
        return self._store

    def now_slot(self) -> str:
        return clock.slot_key(clock.clinic_now(self.settings.tz))

    def today(self) -> date:
        return clock.clinic_now(self.settings.tz).date()

    def list_available(
        self, start: date | None = None, end: date | None = None
    ) -> tuple[list[dict[str, str]], str]:
        """Future AVAILABLE slots in [start, end] (clinic-local days); (slots, cache outcome)."""
        now = self.now_slot()
        first_day = max(start or self.today(), self.today())
        window = f"{first_day.isoformat()}|{end.isoformat() if end else ''}"
        outcome, slots, epoch = self.cache.get(window)
        if slots is None:
            slots = self.read_available(start, end)
            self.cache.fill(window, slots, epoch)
        # A cached list may have aged by up to the TTL: drop slots that began since.
        slots = [s for s in slots if f"{s['appointmentDate']}T{s['appointmentTime']}" > now]
        return slots, outcome

    def read_available(self, start: date | None, end: date | None) -> list[dict[str, str]]:
        """Future AVAILABLE slots in [start, end], straight from the table (no cache)."""
        first_day = max(start or self.today(), self.today())
        after = max(f"{first_day.isoformat()}T00:00", self.now_slot())
        until = f"{end.isoformat()}T23:59" if end else None
        return self.store.list_available(after, until)

    def get_slot(self, appointment_id: str) -> dict[str, str]:
        item = self.store.get(appointment_id)
        if item is None or "status" not in item:  # not a slot (e.g. a staff account)
            raise AppointmentNotFound(appointment_id)
        return public_slot(item)

    def is_bookable(self, slot: dict[str, str]) -> bool:
        start = f"{slot['appointmentDate']}T{slot['appointmentTime']}"
        return slot["status"] == "AVAILABLE" and start > self.now_slot()

    def book(self, appointment_id: str, booking: Booking) -> dict:
        self._check_open_requests(booking)
        try:
            item = self.store.book(appointment_id, booking, self.now_slot(), clock.iso_timestamp())
        except SlotUnavailable:
            # Somebody else's change beat us; make sure no cached list still offers it.
            self.cache.invalidate()
            raise
        self.cache.invalidate()
        before = {key: item[key] for key in SLOT_ATTRIBUTES if key in item}
        events.publish(self.settings, {**before, "status": "AVAILABLE"}, item)
        return item

    def _check_open_requests(self, booking: Booking) -> None:
        """Cap the open (PENDING/ACCEPTED, future) requests per address.

        Reads an eventually consistent index, so a burst of simultaneous requests can
        overshoot by a few; the per-client rate limit bounds that burst.
        """
        limit = self.settings.max_open_requests_per_email
        if self.store.count_open_requests(booking.email_key, self.now_slot()) >= limit:
            from .limits import fingerprint

            log.warning(
                "booking refused reason=open_request_cap email=%s",
                fingerprint(self.settings, "email", booking.email_key),
            )
            raise TooManyOpenRequests(limit)

    def create_slots(
        self,
        days: Iterable[date],
        times: Iterable[str],
        on_progress: Callable[[], None] | None = None,
    ) -> tuple[int, int]:
        """Create AVAILABLE slots for each day x time still in the future; (created, existing)."""
        now = self.now_slot()
        created = existing = 0
        for day in days:
            for time in times:
                if f"{day.isoformat()}T{time}" > now:
                    stamp = clock.iso_timestamp()
                    if self.store.put_slot(slot_id(day, time), day.isoformat(), time, stamp):
                        created += 1
                    else:
                        existing += 1
                if on_progress:
                    on_progress()
        if created:
            self.cache.invalidate()
        return created, existing


def upcoming_days(start: date, count: int, skip_weekends: bool) -> list[date]:
    days = [start + timedelta(days=offset) for offset in range(count)]
    if skip_weekends:
        days = [day for day in days if day.weekday() < 5]
    return days
