"""Bookings: a patient's request for a time and its whole lifecycle.

A booking starts when a patient books an open time (`book`, with the cap on open
requests per email address), then staff accept or decline it, and either side may cancel
it. Every step is one conditional write in the store; after each, the cache is
invalidated and the change is handed to the notifications.

Giving the time back. A declined or cancelled request stays in the table as the clinic's
record (patient, times, reason, who decided). Its time is offered again as a NEW
AVAILABLE item whose id is derived from the record (`replacement_id`), in two writes:

1. the conditional update of the record (PENDING -> DECLINED, ...). This decides races:
   of an accept and a cancel, exactly one condition holds;
2. a conditional put of the replacement slot (`attribute_not_exists`), for future times.

If (1) succeeds and (2) fails (DynamoDB throttling, a crash in between), the record is
correct but the time is not listed. Nothing is double-booked: the replacement id is
deterministic, so running (2) again can only create that one item, never a second. (2)
is run again when the same action is repeated on the already-changed record, and staff
can trigger it from the booking's page ("Offer this time again").
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import clock
from .availability import has_started, slot_id
from .cache import SlotCache
from .i18n import N_
from .limits import fingerprint
from .notifications import events
from .settings import Settings
from .store import Store
from .store.appointments import (
    ACCEPTED,
    AVAILABLE,
    CANCELLED,
    DECLINED,
    EXPIRED,
    PENDING,
    UNCONFIRMED,
    PatientDetails,
)
from .store.errors import Conflict, ConflictingChange, SlotUnavailable, Unavailable
from .store.moves import RESCHEDULED
from .store.schedule import DEFAULT_ID, REMOVED, carried_fields
from .validation import ValidationFailed

log = logging.getLogger(__name__)

REASON_MAX = 500
# What an AVAILABLE slot holds before anyone books it.
# How many moves of one request the per-email cap follows to find where it lives now.
MAX_MOVES_FOLLOWED = 20
SLOT_ATTRIBUTES = (
    "appointmentId",
    "appointmentDate",
    "appointmentTime",
    "slotStart",
    "createdAt",
    "practitionerId",
    "practitionerName",
    "minutes",
)
# Records whose time is offered again as a replacement slot.
RELEASED_STATUSES = (DECLINED, CANCELLED, RESCHEDULED, EXPIRED)


def replacement_id(record: dict[str, Any]) -> str:
    """The id of the slot that offers a declined/cancelled record's time again."""
    digest = hashlib.sha256(f"{record['appointmentId']}|{record['requestedAt']}".encode())
    day = date.fromisoformat(record["appointmentDate"])
    return f"{slot_id(day, record['appointmentTime'])}-{digest.hexdigest()[:8]}"


def clean_reason(raw: Any) -> str:
    if raw is not None and not isinstance(raw, str):
        raise ValidationFailed(
            "Please give a reason.", {"decisionReason": ["The reason must be text."]}
        )
    reason = (raw or "").strip()
    if not reason:
        message = "Please give a reason for declining; the patient will see it."
        raise ValidationFailed(message, {"decisionReason": [message]})
    if len(reason) > REASON_MAX:
        message = f"Please keep the reason under {REASON_MAX} characters."
        raise ValidationFailed(message, {"decisionReason": [message]})
    return reason


@dataclass(frozen=True)
class Change:
    """The outcome of a lifecycle action."""

    record: dict[str, Any]
    changed: bool  # False when the action had already happened (a repeat)
    time_released: bool | None = None  # for declines/cancels: is the time listed again?


class TooManyOpenRequests(Exception):
    """The patient's address already has the maximum of open (future) requests."""

    def __init__(self, limit: int):
        super().__init__(f"open request limit {limit}")
        self.limit = limit


