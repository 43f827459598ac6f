"""The one DynamoDB table every record kind shares: its schema, client and write helpers.

Items are keyed by `appointmentId` (the seed's contract). Besides slots and bookings the
table holds staff accounts (`staff#<email>`), notification claims
(`notification#...`) and a health sentinel key; those carry no `status`, `slotStart` or
`emailKey`, so no index ever lists them and no booking condition can match them.

botocore is imported lazily (a cache hit never pays for loading it), and boto3 not at all:
items are converted by `attributes.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..aws import aws_client
from ..settings import Settings
from .attributes import deserialize, serialize
from .errors import StoreUnavailable

# Listing: one status, by start time (AVAILABLE slots of a window, ACCEPTED for reminders).
STATUS_INDEX = "status-slotStart-index"
# Staff dashboard: one status, oldest request first (sparse: only requested items).
REQUESTED_INDEX = "status-requestedAt-index"
# A patient's requests by start time (sparse: only booked items).
EMAIL_INDEX = "emailKey-slotStart-index"
# Staff grids: one practitioner's slots and bookings of a window, every status (slot items
# only: waitlist entries and other records carry no `practitionerKey`).
PRACTITIONER_INDEX = "practitioner-slotStart-index"

KEY_SCHEMA = [{"AttributeName": "appointmentId", "KeyType": "HASH"}]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": "appointmentId", "AttributeType": "S"},
    {"AttributeName": "status", "AttributeType": "S"},
    {"AttributeName": "slotStart", "AttributeType": "S"},
    {"AttributeName": "requestedAt", "AttributeType": "S"},
    {"AttributeName": "emailKey", "AttributeType": "S"},
    {"AttributeName": "practitionerKey", "AttributeType": "S"},
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
    {
        "IndexName": PRACTITIONER_INDEX,
        "KeySchema": [
            {"AttributeName": "practitionerKey", "KeyType": "HASH"},
            {"AttributeName": "slotStart", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
]

_THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def dynamodb_client(settings: Settings):
    """The process's DynamoDB client for the configured region and endpoint."""
    return aws_client("dynamodb", settings.aws_region, settings.dynamodb_endpoint_url)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Throttling and connection failures become StoreUnavailable (a 503 for clients)."""
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


class Table:
    def __init__(self, client, name: str):
        self.client = client
        self.name = name

    # -- conversions ---------------------------------------------------------------------
    @staticmethod
    def to_item(values: dict[str, Any]) -> dict[str, Any]:
        return {name: serialize(value) for name, value in values.items()}

    @staticmethod
    def from_item(item: dict[str, Any]) -> dict[str, Any]:
        return {name: deserialize(value) for name, value in item.items()}

    @staticmethod
    def key(item_id: str) -> dict[str, Any]:
        return {"appointmentId": {"S": item_id}}

    # -- reads ---------------------------------------------------------------------------
    def get(self, item_id: str) -> dict[str, Any] | None:
        """Any record by key, read consistently; None if there is none."""
        with translate_errors():
            response = self.client.get_item(
                TableName=self.name, Key=self.key(item_id), ConsistentRead=True
            )
        item = response.get("Item")
        return self.from_item(item) if item else None

    def query_all(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a Query, following LastEvaluatedKey."""
        params = {"TableName": self.name, **params}
        items: list[dict[str, Any]] = []
        with translate_errors():
            while True:
                response = self.client.query(**params)
                items.extend(self.from_item(item) for item in response.get("Items", []))
                last_key = response.get("LastEvaluatedKey")
                if not last_key:
                    return items
                params["ExclusiveStartKey"] = last_key

    # -- writes --------------------------------------------------------------------------
    def conditional(self, operation: str, **params) -> dict[str, Any] | None:
        """Run a conditional write (`put_item`, `update_item`, `delete_item`).

        Returns the response, or None when the condition did not hold: the write did not
        happen, and the caller decides what that means.
        """
        from botocore.exceptions import ClientError

        try:
            with translate_errors():
                return getattr(self.client, operation)(TableName=self.name, **params)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise

    def put_new(self, item: dict[str, Any]) -> bool:
        """Write an item unless its key exists; True if this call created it."""
        response = self.conditional(
            "put_item",
            Item=self.to_item(item),
            ConditionExpression="attribute_not_exists(appointmentId)",
        )
        return response is not None

    # -- the table itself ----------------------------------------------------------------
    def create(self) -> bool:
        """Create the table and its indexes where it does not exist; True if created."""
        with translate_errors():
            existing = self.client.list_tables().get("TableNames", [])
            if self.name in existing:
                return False
            self.client.create_table(
                TableName=self.name,
                KeySchema=KEY_SCHEMA,
                AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
                GlobalSecondaryIndexes=GLOBAL_SECONDARY_INDEXES,
                BillingMode="PAY_PER_REQUEST",
            )
            self.client.get_waiter("table_exists").wait(
                TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
        return True

    def missing_indexes(self) -> list[str]:
        """Index names this code needs that the existing table lacks."""
        with translate_errors():
            table = self.client.describe_table(TableName=self.name)["Table"]
        present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        return [i["IndexName"] for i in GLOBAL_SECONDARY_INDEXES if i["IndexName"] not in present]
