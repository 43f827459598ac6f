"""Rescheduling: a patient moves their booking to another open time in one step.

A booking lives on the item of its slot, so a move puts it on another item (the writes
are in `store/moves.py`): claim the new time, then release the old one, and if the
release is refused (staff declined a moment ago, the patient cancelled in another tab)
give the new time back. Only a claimed new time ever releases the old one, so a patient
never loses their time without getting the new one, and the conditional claim means a
time is never given twice.

After a move:
- the new item is PENDING (an accepted appointment goes back to the clinic to confirm)
  and carries the booking's identity: `requestedAt` unchanged, `bookingRef` (the item
  the booking was first made on, from which the calendar UID is derived), and `moves`,
  the history staff see (from which time to which, and when);
- the old item stays as a RESCHEDULED record pointing at the new one
  (`rescheduledTo`), and its time is offered again as a replacement slot with the same
  deterministic id a decline or cancel would use (`bookings.replacement_id`);
- a private link issued before the move still works: `resolve` follows the
  `rescheduledTo` pointers from the item the link names to the booking's current item
  (each hop must be the same request), and the pages redirect to the current link;
- the patient gets one email, "rescheduled", decided from the old item's change.

If the process stops between the claim and the release, the patient holds both times
(the new one shows "moved from" to staff); nothing is double-booked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from . import clock
from .availability import has_started
from .bookings import offer_again
from .cache import SlotCache
from .notifications import events
from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, AVAILABLE, PENDING
from .store.errors import Conflict, ConflictingChange, SlotUnavailable, Unavailable
from .store.moves import CLAIM_ATTRIBUTES, RESCHEDULED, booking_ref, move_entry
from .validation import ValidationFailed

log = logging.getLogger(__name__)

MOVABLE = (PENDING, ACCEPTED)
MAX_HOPS = 50  # moves followed from an old link; far more than any booking makes


@dataclass(frozen=True)
class Moved:
    """The outcome of a move: the booking's new item; whether its old time is listed."""

    record: dict[str, Any]
    time_released: bool | None


class Rescheduling:
    def __init__(self, settings: Settings, store: Store, cache: SlotCache):
        self.settings = settings
        self.store = store
        self.cache = cache

    def now_slot(self) -> str:
        return clock.now_slot(self.settings.tz)

    # -- reads ---------------------------------------------------------------------------
    def resolve(self, record: dict[str, Any]) -> dict[str, Any]:
        """The booking's current item, from any item it has lived on."""
        for _ in range(MAX_HOPS):
            if record["status"] != RESCHEDULED:
                return record
            after = self.store.appointments.get(record.get("rescheduledTo", ""))
            if (
                after is None
                or after.get("requestedAt") != record["requestedAt"]
                or after.get("rescheduledFrom") != record["appointmentId"]
            ):
                return record  # a move that never completed its claim: stay here
            record = after
        return record

    def can_move(self, record: dict[str, Any]) -> bool:
        return record["status"] in MOVABLE and not has_started(record, self.now_slot())

    # -- the move ------------------------------------------------------------------------
    def move(self, record: dict[str, Any], target_id: str) -> Moved:
        """Move the booking `record` (as just read) to the open slot `target_id`.

        Raises ValidationFailed (same time), AppointmentNotFound (no such slot),
        SlotUnavailable (taken or started: the booking is untouched) or ConflictingChange
        (the booking itself can no longer be moved).
        """
        if target_id == record["appointmentId"]:
            message = "That is already the time of this appointment."
            raise ValidationFailed(message, {"appointmentId": [message]})
        now_slot = self.now_slot()
        if record["status"] not in MOVABLE:
            raise ConflictingChange(record, Conflict.STATUS)
        if has_started(record, now_slot):
            raise ConflictingChange(record, Conflict.PAST)
        now = clock.iso_timestamp()
        target = self._claim(record, target_id, now_slot, now)
        left = self.store.moves.release(record, target, now_slot, now)
        if left is None:
            self._undo(target, now)
            current = self.store.appointments.existing(record["appointmentId"])
            if current.get("requestedAt") != record["requestedAt"]:
                raise ConflictingChange(current, Conflict.STALE)
            if current["status"] in MOVABLE and has_started(current, now_slot):
                raise ConflictingChange(current, Conflict.PAST)
            raise ConflictingChange(current, Conflict.STATUS)
        self._committed(record, left)
        return Moved(target, self._offer_again(left))

    def _claim(self, record: dict, target_id: str, now_slot: str, now: str) -> dict[str, Any]:
        booking = {name: record[name] for name in CLAIM_ATTRIBUTES if name in record}
        booking.update(
            bookingRef=booking_ref(record),
            inCalendar=bool(record.get("inCalendar")) or record["status"] == ACCEPTED,
            rescheduledFrom=record["appointmentId"],
            rescheduledAt=now,
        )
        # Read first to say why a slot cannot be had; the claim's condition decides.
        target = self.store.appointments.existing(target_id)
        if target.get("status") != AVAILABLE or has_started(target, now_slot):
            reason = Unavailable.PAST if has_started(target, now_slot) else Unavailable.TAKEN
            raise SlotUnavailable(reason)
        booking["moves"] = [*record.get("moves", []), move_entry(record, target, now)]
        claimed = self.store.moves.claim(target_id, booking, now_slot, now)
        if claimed is None:
            self.cache.invalidate()  # a cached list may still offer it
            current = self.store.appointments.existing(target_id)
            past = has_started(current, now_slot)
            raise SlotUnavailable(Unavailable.PAST if past else Unavailable.TAKEN)
        before = {k: target[k] for k in target if k not in CLAIM_ATTRIBUTES}
        self._committed({**before, "status": AVAILABLE}, claimed)
        return claimed

    def _undo(self, claimed: dict[str, Any], now: str) -> None:
        """Give the new time back after the old one could not be released."""
        if self.store.moves.unclaim(claimed, now):
            after = {k: v for k, v in claimed.items() if k not in CLAIM_ATTRIBUTES}
            self._committed(claimed, {**after, "status": AVAILABLE, "updatedAt": now})
            return
        # Somebody acted on the claim in between (staff accepted it): it stays theirs.
        log.error("could not give back the claimed time %s", claimed["appointmentId"])

    # -- helpers -------------------------------------------------------------------------
    def _committed(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.cache.invalidate()
        events.publish(self.settings, old, new)

    def _offer_again(self, left: dict[str, Any]) -> bool | None:
        """Offer the old time again (as declines and cancels do); never raises."""
        return offer_again(self.settings, self.store, self.cache, left, self.now_slot())