class Bookings:
    def __init__(self, settings: Settings, store: Store, cache: SlotCache):
        self.settings = settings
        self.store = store
        self.cache = cache

    def now_slot(self) -> str:
        return clock.now_slot(self.settings.tz)

    # -- a patient's request -------------------------------------------------------------
    def book(self, appointment_id: str, patient: PatientDetails) -> dict[str, Any]:
        """AVAILABLE -> PENDING for this patient; SlotUnavailable if it cannot be had,
        TooManyOpenRequests when the address already holds its maximum."""
        from .confirmation import deadline, free_expired_hold  # (it imports this module)

        now_slot, now_iso = self.now_slot(), clock.iso_timestamp()
        slot = self.store.appointments.existing(appointment_id)
        if slot["status"] == UNCONFIRMED:  # past its deadline, its time is offered again
            appointment_id, slot = free_expired_hold(self, appointment_id, slot)
        if slot["status"] != AVAILABLE or slot["slotStart"] <= now_slot:
            # Already gone (the conditional booking below would refuse it too); make sure
            # no cached list still offers it.
            self.cache.invalidate()
            raise SlotUnavailable(
                Unavailable.PAST if slot["slotStart"] <= now_slot else Unavailable.TAKEN
            )
        self._claim_open_request(patient, appointment_id, slot["slotStart"], now_slot, now_iso)
        confirm_by = deadline(self.settings) if self.settings.require_email_confirmation else None
        try:
            item = self.store.appointments.book(
                appointment_id, patient, now_slot, now_iso, confirm_by=confirm_by
            )
        except BaseException as error:
            self._release_open_request(patient, appointment_id)
            if isinstance(error, SlotUnavailable):
                # Somebody else's change beat us; make sure no cached list still offers it.
                self.cache.invalidate()
            raise
        before = {key: item[key] for key in SLOT_ATTRIBUTES if key in item}
        self._committed({**before, "status": AVAILABLE}, item)
        return item

    def _claim_open_request(
        self,
        patient: PatientDetails,
        appointment_id: str,
        slot_start: str,
        now_slot: str,
        now_iso: str,
    ) -> None:
        """Claim one of the address's open-request places before booking (see
        store/open_requests.py: claim first, book, give it back if the booking fails)."""
        limit = self.settings.max_open_requests_per_email

        def booking_state(entry_id: str, requested_at: str) -> bool | None:
            item = self.store.appointments.get(entry_id)
            if item is None or item.get("requestedAt") != requested_at:
                return None  # that request was never written
            # A request the patient moved lives on at its new time (same requestedAt).
            for _ in range(MAX_MOVES_FOLLOWED):
                if item["status"] != RESCHEDULED or not item.get("rescheduledTo"):
                    break
                moved = self.store.appointments.get(item["rescheduledTo"])
                if moved is None or moved.get("requestedAt") != requested_at:
                    return False
                item = moved
            if item["status"] == UNCONFIRMED:  # counts only until its deadline
                return item.get("confirmBy", "") > now_iso
            return item["status"] in (PENDING, ACCEPTED)

        claimed = self.store.open_requests.claim(
            patient.email_key,
            appointment_id,
            slot_start,
            limit=limit,
            now_slot=now_slot,
            now_iso=now_iso,
            booking_state=booking_state,
        )
        if not claimed:
            log.warning(
                "booking refused reason=open_request_cap email=%s",
                fingerprint(self.settings, "email", patient.email_key),
            )
            raise TooManyOpenRequests(limit)

    def _release_open_request(self, patient: PatientDetails, appointment_id: str) -> None:
        try:
            self.store.open_requests.release(patient.email_key, appointment_id)
        except Exception:
            # The entry then stops counting once its grace period is over.
            log.warning("could not give back an open-request place for %s", appointment_id)

    # -- reads ---------------------------------------------------------------------------
    def get(self, appointment_id: str) -> dict[str, Any]:
        """The booking (or slot) with this id, with everything staff may see."""
        return self.store.appointments.existing(appointment_id)

    def is_released(self, record: dict[str, Any]) -> bool | None:
        """For a declined/cancelled/moved future record: is its time offered again? None: n/a
        (not ahead, or a closure keeps it closed)."""
        if record["status"] not in RELEASED_STATUSES or not self._in_future(record):
            return None
        # The raw item: appointments.get hides REMOVED ones, and a closed replacement is one.
        replacement = self.store.table.get(replacement_id(record))
        if replacement is not None and replacement.get("status") == REMOVED:
            return None
        return replacement is not None

    # -- staff decisions -----------------------------------------------------------------
    def accept(self, appointment_id: str, staff_email: str) -> Change:
        now = clock.iso_timestamp()
        changes = {"status": ACCEPTED, "decidedBy": staff_email, "decidedAt": now, "updatedAt": now}
        old, new = self.store.appointments.transition(
            appointment_id, (PENDING,), changes, before_slot=self.now_slot()
        )
        self._committed(old, new)
        return Change(new, changed=True)

    def decline(self, appointment_id: str, staff_email: str, reason: str) -> Change:
        reason = clean_reason(reason)
        now = clock.iso_timestamp()
        changes = {
            "status": DECLINED,
            "decidedBy": staff_email,
            "decidedAt": now,
            "decisionReason": reason,
            "updatedAt": now,
        }
        try:
            old, new = self.store.appointments.transition(appointment_id, (PENDING,), changes)
        except ConflictingChange as conflict:
            # A repeated decline converges: make sure the time is offered again.
            if conflict.current["status"] == DECLINED:
                self._release(conflict.current)
            raise
        self._committed(old, new)
        return Change(new, changed=True, time_released=self._release(new))

    def cancel_by_staff(self, appointment_id: str, staff_email: str) -> Change:
        # Who accepted stays in decidedBy; who cancelled goes alongside.
        extra = {"cancelledByStaff": staff_email}
        return self._cancel(appointment_id, "staff", None, extra=extra)

    def cancel_by_patient(self, appointment_id: str, requested_at: str) -> Change:
        """Cancel the request the patient's link names; a repeat is a harmless no-op."""
        try:
            return self._cancel(appointment_id, "patient", requested_at)
        except ConflictingChange as conflict:
            current = conflict.current
            if conflict.reason == Conflict.STATUS and current["status"] == CANCELLED:
                return Change(current, changed=False, time_released=self._release(current))
            raise

    def reoffer(self, appointment_id: str) -> Change:
        """Offer a declined/cancelled/moved record's time again (idempotent)."""
        record = self.get(appointment_id)
        if record["status"] not in RELEASED_STATUSES:
            raise ConflictingChange(record, Conflict.STATUS)
        if not self._in_future(record):
            raise ConflictingChange(record, Conflict.PAST)
        return Change(record, changed=False, time_released=self._release(record))

    def _cancel(
        self, appointment_id: str, by: str, requested_at: str | None, extra: dict | None = None
    ) -> Change:
        now = clock.iso_timestamp()
        changes = {"status": CANCELLED, "cancelledAt": now, "cancelledBy": by, "updatedAt": now}
        if extra:
            changes = {**changes, **extra}
        old, new = self.store.appointments.transition(
            appointment_id,
            (PENDING, ACCEPTED, UNCONFIRMED),
            changes,
            before_slot=self.now_slot(),
            requested_at=requested_at,
        )
        self._committed(old, new)
        return Change(new, changed=True, time_released=self._release(new))

    # -- helpers -------------------------------------------------------------------------
    def _in_future(self, record: dict[str, Any]) -> bool:
        return not has_started(record, self.now_slot())

    def _committed(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.cache.invalidate()
        events.publish(self.settings, old, new)

    def _release(self, record: dict[str, Any]) -> bool | None:
        """Offer the record's time again if it is still ahead (see `offer_again`)."""
        return offer_again(self.settings, self.store, self.cache, record, self.now_slot())


def closed_by(store, record: dict[str, Any]) -> str | None:
    """The `removedBy` tag of a closure covering the record's day and practitioner, or None."""
    day = record["appointmentDate"]
    practitioner_id = record.get("practitionerId") or DEFAULT_ID
    for closure_id, closure in sorted(store.schedule.directory()["closures"].items()):
        if closure["start"] <= day <= closure["end"] and closure.get("practitionerId") in (
            "",
            None,
            practitioner_id,
        ):
            return f"closure#{closure_id}"
    return None


def offer_again(settings, store, cache, record: dict[str, Any], now_slot: str) -> bool | None:
    """Offer a released record's time again, as a new AVAILABLE item under its
    replacement id, if it is still ahead: True once it is listed, None if it has started
    or a closure covers it.

    Inside a closure (a closure's `resolve` declining its requests, or any decline, cancel
    or move there) the replacement is written straight away as that closure's REMOVED time:
    never listed, no waitlist offer, not even for a moment; lifting the closure reopens it
    like the closure's other times. The closure is recorded in the directory before its
    requests are resolved, so `resolve` always sees it here.

    Never raises: the record's change has already happened and must be reported as such.
    A failure is logged and leaves the time unlisted until a retry (see above).
    """
    if has_started(record, now_slot):
        return None
    new_id = replacement_id(record)
    try:
        closure = closed_by(store, record)
        created = store.appointments.put_slot(
            new_id,
            record["appointmentDate"],
            record["appointmentTime"],
            clock.iso_timestamp(),
            extra=carried_fields(record),
            removed_by=closure,
        )
    except Exception:
        log.exception("could not offer the time of %s again", record["appointmentId"])
        return False
    if closure is not None:
        return None
    if created:
        cache.invalidate()
        events.opened(settings, [{**record, "appointmentId": new_id}])
    return True


def conflict_message(conflict: ConflictingChange) -> str:
    """What a refused change means, in words for staff, patients and API clients (in English;
    patient pages show it in their language)."""
    current = conflict.current
    if conflict.reason == Conflict.STALE:
        return N_("This link is no longer valid for this booking; nothing was changed.")
    if conflict.reason == Conflict.PAST:
        return N_("This appointment has already started, so it can no longer be changed.")
    status = current["status"]
    if status == AVAILABLE:
        return N_("This time has no booking to change; nothing was changed.")
    if status == CANCELLED:
        if current.get("cancelledBy") == "patient":
            return N_("This booking was already cancelled by the patient; nothing was changed.")
        return N_("This booking was already cancelled by the clinic; nothing was changed.")
    if status == DECLINED:
        return N_("This request was already declined; nothing was changed.")
    if status == ACCEPTED:
        return N_("This request was already accepted; nothing was changed.")
    if status in (UNCONFIRMED, EXPIRED):  # it never reached the clinic (confirmation.py)
        return N_("The patient has not confirmed this request by email; nothing was changed.")
    if status == RESCHEDULED:
        return N_("This booking was moved to another time by the patient; nothing was changed.")
    return N_("This time was booked a moment ago; nothing was changed.")
