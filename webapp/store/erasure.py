"""Forgetting patients: the reads and conditional writes of retention and erasure.

A booking keeps its non-personal record (date, time, practitioner, status, who decided
and when) and loses the fields that identify its patient (`PATIENT_FIELDS`). Removing
`emailKey` also takes the item out of the email index (a sparse index), so an erased
booking can no longer be found by its patient's address.

- Retention (`old_bookings`, `clear_old`): bookings are found through the status index,
  one status partition at a time, by `slotStart` below the cutoff; the write removes the
  fields only while the item is still older than the cutoff and still holds them.
- A patient's request (`bookings_of`, `erase_booking`): bookings are found through the
  email index under every key an address may have been stored with; the write removes
  the fields only while the item still belongs to that key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .appointments import ACCEPTED, CANCELLED, DECLINED, EXPIRED, PENDING, UNCONFIRMED
from .moves import RESCHEDULED
from .open_requests import OpenRequests
from .suppressions import suppression_key
from .table import EMAIL_INDEX, STATUS_INDEX, Table, translate_errors

# Every field that identifies a patient. `decisionReason` is free text written to the
# patient and may name them; `submissionKey` ties the booking to a browser session.
# Not here: `language` (the booking's "en" or "es") names nobody, so it stays with the
# non-personal record.
PATIENT_FIELDS = (
    "patientName",
    "patientEmail",
    "emailKey",
    "notes",
    "submissionKey",
    "decisionReason",
)
# The statuses a booking can be in. AVAILABLE and REMOVED items never hold a patient
# (a move's compensation removes what its claim added), so retention never reads them.
# In the order bookings move between them (open before decided, before closed): a booking
# that changes status while a run reads the partitions moves to one still to be read.
BOOKED_STATUSES = (UNCONFIRMED, PENDING, ACCEPTED, DECLINED, CANCELLED, EXPIRED, RESCHEDULED)
# The open statuses a patient's erasure cancels when the appointment is still ahead.
OPEN_STATUSES = (PENDING, ACCEPTED, UNCONFIRMED)
# Up to which slotStart a completed retention run has cleared every booking.
WATERMARK_KEY = "retention#watermark"
FIRST_SLOT = "0000-01-01T00:00"
PAGE_SIZE = 100

_HOLDS_PATIENT = " OR ".join(f"attribute_exists({name})" for name in PATIENT_FIELDS)
_REMOVE = "REMOVE " + ", ".join(PATIENT_FIELDS)


class Erasure:
    def __init__(self, table: Table):
        self.table = table

    # -- retention -----------------------------------------------------------------------
    def old_bookings(self, status: str, after: str, before: str) -> Iterator[list[dict]]:
        """Pages of `status` bookings with `after` <= slotStart < `before` that still hold
        patient fields (the filter skips records already cleared): id and address only."""
        params: dict[str, Any] = {
            "TableName": self.table.name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status AND slotStart BETWEEN :lo AND :hi",
            "FilterExpression": f"slotStart < :hi AND ({_HOLDS_PATIENT})",
            "ProjectionExpression": "appointmentId, emailKey, patientEmail",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": self.table.to_item(
                {":status": status, ":lo": after, ":hi": before}
            ),
            "Limit": PAGE_SIZE,
        }
        while True:
            with translate_errors():
                response = self.table.client.query(**params)
            items = [self.table.from_item(item) for item in response.get("Items", [])]
            if items:
                yield items
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            params["ExclusiveStartKey"] = last_key

    def clear_old(self, appointment_id: str, before: str, now_iso: str) -> bool:
        """Remove the patient fields of a booking that starts before `before`; False if
        it is no longer older than that or holds nothing to remove."""
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(appointment_id),
            UpdateExpression=f"SET patientDataErasedAt = :now {_REMOVE}",
            ConditionExpression=(
                f"attribute_exists(#status) AND slotStart < :before AND ({_HOLDS_PATIENT})"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=self.table.to_item({":now": now_iso, ":before": before}),
        )
        return response is not None

    def watermark(self) -> str:
        item = self.table.get(WATERMARK_KEY)
        return (item or {}).get("clearedBefore", FIRST_SLOT)

    def raise_watermark(self, before: str, now_iso: str) -> None:
        """Record that every booking before `before` is cleared (never lowers it)."""
        self.table.conditional(
            "update_item",
            Key=self.table.key(WATERMARK_KEY),
            UpdateExpression="SET clearedBefore = :before, updatedAt = :now",
            ConditionExpression="attribute_not_exists(clearedBefore) OR clearedBefore < :before",
            ExpressionAttributeValues=self.table.to_item({":before": before, ":now": now_iso}),
        )

    # -- a patient's records -------------------------------------------------------------
    def bookings_of(self, email_keys: list[str]) -> list[dict[str, Any]]:
        """Every booking stored under any of `email_keys` (full items, by slotStart)."""
        ids: list[str] = []
        for key in email_keys:
            for entry in self.table.query_all(
                {
                    "IndexName": EMAIL_INDEX,
                    "KeyConditionExpression": "emailKey = :key",
                    "ExpressionAttributeValues": {":key": {"S": key}},
                }
            ):
                if entry["appointmentId"] not in ids:
                    ids.append(entry["appointmentId"])
        items = [self.table.get(item_id) for item_id in ids]
        found = [item for item in items if item and item.get("emailKey") in email_keys]
        return sorted(found, key=lambda item: (item.get("slotStart", ""), item["appointmentId"]))

    def erase_booking(
        self, item: dict[str, Any], now_iso: str, cancel: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Remove the patient fields of a booking still stored under its `emailKey`.

        With `cancel` (the fields of a cancellation), the booking must still be open and
        is cancelled in the same write: the new image holds no address, so no email about
        it is ever sent. Returns the new item, or None when the condition did not hold."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":key": item["emailKey"], ":now": now_iso}
        assignments = ["patientDataErasedAt = :now"]
        condition = "emailKey = :key"
        if cancel:
            names["#status"] = "status"
            refs = []
            for number, status in enumerate(OPEN_STATUSES):
                values[f":open{number}"] = status
                refs.append(f":open{number}")
            condition += f" AND #status IN ({', '.join(refs)})"
            for number, (name, value) in enumerate(cancel.items()):
                names[f"#c{number}"] = name
                values[f":c{number}"] = value
                assignments.append(f"#c{number} = :c{number}")
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(item["appointmentId"]),
            UpdateExpression=f"SET {', '.join(assignments)} {_REMOVE}",
            ConditionExpression=condition,
            ExpressionAttributeValues=self.table.to_item(values),
            ReturnValues="ALL_NEW",
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        return None if response is None else self.table.from_item(response["Attributes"])

    def counter(self, email_key: str) -> dict[str, Any] | None:
        return self.table.get(OpenRequests.key(email_key))

    def drop_counter_entry(self, email_key: str, appointment_id: str) -> None:
        """Remove one booking's entry from its address's open-request counter, and the
        counter itself once it holds no entry (a later booking writes a new one)."""
        key = self.table.key(OpenRequests.key(email_key))
        self.table.conditional(
            "update_item",
            Key=key,
            UpdateExpression="REMOVE entries.#id ADD version :one",
            ConditionExpression="attribute_exists(entries.#id)",
            ExpressionAttributeNames={"#id": appointment_id},
            ExpressionAttributeValues=self.table.to_item({":one": 1}),
        )
        self.table.conditional(
            "delete_item",
            Key=key,
            ConditionExpression="attribute_exists(entries) AND size(entries) = :zero",
            ExpressionAttributeValues=self.table.to_item({":zero": 0}),
        )

    def delete_counter(self, email_key: str) -> bool:
        return self._delete(OpenRequests.key(email_key), "attribute_exists(entries)")

    def suppression(self, address: str) -> dict[str, Any] | None:
        item = self.table.get(suppression_key(address))
        return item if item and "status" not in item else None

    def delete_suppression(self, address: str, recorded_before: str | None = None) -> bool:
        """Delete an address's suppression (only one recorded before the given time)."""
        condition = "attribute_exists(suppressedAt) AND attribute_not_exists(#status)"
        values = None
        if recorded_before:
            condition += " AND suppressedAt < :before"
            values = {":before": recorded_before}
        return self._delete(suppression_key(address), condition, values)

    def claims_of(self, appointment_id: str, requested_at: str, kinds) -> list[dict]:
        """The notification claims of one booking request (which emails were sent)."""
        found = []
        for kind in kinds:
            item = self.table.get(f"notification#{appointment_id}#{requested_at}#{kind}")
            if item and "status" not in item:
                found.append({"email": kind, "sentAt": item.get("recordedAt")})
        return found

    def _delete(self, item_id: str, condition: str, values: dict | None = None) -> bool:
        params: dict[str, Any] = {
            "Key": self.table.key(item_id),
            "ConditionExpression": condition,
        }
        if "#status" in condition:
            params["ExpressionAttributeNames"] = {"#status": "status"}
        if values:
            params["ExpressionAttributeValues"] = self.table.to_item(values)
        return self.table.conditional("delete_item", **params) is not None
