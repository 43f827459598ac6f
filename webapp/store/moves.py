"""Moving a booking to another time: the three conditional writes a move is made of.

A booking lives on the item of its slot. Moving it from slot A to slot B:

1. `claim`: B, AVAILABLE -> PENDING with the patient's details copied from A (and the
   booking's identity: its `requestedAt`, `bookingRef` and the list of `moves`). The
   condition (`status = AVAILABLE AND slotStart > now`) decides races for B.
2. `release`: A, still in the status it was read in and still the same request ->
   RESCHEDULED, pointing at B (`rescheduledTo...`). This decides races for A (a staff
   decline, a patient cancel in another tab).
3. `unclaim` (only when 2 failed): B back to AVAILABLE, on condition that it still holds
   this very claim; the compensation of 1.

No transactions (dynalite has none; the same code runs on DynamoDB), so between 1 and 2
the patient briefly holds both times. Both are never lost, and B is never given twice.

The booking's identity survives a move: `requestedAt` is carried over unchanged (the
private link and the notification keys hold it), and `bookingRef` names the item the
booking was first made on (the calendar UID is derived from it).
"""

from __future__ import annotations

from typing import Any

from .appointments import AVAILABLE, PENDING
from .table import Table

RESCHEDULED = "RESCHEDULED"  # the record a booking left when it moved to another time
# What a claim copies from the booking it moves (never staff decisions); its language, so
# the emails about the new time are written in it too.
CARRIED = ("patientName", "patientEmail", "emailKey", "notes", "requestedAt", "language")
# The new slot's practitioner, recorded on the record a move leaves behind.
TARGET_FIELDS = ("practitionerId", "practitionerName", "minutes")
# What `unclaim` removes again: everything a claim added to the slot.
CLAIM_ATTRIBUTES = (
    *CARRIED,
    "bookingRef",
    "moves",
    "inCalendar",
    "rescheduledFrom",
    "rescheduledAt",
)


def booking_ref(record: dict[str, Any]) -> str:
    """The id of the item a booking was first made on (its own id if it never moved)."""
    return record.get("bookingRef") or record["appointmentId"]


def move_entry(record: dict[str, Any], target: dict[str, Any], at: str) -> dict[str, str]:
    """One line of a booking's history: from which slot and time to which, and when."""
    return {
        "fromId": record["appointmentId"],
        "from": record["slotStart"],
        "toId": target["appointmentId"],
        "to": target["slotStart"],
        "at": at,
    }


def moved_booking(left: dict[str, Any]) -> dict[str, Any]:
    """The booking as it is after a move, from the RESCHEDULED record it left behind.

    A pure function of that one record, so the notifier can describe the move from the
    record's own change (the stream carries each item's change separately).
    """
    target = {
        "appointmentId": left["rescheduledTo"],
        "appointmentDate": left["rescheduledToDate"],
        "appointmentTime": left["rescheduledToTime"],
        "slotStart": left["rescheduledToStart"],
    }
    booking = {name: left[name] for name in CARRIED if name in left}
    booking.update(target)
    booking.update(
        status=PENDING,
        bookingRef=booking_ref(left),
        moves=[*left.get("moves", []), move_entry(left, target, left["rescheduledAt"])],
        inCalendar=bool(left.get("inCalendar")) or left.get("movedWhile") == "ACCEPTED",
        rescheduledFrom=left["appointmentId"],
        rescheduledAt=left["rescheduledAt"],
        previousDate=left["appointmentDate"],
        previousTime=left["appointmentTime"],
    )
    for name in TARGET_FIELDS:
        moved = f"rescheduledTo{name[0].upper()}{name[1:]}"
        if moved in left:
            booking[name] = left[moved]
    return booking


class Moves:
    def __init__(self, table: Table):
        self.table = table

    def claim(
        self, target_id: str, booking: dict[str, Any], now_slot: str, now_iso: str
    ) -> dict[str, Any] | None:
        """Step 1: the AVAILABLE slot `target_id` takes `booking`'s fields; returns the new
        item, or None when the slot is not available (taken, removed or started)."""
        values: dict[str, Any] = {":available": AVAILABLE, ":now_slot": now_slot, ":now": now_iso}
        names = {"#status": "status"}
        sets = ["#status = :pending", "updatedAt = :now"]
        values[":pending"] = PENDING
        for number, name in enumerate(CLAIM_ATTRIBUTES):
            if name in booking:
                names[f"#a{number}"] = name
                values[f":a{number}"] = booking[name]
                sets.append(f"#a{number} = :a{number}")
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(target_id),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=(
                "attribute_exists(appointmentId) AND #status = :available AND slotStart > :now_slot"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self.table.to_item(values),
            ReturnValues="ALL_NEW",
        )
        return None if response is None else self.table.from_item(response["Attributes"])

    def release(
        self, record: dict[str, Any], target: dict[str, Any], now_slot: str, now_iso: str
    ) -> dict[str, Any] | None:
        """Step 2: the booking's old item -> RESCHEDULED, only while it is exactly as read
        (same status, same request, not started). Returns the new image, or None."""
        changes = {
            "status": RESCHEDULED,
            "movedWhile": record["status"],
            "rescheduledTo": target["appointmentId"],
            "rescheduledToDate": target["appointmentDate"],
            "rescheduledToTime": target["appointmentTime"],
            "rescheduledToStart": target["slotStart"],
            "rescheduledAt": target["rescheduledAt"],
            "updatedAt": now_iso,
        }
        # With whom the booking now is (the notifier describes the move from this record).
        changes.update(
            {
                f"rescheduledTo{name[0].upper()}{name[1:]}": target[name]
                for name in TARGET_FIELDS
                if name in target
            }
        )
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":was": record["status"],
            ":requested_at": record["requestedAt"],
            ":now_slot": now_slot,
        }
        sets = []
        for number, (name, value) in enumerate(changes.items()):
            names[f"#c{number}"] = name
            values[f":c{number}"] = value
            sets.append(f"#c{number} = :c{number}")
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(record["appointmentId"]),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=(
                "#status = :was AND requestedAt = :requested_at AND slotStart > :now_slot"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self.table.to_item(values),
            ReturnValues="ALL_NEW",
        )
        return None if response is None else self.table.from_item(response["Attributes"])

    def unclaim(self, claimed: dict[str, Any], now_iso: str) -> bool:
        """Step 3 (compensation): the claimed slot back to AVAILABLE, only while it still
        holds this claim untouched (PENDING, same request, moved from the same item)."""
        names = {"#status": "status"}
        removes = []
        for number, name in enumerate(CLAIM_ATTRIBUTES):
            names[f"#r{number}"] = name
            removes.append(f"#r{number}")
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(claimed["appointmentId"]),
            UpdateExpression="SET #status = :available, updatedAt = :now REMOVE "
            + ", ".join(removes),
            ConditionExpression=(
                "#status = :pending AND requestedAt = :requested_at AND rescheduledFrom = :from"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self.table.to_item(
                {
                    ":available": AVAILABLE,
                    ":pending": PENDING,
                    ":now": now_iso,
                    ":requested_at": claimed["requestedAt"],
                    ":from": claimed["rescheduledFrom"],
                }
            ),
        )
        return response is not None
