"""Availability: the open times patients can book. List them (through the cache), create
them, remove them; and the helpers that name, parse and group times and days.

An open time is an AVAILABLE item of the table (a "slot"). Booking one is the business of
`bookings.py`; this module never writes patient data.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from . import clock
from .cache import SlotCache
from .notifications import events
from .settings import Settings
from .store import Store
from .store.appointments import AVAILABLE, public_slot, slot_start
from .store.errors import Conflict, ConflictingChange
from .store.schedule import REMOVED_BY_STAFF

DEFAULT_TIMES = (
    "09:00,09:30,10:00,10:30,11:00,11:30,13:00,13:30,14:00,14:30,15:00,15:30,16:00,16:30"
)
log = logging.getLogger(__name__)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def slot_id(day: date, time: str, practitioner_id: str | None = None) -> str:
    """Deterministic id for a populated slot, so populating twice creates nothing new
    (the seed's form for the default practitioner; see practitioners.py)."""
    from .practitioners import slot_id as practitioner_slot_id

    return practitioner_slot_id(day, time, practitioner_id)


def has_started(slot: dict[str, Any], now_slot: str) -> bool:
    """Whether a slot or booking has started by `now_slot` (a public slot has no
    `slotStart`, so it is derived from the date and time)."""
    start = slot.get("slotStart") or slot_start(slot["appointmentDate"], slot["appointmentTime"])
    return start <= now_slot


def parse_times(raw: str) -> list[str]:
    """ "09:00, 09:30" -> ["09:00", "09:30"] (sorted, unique); ValueError if any is not HH:MM."""
    times = sorted({part.strip() for part in raw.split(",") if part.strip()})
    bad = [t for t in times if not _TIME.match(t)]
    if bad or not times:
        raise ValueError(f"times must be HH:MM (24h), comma separated; got {raw!r}")
    return times


def upcoming_days(start: date, count: int, skip_weekends: bool) -> list[date]:
    days = [start + timedelta(days=offset) for offset in range(count)]
    if skip_weekends:
        days = [day for day in days if day.weekday() < 5]
    return days


def group_by_day(slots: list[dict]) -> list[tuple[date, list[dict]]]:
    """Slots in start order -> [(day, that day's slots)], for pages that list by day."""
    return [
        (date.fromisoformat(day), list(day_slots))
        for day, day_slots in groupby(slots, key=lambda slot: slot["appointmentDate"])
    ]


class Availability:
    def __init__(self, settings: Settings, store: Store, cache: SlotCache):
        self.settings = settings
        self.store = store
        self.cache = cache

    def now_slot(self) -> str:
        return clock.now_slot(self.settings.tz)

    def today(self) -> date:
        return clock.today(self.settings.tz)

    # -- reads ---------------------------------------------------------------------------
    def listing(
        self, start: date | None = None, end: date | None = None, practitioner: str | None = None
    ) -> tuple[str, str]:
        """The JSON array of future AVAILABLE slots in [start, end] (clinic-local days), of
        one practitioner if given, as the API serves it; (body, cache outcome). A cached
        body is returned as stored: it is only served until its first slot starts (see
        cache.py). Slots carry their practitioner's name, so a hit reads nothing else."""
        first_day = max(start or self.today(), self.today())
        window = f"{first_day.isoformat()}|{end.isoformat() if end else ''}"
        if practitioner is not None:
            window += f"|{practitioner}"
        outcome, body, epoch = self.cache.get(window)
        if body is None:
            slots = self.read_open(start, end, practitioner)
            body = json.dumps(slots, separators=(",", ":"))
            self.cache.fill(window, body, self._valid_until(slots), epoch)
        return body, outcome

    def list_open(
        self, start: date | None = None, end: date | None = None, practitioner: str | None = None
    ) -> tuple[list[dict[str, str]], str]:
        """Future AVAILABLE slots in [start, end] (clinic-local days); (slots, cache outcome)."""
        body, outcome = self.listing(start, end, practitioner)
        return json.loads(body), outcome

    def open_days(
        self, start: date, end: date, practitioner: str | None = None
    ) -> tuple[dict[str, int], str]:
        """How many future AVAILABLE slots each day of [start, end] has (days without any
        are absent), of one practitioner if given; (counts, cache outcome). One Query of
        the window's index entries projected to `slotStart` fills it; it is cached as a
        window of its own, valid until its first slot starts, and dropped with the
        listings on every change."""
        first_day = max(start, self.today())
        window = f"days|{first_day.isoformat()}|{end.isoformat()}|{practitioner or ''}"
        outcome, body, epoch = self.cache.get(window)
        if body is None:
            after = max(f"{(first_day - timedelta(days=1)).isoformat()}T23:59", self.now_slot())
            starts = self.store.appointments.open_starts(
                after, f"{end.isoformat()}T23:59", practitioner
            )
            counts: dict[str, int] = {}
            for start_at in starts:
                counts[start_at[:10]] = counts.get(start_at[:10], 0) + 1
            body = json.dumps(counts, separators=(",", ":"))
            valid_until = 0
            if starts:
                first = datetime.fromisoformat(starts[0]).replace(tzinfo=self.settings.tz)
                valid_until = int(first.timestamp())
            self.cache.fill(window, body, valid_until, epoch)
        return json.loads(body), outcome

    def _valid_until(self, slots: list[dict[str, str]]) -> int:
        """When a list stops being true by itself: its first slot's start (Unix time)."""
        if not slots:
            return 0  # nothing can start; the TTL and invalidations bound it
        first = slot_start(slots[0]["appointmentDate"], slots[0]["appointmentTime"])
        return int(datetime.fromisoformat(first).replace(tzinfo=self.settings.tz).timestamp())

    def read_open(
        self, start: date | None, end: date | None, practitioner: str | None = None
    ) -> list[dict[str, str]]:
        """Future AVAILABLE slots in [start, end], straight from the table (no cache):
        what staff see, and what fills the cache."""
        first_day = max(start or self.today(), self.today())
        # Strictly after the day before's last minute: a slot at 00:00 is on the list.
        day_before = first_day - timedelta(days=1)
        after = max(f"{day_before.isoformat()}T23:59", self.now_slot())
        until = f"{end.isoformat()}T23:59" if end else None
        if self.settings.require_email_confirmation:
            self._expire_unconfirmed(after, until)
        return self.store.appointments.list_available(after, until, practitioner)

    def _expire_unconfirmed(self, after: str, until: str | None) -> None:
        """Offer again the times of unconfirmed requests past their deadline (see
        confirmation.py), so the list does not wait for the scheduled sweep."""
        from .confirmation import Confirmation

        try:
            confirmation = Confirmation(self.settings, self.store, self.cache)
            confirmation.expire_due(after, until or "9999-12-31T23:59")
        except Exception:
            # The list is still right about every AVAILABLE slot; the sweep retries.
            log.warning("could not expire unconfirmed requests while listing")

    def get_slot(self, appointment_id: str) -> dict[str, str]:
        """The public view of a slot or booking (never patient data)."""
        return public_slot(self.store.appointments.existing(appointment_id))

    def is_bookable(self, slot: dict[str, str]) -> bool:
        return slot["status"] == AVAILABLE and not has_started(slot, self.now_slot())

    # -- writes --------------------------------------------------------------------------
    def create(
        self,
        days: Iterable[date],
        times: Iterable[str],
        on_progress: Callable[[], None] | None = None,
        practitioner: dict[str, Any] | None = None,
    ) -> tuple[int, int]:
        """Create AVAILABLE slots by hand (`source: manual`) for each day x time still in
        the future, of `practitioner` if given (else the clinic's pool, as before
        practitioners); (created, existing). A time staff removed is opened again. A
        change of weekly hours leaves these times alone."""
        now = self.now_slot()
        pid = practitioner["id"] if practitioner else None
        created = existing = 0
        opened: list[dict[str, str]] = []
        for day in days:
            for time in times:
                if slot_start(day.isoformat(), time) > now:
                    stamp = clock.iso_timestamp()
                    new_id = slot_id(day, time, pid)
                    if self.store.schedule.put_open(
                        new_id, day.isoformat(), time, practitioner, stamp, manual=True
                    ) or self.store.schedule.reopen(
                        new_id, REMOVED_BY_STAFF, now, stamp, manual=True
                    ):
                        created += 1
                        opened.append({"appointmentId": new_id, "appointmentDate": day.isoformat()})
                    else:
                        existing += 1
                if on_progress:
                    on_progress()
        if created:
            self.cache.invalidate()
            events.opened(self.settings, opened)
        return created, existing

    def remove(self, appointment_id: str) -> dict[str, Any]:
        """Remove an AVAILABLE slot (it stays as REMOVED, so the weekly roll never makes it
        again); a slot booked meanwhile raises ConflictingChange."""
        try:
            removed = self.store.schedule.remove_open(
                appointment_id, REMOVED_BY_STAFF, clock.iso_timestamp()
            )
            if removed is None:
                raise ConflictingChange(
                    self.store.appointments.existing(appointment_id), Conflict.STATUS
                )
            return removed
        finally:
            self.cache.invalidate()
