"""Slots and bookings: the items of the Appointments table that carry a `status`.

- A slot is an AVAILABLE item; booking it turns the same item into a PENDING request
  with the patient's details, which staff then accept or decline (or either side cancels).
- A global secondary index on (`status`, `slotStart`) lets the listing Query only the
  AVAILABLE slots of a window, so its cost follows the slots returned, not the table's
  ever-growing history. `slotStart` is the local start as `YYYY-MM-DDTHH:MM`, which sorts
  like time.
- A second index on (`practitionerKey`, `slotStart`) holds every slot item of one
  practitioner in any status, so a staff grid reads one Query per practitioner per window.
  `practitionerKey` is written when a slot item is created (bookings are updates of it,
  so it stays); items made before the index get it from `index-practitioners`.
- Every state change is a single conditional write: the condition, not a prior read,
  decides whether it happens, so concurrent requests can never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import (
    AppointmentNotFound,
    Conflict,
    ConflictingChange,
    SlotUnavailable,
    Unavailable,
)
from .open_requests import canonical_email
from .practitioner_index import PRACTITIONER_INDEX, PRACTITIONER_KEY, practitioner_key
from .table import REQUESTED_INDEX, STATUS_INDEX, Table, translate_errors

AVAILABLE = "AVAILABLE"
PENDING = "PENDING"
ACCEPTED = "ACCEPTED"
DECLINED = "DECLINED"
CANCELLED = "CANCELLED"  # a request withdrawn by the patient or the clinic
# With REQUIRE_EMAIL_CONFIRMATION (see confirmation.py): a request the patient has not yet
# confirmed from the first email, and one whose confirmation deadline passed.
UNCONFIRMED = "UNCONFIRMED"
EXPIRED = "EXPIRED"
STATUSES = (AVAILABLE, PENDING, ACCEPTED, DECLINED, CANCELLED, UNCONFIRMED, EXPIRED)

PUBLIC_SLOT_FIELDS = ("appointmentId", "appointmentDate", "appointmentTime", "status")
# Added to a public slot when the slot belongs to a named practitioner (see practitioners.py).
PRACTITIONER_FIELDS = ("practitionerId", "practitionerName")
REMOVED = "REMOVED"  # a time staff removed or closed (store/schedule.py); never listed
LAST_SLOT = "9999-12-31T23:59"
WAITLISTED = "WAITLISTED"  # a waitlist entry (store/waitlist.py): never a slot


@dataclass(frozen=True)
class PatientDetails:
    """Who asks for a time: what the booking form and the JSON API collect."""

    name: str
    email: str
    notes: str = ""
    # A keyed hash naming the browser session that sent the booking form (pages only):
    # lets a repeated submission from that session find the booking it made.
    submission: str = ""
    # The language the booking was made in ("en", "es"): every later email to the patient
    # is written in it. Not personal data, so retention keeps it (store/erasure.py).
    language: str = ""

    @property
    def email_key(self) -> str:
        """The address as the open-request cap counts it (see open_requests.py)."""
        return canonical_email(self.email)


def slot_start(day: str, time: str) -> str:
    """The `slotStart` of a slot on `day` (YYYY-MM-DD) at `time` (HH:MM), clinic-local."""
    return f"{day}T{time}"


def public_slot(item: dict[str, Any]) -> dict[str, str]:
    """The fields of a slot anyone may see: never patient data."""
    names = PUBLIC_SLOT_FIELDS + PRACTITIONER_FIELDS
    return {name: item[name] for name in names if name in item}


class Appointments:
    def __init__(self, table: Table):
        self.table = table

    # -- reads ---------------------------------------------------------------------------
    def get(self, appointment_id: str) -> dict[str, Any] | None:
        """The slot or booking with this id; None for no item (or another record kind)."""
        item = self.table.get(appointment_id)
        if item is None or item.get("status") in (None, REMOVED, WAITLISTED):
            return None
        return item

    def existing(self, appointment_id: str) -> dict[str, Any]:
        """The slot or booking with this id, or AppointmentNotFound."""
        item = self.get(appointment_id)
        if item is None:
            raise AppointmentNotFound(appointment_id)
        return item

    def list_available(
        self, after: str, until: str | None = None, practitioner_id: str | None = None
    ) -> list[dict[str, str]]:
        """AVAILABLE slots starting strictly after `after` and no later than `until`
        (of one practitioner if given: a filter on the window's Query).

        Both bounds are `slotStart` strings. Reads only the index entries of the window.
        """
        slots = self._open_in_window(
            after,
            until or LAST_SLOT,
            practitioner_id,
            "appointmentId, appointmentDate, appointmentTime, "
            "#status, slotStart, practitionerId, practitionerName",
        )
        slots.sort(key=lambda slot: (slot["slotStart"], slot["appointmentId"]))
        return [public_slot(slot) for slot in slots]

    def open_starts(self, after: str, until: str, practitioner_id: str | None = None) -> list[str]:
        """The `slotStart` of each AVAILABLE slot with `after` < slotStart <= `until` (of one
        practitioner if given): the window's index entries, projected to one attribute, for
        a calendar that only needs to know which days have free times and how many."""
        items = self._open_in_window(after, until, practitioner_id, "slotStart")
        return sorted(item["slotStart"] for item in items)

    def _open_in_window(
        self, after: str, until: str, practitioner_id: str | None, projection: str
    ) -> list[dict[str, Any]]:
        """AVAILABLE items with `after` < slotStart <= `until` (of one practitioner if
        given: a filter on the window's Query), projected; one Query of the status index."""
        from .schedule import practitioner_filter

        if until <= after:
            return []
        values = {":available": AVAILABLE, ":lo": after, ":hi": until}
        params = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :available AND slotStart BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#status": "status"},
            "ProjectionExpression": projection,
        }
        if practitioner_id is not None:
            params["FilterExpression"] = practitioner_filter(practitioner_id, values)
        params["ExpressionAttributeValues"] = self.table.to_item(values)
        # BETWEEN is inclusive; a slot starting this very minute has already begun.
        return [item for item in self.table.query_all(params) if item["slotStart"] > after]

    def practitioner_window(
        self, practitioner: str, after: str, until: str
    ) -> list[dict[str, Any]]:
        """Every slot item of one practitioner (`practitionerKey`), in any status, with
        `after` < slotStart <= `until`, in slot order: one Query of the practitioner index
        (for the staff grids)."""
        if until <= after:
            return []
        params = {
            "IndexName": PRACTITIONER_INDEX,
            "KeyConditionExpression": "practitionerKey = :p AND slotStart BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": self.table.to_item(
                {":p": practitioner, ":lo": after, ":hi": until}
            ),
        }
        items = [item for item in self.table.query_all(params) if item["slotStart"] > after]
        items.sort(key=lambda item: (item["slotStart"], item["appointmentId"]))
        return items

    def list_accepted_between(self, after: str, until: str) -> list[dict[str, Any]]:
        """Full ACCEPTED items with `after` < slotStart <= `until` (for reminders)."""
        if until <= after:
            return []
        items = self.table.query_all(
            {
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#status = :accepted AND slotStart BETWEEN :lo AND :hi",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":accepted": {"S": ACCEPTED},
                    ":lo": {"S": after},
                    ":hi": {"S": until},
                },
            }
        )
        items = [item for item in items if item["slotStart"] > after]
        items.sort(key=lambda item: (item["slotStart"], item["appointmentId"]))
        return items

    def query_status(
        self,
        status: str,
        *,
        by_request: bool,
        slot_from: str,
        slot_to: str,
        limit: int,
        start_key: dict | None = None,
        practitioner_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of the items in `status` whose slotStart is within the bounds.

        `by_request` orders by `requestedAt` (oldest first) and filters the slot window;
        otherwise the window is the key condition and items come in slot order. With
        `practitioner_id`, a filter keeps that practitioner's items. Returns
        (items, LastEvaluatedKey or None when the status is exhausted).
        """
        values = {":status": status, ":lo": slot_from, ":hi": slot_to}
        params: dict[str, Any] = {
            "TableName": self.table.name,
            "ExpressionAttributeNames": {"#status": "status"},
        }
        if by_request:
            params["IndexName"] = REQUESTED_INDEX
            params["KeyConditionExpression"] = "#status = :status"
            params["FilterExpression"] = "slotStart BETWEEN :lo AND :hi"
        else:
            params["IndexName"] = STATUS_INDEX
            params["KeyConditionExpression"] = "#status = :status AND slotStart BETWEEN :lo AND :hi"
        if practitioner_id is not None:
            from .schedule import practitioner_filter

            mine = practitioner_filter(practitioner_id, values)
            existing = params.get("FilterExpression")
            params["FilterExpression"] = f"({existing}) AND {mine}" if existing else mine
        params["ExpressionAttributeValues"] = self.table.to_item(values)
        if start_key:
            params["ExclusiveStartKey"] = start_key
        items: list[dict[str, Any]] = []
        last_key = start_key
        with translate_errors():
            # A filter can thin a page out; keep reading, but never unboundedly per request.
            for _ in range(20):
                params["Limit"] = limit - len(items)
                response = self.table.client.query(**params)
                items.extend(self.table.from_item(item) for item in response.get("Items", []))
                last_key = response.get("LastEvaluatedKey")
                if not last_key or len(items) >= limit:
                    break
                params["ExclusiveStartKey"] = last_key
        return items, last_key or None

    # -- writes --------------------------------------------------------------------------
    def put_slot(
        self,
        appointment_id: str,
        date: str,
        time: str,
        now_iso: str,
        extra: dict | None = None,
        removed_by: str | None = None,
    ) -> bool:
        """Create an AVAILABLE slot unless the id exists; True if it was created. `extra`:
        the practitioner fields it carries (store/schedule.py), if any. `removed_by`: create
        it REMOVED instead, by that closure (a time freed inside one), so it is never listed
        and the closure's lift reopens it."""
        item = {
            **(extra or {}),
            "appointmentId": appointment_id,
            "appointmentDate": date,
            "appointmentTime": time,
            "slotStart": slot_start(date, time),
            "status": AVAILABLE,
            "createdAt": now_iso,
            "updatedAt": now_iso,
        }
        if removed_by:
            item.update(status=REMOVED, removedBy=removed_by)
        item[PRACTITIONER_KEY] = practitioner_key(item)
        return self.table.put_new(item)

    def book(
        self,
        appointment_id: str,
        patient: PatientDetails,
        now_slot: str,
        now_iso: str,
        confirm_by: str | None = None,
    ) -> dict[str, Any]:
        """AVAILABLE -> PENDING in one conditional write; returns the updated item.

        With `confirm_by` (a UTC timestamp) the request is UNCONFIRMED until then."""
        values = {
            ":available": AVAILABLE,
            ":pending": UNCONFIRMED if confirm_by else PENDING,
            ":now_slot": now_slot,
            ":now": now_iso,
            ":name": patient.name,
            ":email": patient.email,
            ":email_key": patient.email_key,
        }
        update = (
            "SET #status = :pending, patientName = :name, patientEmail = :email, "
            "emailKey = :email_key, requestedAt = :now, updatedAt = :now"
        )
        if confirm_by:
            update += ", confirmBy = :confirm_by"
            values[":confirm_by"] = confirm_by
        if patient.submission:
            update += ", submissionKey = :submission"
            values[":submission"] = patient.submission
        if patient.language:
            update += ", #language = :language"
            values[":language"] = patient.language
        if patient.notes:
            update += ", notes = :notes"
            values[":notes"] = patient.notes
        else:
            update += " REMOVE notes"
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(appointment_id),
            UpdateExpression=update,
            ConditionExpression=(
                "attribute_exists(appointmentId) AND #status = :available AND slotStart > :now_slot"
            ),
            ExpressionAttributeNames={
                "#status": "status",
                **({"#language": "language"} if patient.language else {}),
            },
            ExpressionAttributeValues=self.table.to_item(values),
            ReturnValues="ALL_NEW",
        )
        if response is None:
            # The write did not happen; read once to tell the caller why.
            current = self.existing(appointment_id)
            if current.get("slotStart", "") <= now_slot:
                raise SlotUnavailable(Unavailable.PAST)
            raise SlotUnavailable(Unavailable.TAKEN)
        return self.table.from_item(response["Attributes"])

    def transition(
        self,
        appointment_id: str,
        allowed: tuple[str, ...],
        changes: dict[str, Any],
        *,
        before_slot: str | None = None,
        requested_at: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply `changes` only while the item is in one of `allowed` statuses.

        Optional guards: the slot starts after `before_slot`; the item is still the request
        made at `requested_at`. Returns the (old, new) images. Raises AppointmentNotFound,
        or ConflictingChange with the current item when a guard failed.
        """
        names = {"#status": "status"}
        values: dict[str, Any] = {}
        allowed_refs = []
        for number, status in enumerate(allowed):
            values[f":allowed{number}"] = status
            allowed_refs.append(f":allowed{number}")
        condition = f"attribute_exists(appointmentId) AND #status IN ({', '.join(allowed_refs)})"
        if before_slot is not None:
            condition += " AND slotStart > :before_slot"
            values[":before_slot"] = before_slot
        if requested_at is not None:
            condition += " AND requestedAt = :requested_at"
            values[":requested_at"] = requested_at
        assignments = []
        for number, (name, value) in enumerate(changes.items()):
            names[f"#c{number}"] = name
            values[f":c{number}"] = value
            assignments.append(f"#c{number} = :c{number}")
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(appointment_id),
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self.table.to_item(values),
            ReturnValues="ALL_OLD",
        )
        if response is None:
            current = self.existing(appointment_id)
            if requested_at is not None and current.get("requestedAt") != requested_at:
                reason = Conflict.STALE
            elif current["status"] not in allowed:
                reason = Conflict.STATUS
            else:
                reason = Conflict.PAST
            raise ConflictingChange(current, reason)
        old = self.table.from_item(response["Attributes"])
        return old, {**old, **changes}
