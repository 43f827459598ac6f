"""Deciding: which emails a status change means.

`decide(old, new)` is a pure function of a change's two item images (the DynamoDB
stream's OldImage/NewImage, or the same pair handed over in-process): it returns the
notices the change calls for and nothing else. `reminder(item)` is the notice a
scheduled run sends before an accepted appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store.appointments import (
    ACCEPTED,
    AVAILABLE,
    CANCELLED,
    DECLINED,
    PENDING,
    UNCONFIRMED,
)
from ..store.moves import RESCHEDULED, moved_booking

# Kinds of email. The kind is part of the de-duplication key, so never rename one.
RECEIVED = "request-received"
STAFF_NEW_REQUEST = "staff-new-request"
ACCEPTED_KIND = "accepted"
DECLINED_KIND = "declined"
CANCELLED_KIND = "cancelled"
REMINDER = "reminder"
RESCHEDULED_KIND = "rescheduled"
KINDS = (
    RECEIVED,
    STAFF_NEW_REQUEST,
    ACCEPTED_KIND,
    DECLINED_KIND,
    CANCELLED_KIND,
    REMINDER,
    RESCHEDULED_KIND,
)

Image = dict[str, Any] | None


@dataclass(frozen=True)
class Notice:
    """One email to send about one booking request (an item image)."""

    kind: str
    item: dict[str, Any]
    # A cancellation of an accepted appointment also withdraws its calendar event (as
    # does any end of a booking whose event a move put in the patient's calendar).
    withdraws_event: bool = False

    @property
    def appointment_id(self) -> str:
        return self.item["appointmentId"]

    @property
    def dedup_key(self) -> str:
        """Identifies this email for this booking request: sent at most once."""
        return f"notification#{self.appointment_id}#{self.item['requestedAt']}#{self.kind}"


def _is_booking(image: Image) -> bool:
    return bool(
        image
        and image.get("appointmentId")
        and image.get("requestedAt")
        and image.get("patientEmail")
        and image.get("slotStart")
    )


def decide(old: Image, new: Image) -> list[Notice]:
    """The emails a change from `old` to `new` means; [] for anything else.

    Decided from the two images alone, so a duplicate or late stream record can only
    repeat (and be de-duplicated) what its own change meant: "accepted" is only ever
    sent for a change whose new image is ACCEPTED, and so on.
    """
    if not _is_booking(new):
        return []  # removals, AVAILABLE slots, de-dup records, other records
    old_status = old.get("status") if old else None
    new_status = new.get("status")
    same_request = bool(old) and old.get("requestedAt") == new.get("requestedAt")
    in_calendar = bool(old and old.get("inCalendar"))

    if new_status == PENDING and old_status in (None, AVAILABLE):
        if new.get("rescheduledFrom"):
            # A move's claim of its new time: the move may still be undone. Its one
            # email comes from the old item's change to RESCHEDULED, which is final.
            return []
        return [Notice(RECEIVED, new), Notice(STAFF_NEW_REQUEST, new)]
    if new_status == UNCONFIRMED and old_status in (None, AVAILABLE):
        # Email confirmation required: only the patient's email (with the link to
        # confirm); the clinic hears of the request once it is confirmed.
        return [Notice(RECEIVED, new)]
    if not same_request:
        return []
    if old_status == UNCONFIRMED and new_status == PENDING:
        return [Notice(STAFF_NEW_REQUEST, new)]
    if old_status == PENDING and new_status == ACCEPTED:
        return [Notice(ACCEPTED_KIND, new)]
    if old_status == PENDING and new_status == DECLINED:
        return [Notice(DECLINED_KIND, new, withdraws_event=in_calendar)]
    if old_status in (PENDING, ACCEPTED) and new_status == CANCELLED:
        withdraws = old_status == ACCEPTED or in_calendar
        return [Notice(CANCELLED_KIND, new, withdraws_event=withdraws)]
    if old_status in (PENDING, ACCEPTED) and new_status == RESCHEDULED:
        # The patient is told; the clinic has a request waiting at the new time.
        moved = moved_booking(new)
        return [Notice(RESCHEDULED_KIND, moved), Notice(STAFF_NEW_REQUEST, moved)]
    return []


def reminder(item: dict[str, Any]) -> Notice | None:
    """The reminder for an ACCEPTED appointment, or None if the item isn't one."""
    if item.get("status") != ACCEPTED or not _is_booking(item):
        return None
    return Notice(REMINDER, item)


def owed(item: dict[str, Any]) -> list[Notice]:
    """The emails a booking's *current* state means, recomputed from the item alone.

    What a stream record would have said about the last change that led here: a PENDING
    request owes "request received" (and the staff notice), or the "moved" email (and the
    staff notice) if a move brought it here, ACCEPTED the confirmation,
    DECLINED the refusal, CANCELLED the cancellation (withdrawing the calendar event if it
    had been accepted: only acceptance leaves `decidedAt` on a cancelled request). The
    de-duplication claims say which of these went out already.
    """
    if not _is_booking(item):
        return []
    status = item.get("status")
    if status == PENDING and item.get("rescheduledFrom"):
        # A moved booking's new time: what it owes is what its move meant (see `decide`),
        # the patient's "moved" email and the staff notice, never a "request received".
        # Those notices name this item and the booking's unchanged requestedAt, as the
        # move's own (`moved_booking` of the record it left) do, so their de-duplication
        # keys are the same and an email the move delivered is not sent again.
        moved = _as_moved(item)
        return [Notice(RESCHEDULED_KIND, moved), Notice(STAFF_NEW_REQUEST, moved)]
    if status == PENDING:
        return [Notice(RECEIVED, item), Notice(STAFF_NEW_REQUEST, item)]
    if status == ACCEPTED:
        return [Notice(ACCEPTED_KIND, item)]
    if status == DECLINED:
        return [Notice(DECLINED_KIND, item)]
    if status == CANCELLED:
        return [Notice(CANCELLED_KIND, item, withdraws_event=bool(item.get("decidedAt")))]
    return []


def _as_moved(item: dict[str, Any]) -> dict[str, Any]:
    """A moved booking's new item with the time it left, as `moved_booking` describes it
    (the claim does not copy the previous date and time; its last move entry has them)."""
    moves = item.get("moves") or []
    last = moves[-1] if moves else {}
    if last.get("toId") != item["appointmentId"] or "T" not in last.get("from", ""):
        return item
    previous_date, previous_time = last["from"].split("T", 1)
    return {**item, "previousDate": previous_date, "previousTime": previous_time}
