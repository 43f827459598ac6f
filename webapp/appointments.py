"""Every read and write of the Appointments table lives here; views never touch boto3.

Design notes:
- Items are keyed by `appointmentId` (the seed's contract). A global secondary index on
  (`status`, `slotStart`) lets the listing Query only the AVAILABLE slots of a window, so
  its cost follows the slots returned, not the table's ever-growing history.
- `slotStart` is the slot's local start as `YYYY-MM-DDTHH:MM`, which sorts like time.
- Every state change is a single conditional write: the condition, not a prior read,
  decides whether it happens, so concurrent requests can never both win.
- boto3 is imported lazily: a cache hit never pays for loading it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .aws import aws_client
from .settings import Settings

AVAILABLE = "AVAILABLE"
PENDING = "PENDING"
ACCEPTED = "ACCEPTED"
DECLINED = "DECLINED"
CANCELLED = "CANCELLED"  # a request withdrawn by the patient or the clinic
STATUSES = (AVAILABLE, PENDING, ACCEPTED, DECLINED, CANCELLED)

STATUS_INDEX = "status-slotStart-index"
# Staff dashboard: one status, oldest request first (sparse: only requested items).
REQUESTED_INDEX = "status-requestedAt-index"
# Open-request cap: a patient's requests by start time (sparse: only booked items).
EMAIL_INDEX = "emailKey-slotStart-index"
PUBLIC_SLOT_FIELDS = ("appointmentId", "appointmentDate", "appointmentTime", "status")

KEY_SCHEMA = [{"AttributeName": "appointmentId", "KeyType": "HASH"}]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": "appointmentId", "AttributeType": "S"},
    {"AttributeName": "status", "AttributeType": "S"},
    {"AttributeName": "slotStart", "AttributeType": "S"},
    {"AttributeName": "requestedAt", "AttributeType": "S"},
    {"AttributeName": "emailKey", "AttributeType": "S"},
]
GLOBAL_SECONDARY_INDEXES = [
    {
        "IndexName": STATUS_INDEX,
        "KeySchema": [
            {"AttributeName": "status", "KeyType": "HASH"},
            {"AttributeName": "slotStart", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
    {
        "IndexName": REQUESTED_INDEX,
        "KeySchema": [
            {"AttributeName": "status", "KeyType": "HASH"},
            {"AttributeName": "requestedAt", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
    {
        "IndexName": EMAIL_INDEX,
        "KeySchema": [
            {"AttributeName": "emailKey", "KeyType": "HASH"},
            {"AttributeName": "slotStart", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]},
    },
]

_THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


class AppointmentError(Exception):
    """Base class of the data layer's errors; the views map each to an HTTP answer."""


class AppointmentNotFound(AppointmentError):
    pass


class SlotUnavailable(AppointmentError):
    """The slot exists but cannot be booked: someone else has it, or it has started."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "taken" or "past"


class StoreUnavailable(AppointmentError):
    """DynamoDB is throttling or unreachable; the client may retry later."""


@dataclass(frozen=True)
class Booking:
    patient_name: str
    patient_email: str
    notes: str = ""

    @property
    def email_key(self) -> str:
        """The address as the open-request cap counts it (case-insensitive)."""
        return self.patient_email.strip().lower()


def public_slot(item: dict[str, Any]) -> dict[str, str]:
    """The fields of a slot anyone may see: never patient data."""
    return {name: item[name] for name in PUBLIC_SLOT_FIELDS}


def dynamodb_client(settings: Settings):
    """The process's DynamoDB client for the configured region and endpoint."""
    return aws_client("dynamodb", settings.aws_region, settings.dynamodb_endpoint_url)


@contextmanager
def _translate_errors() -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _THROTTLING_CODES:
            raise StoreUnavailable(code) from error
        raise
    except BotoCoreError as error:  # connection refused, timeouts, ...
        raise StoreUnavailable(type(error).__name__) from error


class AppointmentStore:
    def __init__(self, client, table_name: str):
        self.client = client
        self.table_name = table_name
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._serialize = TypeSerializer().serialize
        self._deserialize = TypeDeserializer().deserialize

    # -- helpers -------------------------------------------------------------------------
    def _to_item(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: self._serialize(value) for name, value in values.items()}

    def _from_item(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: self._deserialize(value) for name, value in item.items()}

    def _key(self, appointment_id: str) -> dict[str, Any]:
        return {"appointmentId": {"S": appointment_id}}

    def _existing(self, appointment_id: str) -> dict[str, Any]:
        """The appointment item (not a staff or notification record), or AppointmentNotFound."""
        current = self.get(appointment_id)
        if current is None or "status" not in current:
            raise AppointmentNotFound(appointment_id)
        return current

    def _put_new(self, item: dict[str, Any]) -> bool:
        """Write an item unless its key exists; True if this call created it."""
        from botocore.exceptions import ClientError

        try:
            with _translate_errors():
                self.client.put_item(
                    TableName=self.table_name,
                    Item=self._to_item(item),
                    ConditionExpression="attribute_not_exists(appointmentId)",
                )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _query_all(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a Query, following LastEvaluatedKey."""
        params = dict(params)
        items: list[dict[str, Any]] = []
        with _translate_errors():
            while True:
                response = self.client.query(**params)
                items.extend(self._from_item(item) for item in response.get("Items", []))
                last_key = response.get("LastEvaluatedKey")
                if not last_key:
                    return items
                params["ExclusiveStartKey"] = last_key

    # -- table ---------------------------------------------------------------------------
    def create_table(self) -> bool:
        """Create the table and its index where it does not exist; True if created."""
        with _translate_errors():
            existing = self.client.list_tables().get("TableNames", [])
            if self.table_name in existing:
                return False
            self.client.create_table(
                TableName=self.table_name,
                KeySchema=KEY_SCHEMA,
                AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
                GlobalSecondaryIndexes=GLOBAL_SECONDARY_INDEXES,
                BillingMode="PAY_PER_REQUEST",
            )
            self.client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
        return True

    # -- reads ---------------------------------------------------------------------------
    def get(self, appointment_id: str) -> dict[str, Any] | None:
        with _translate_errors():
            response = self.client.get_item(
                TableName=self.table_name, Key=self._key(appointment_id), ConsistentRead=True
            )
        item = response.get("Item")
        return self._from_item(item) if item else None

    def list_available(self, after: str, until: str | None = None) -> list[dict[str, str]]:
        """AVAILABLE slots starting strictly after `after` and no later than `until`.

        Both bounds are `slotStart` strings. Reads only the index entries of the window.
        """
        upper = until or "9999-12-31T23:59"
        if upper <= after:
            return []
        params = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :available AND slotStart BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":available": {"S": AVAILABLE},
                ":lo": {"S": after},
                ":hi": {"S": upper},
            },
            "ProjectionExpression": "appointmentId, appointmentDate, appointmentTime, "
            "#status, slotStart",
        }
        # BETWEEN is inclusive; a slot starting this very minute has already begun.
        slots = [slot for slot in self._query_all(params) if slot["slotStart"] > after]
        slots.sort(key=lambda slot: (slot["slotStart"], slot["appointmentId"]))
        return [public_slot(slot) for slot in slots]

    # -- writes --------------------------------------------------------------------------
    def put_slot(self, appointment_id: str, date: str, time: str, now_iso: str) -> bool:
        """Create an AVAILABLE slot unless the id exists; True if it was created."""
        item = {
            "appointmentId": appointment_id,
            "appointmentDate": date,
            "appointmentTime": time,
            "slotStart": f"{date}T{time}",
            "status": AVAILABLE,
            "createdAt": now_iso,
            "updatedAt": now_iso,
        }
        return self._put_new(item)

    def book(
        self, appointment_id: str, booking: Booking, now_slot: str, now_iso: str
    ) -> dict[str, Any]:
        """AVAILABLE -> PENDING in one conditional write; returns the updated item."""
        from botocore.exceptions import ClientError

        values = {
            ":available": AVAILABLE,
            ":pending": PENDING,
            ":now_slot": now_slot,
            ":now": now_iso,
            ":name": booking.patient_name,
            ":email": booking.patient_email,
            ":email_key": booking.email_key,
        }
        update = (
            "SET #status = :pending, patientName = :name, patientEmail = :email, "
            "emailKey = :email_key, requestedAt = :now, updatedAt = :now"
        )
        if booking.notes:
            update += ", notes = :notes"
            values[":notes"] = booking.notes
        else:
            update += " REMOVE notes"
        try:
            with _translate_errors():
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(appointment_id),
                    UpdateExpression=update,
                    ConditionExpression=(
                        "attribute_exists(appointmentId) AND #status = :available "
                        "AND slotStart > :now_slot"
                    ),
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=self._to_item(values),
                    ReturnValues="ALL_NEW",
                )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # The write did not happen; read once to tell the caller why.
            current = self._existing(appointment_id)
            if current.get("slotStart", "") <= now_slot:
                raise SlotUnavailable("past") from None
            raise SlotUnavailable("taken") from None
        return self._from_item(response["Attributes"])

    # -- notifications -------------------------------------------------------------------
    # De-duplication records share the table: key "notification#<id>#<requestedAt>#<kind>",
    # no `status` (so they never enter the status index), and an `expiresAt` TTL.
    def record_notification(self, key: str, expires_at: int, now_iso: str) -> bool:
        """Claim a notification before sending it; False if it was claimed already."""
        item = {"appointmentId": key, "recordedAt": now_iso, "expiresAt": expires_at}
        return self._put_new(item)

    def forget_notification(self, key: str) -> None:
        """Drop a claim whose email could not be sent, so a retry can send it."""
        with _translate_errors():
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._key(key),
                ConditionExpression="attribute_not_exists(#status)",
                ExpressionAttributeNames={"#status": "status"},
            )

    def list_accepted_between(self, after: str, until: str) -> list[dict[str, Any]]:
        """Full ACCEPTED items with `after` < slotStart <= `until` (for reminders)."""
        if until <= after:
            return []
        params = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :accepted AND slotStart BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":accepted": {"S": ACCEPTED},
                ":lo": {"S": after},
                ":hi": {"S": until},
            },
        }
        items = [item for item in self._query_all(params) if item["slotStart"] > after]
        items.sort(key=lambda item: (item["slotStart"], item["appointmentId"]))
        return items

    # -- staff review and patient self-service -------------------------------------------
    # Staff accounts share the table under `staff#<email>` keys. They carry no `status`,
    # `slotStart` or `emailKey`, so no index ever lists them and no booking can match them.

    def missing_indexes(self) -> list[str]:
        """Index names this code needs that the existing table lacks."""
        with _translate_errors():
            table = self.client.describe_table(TableName=self.table_name)["Table"]
        present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        return [i["IndexName"] for i in GLOBAL_SECONDARY_INDEXES if i["IndexName"] not in present]

    def query_status(
        self,
        status: str,
        *,
        by_request: bool,
        slot_from: str,
        slot_to: str,
        limit: int,
        start_key: dict | None = None,
    ) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of the items in `status` whose slotStart is within the bounds.

        `by_request` orders by `requestedAt` (oldest first) and filters the slot window;
        otherwise the window is the key condition and items come in slot order. Returns
        (items, LastEvaluatedKey or None when the status is exhausted).
        """
        values = {":status": status, ":lo": slot_from, ":hi": slot_to}
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "ExpressionAttributeNames": {"#status": "status"},
        }
        if by_request:
            params["IndexName"] = REQUESTED_INDEX
            params["KeyConditionExpression"] = "#status = :status"
            params["FilterExpression"] = "slotStart BETWEEN :lo AND :hi"
        else:
            params["IndexName"] = STATUS_INDEX
            params["KeyConditionExpression"] = "#status = :status AND slotStart BETWEEN :lo AND :hi"
        params["ExpressionAttributeValues"] = self._to_item(values)
        if start_key:
            params["ExclusiveStartKey"] = start_key
        items: list[dict[str, Any]] = []
        last_key = start_key
        with _translate_errors():
            # A filter can thin a page out; keep reading, but never unboundedly per request.
            for _ in range(20):
                params["Limit"] = limit - len(items)
                response = self.client.query(**params)
                items.extend(self._from_item(item) for item in response.get("Items", []))
                last_key = response.get("LastEvaluatedKey")
                if not last_key or len(items) >= limit:
                    break
                params["ExclusiveStartKey"] = last_key
        return items, last_key or None

    def count_open_requests(self, email_key: str, now_slot: str) -> int:
        """PENDING or ACCEPTED requests of this address for times still ahead."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": EMAIL_INDEX,
            "KeyConditionExpression": "emailKey = :email AND slotStart > :now",
            "FilterExpression": "#status IN (:pending, :accepted)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": self._to_item(
                {":email": email_key, ":now": now_slot, ":pending": PENDING, ":accepted": ACCEPTED}
            ),
            "Select": "COUNT",
        }
        count = 0
        with _translate_errors():
            while True:
                response = self.client.query(**params)
                count += response.get("Count", 0)
                last_key = response.get("LastEvaluatedKey")
                if not last_key:
                    return count
                params["ExclusiveStartKey"] = last_key

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
        from botocore.exceptions import ClientError

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
        try:
            with _translate_errors():
                response = self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(appointment_id),
                    UpdateExpression="SET " + ", ".join(assignments),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=self._to_item(values),
                    ReturnValues="ALL_OLD",
                )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self._existing(appointment_id)
            if requested_at is not None and current.get("requestedAt") != requested_at:
                reason = "stale"
            elif current["status"] not in allowed:
                reason = "status"
            else:
                reason = "past"
            raise ConflictingChange(current, reason) from None
        old = self._from_item(response["Attributes"])
        return old, {**old, **changes}

    def delete_available(self, appointment_id: str) -> dict[str, Any]:
        """Delete a slot only while it is AVAILABLE; returns the deleted item."""
        from botocore.exceptions import ClientError

        try:
            with _translate_errors():
                response = self.client.delete_item(
                    TableName=self.table_name,
                    Key=self._key(appointment_id),
                    ConditionExpression="attribute_exists(appointmentId) AND #status = :available",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":available": {"S": AVAILABLE}},
                    ReturnValues="ALL_OLD",
                )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self._existing(appointment_id)
            raise ConflictingChange(current, "status") from None
        return self._from_item(response["Attributes"])

    def get_staff(self, email: str) -> dict[str, Any] | None:
        item = self.get(staff_key(email))
        return item if item and item.get("kind") == "staff" else None

    def put_staff(self, email: str, password_hash: str, now_iso: str) -> bool:
        """Create the account or set its password; True if it was created."""
        with _translate_errors():
            response = self.client.update_item(
                TableName=self.table_name,
                Key=self._key(staff_key(email)),
                UpdateExpression=(
                    "SET kind = :kind, email = :email, passwordHash = :hash, updatedAt = :now, "
                    "createdAt = if_not_exists(createdAt, :now)"
                ),
                # Never turn a booking item into an account.
                ConditionExpression="attribute_not_exists(appointmentId) OR kind = :kind",
                ExpressionAttributeValues=self._to_item(
                    {":kind": "staff", ":email": email, ":hash": password_hash, ":now": now_iso}
                ),
                ReturnValues="ALL_OLD",
            )
        return not response.get("Attributes")

    # -- health (observability) ------------------------------------------------------------
    HEALTH_SENTINEL_KEY = "#healthcheck"

    def ping(self) -> None:
        """One cheap read (GetItem on a key no slot uses); StoreUnavailable if it fails.

        GetItem needs no permission the app lacks (DescribeTable would) and costs half a
        read unit; a missing table or a refused request counts as unreachable.
        """
        from botocore.exceptions import ClientError

        try:
            with _translate_errors():
                self.client.get_item(
                    TableName=self.table_name,
                    Key=self._key(self.HEALTH_SENTINEL_KEY),
                    ProjectionExpression="appointmentId",
                )
        except ClientError as error:
            raise StoreUnavailable(error.response.get("Error", {}).get("Code", "")) from error


# -- staff review and patient self-service ----------------------------------------------


class ConflictingChange(AppointmentError):
    """A conditional change did not apply; `current` is the item as it is now.

    `reason`: "status" (it is no longer in a state that allows the change), "past" (the
    appointment has started), or "stale" (it is no longer the request the caller meant).
    """

    def __init__(self, current: dict[str, Any], reason: str):
        super().__init__(reason)
        self.current = current
        self.reason = reason


def staff_key(email: str) -> str:
    return f"staff#{email.strip().lower()}"


class TooManyOpenRequests(AppointmentError):
    """The patient's address already has the maximum of open (future) requests."""

    def __init__(self, limit: int):
        super().__init__(f"open request limit {limit}")
        self.limit = limit
