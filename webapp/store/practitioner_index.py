"""The practitioner index: every slot item of one practitioner, in any status, by start.

A slot item (AVAILABLE, booked, REMOVED, ...) carries `practitionerKey`: its
`practitionerId`, or the clinic's default practitioner's id for items without one (the
seed's, and the default pool's), written when the item is created (store/appointments.py
`put_slot`, store/schedule.py `put_open` and `tombstone`); a booking is an update of the
item, so it keeps it. Waitlist entries and other records never carry it, so the index
(`practitioner-slotStart-index`) lists slot items only and the staff grids read one Query
per practitioner per window. It is never shown: the listing and the patients' JSON project
fixed fields.

Items made before the index get their key from `index_practitioners` (the CLI's
`index-practitioners`): the app's only Scan, run once per table on upgrade.
"""

from __future__ import annotations

from typing import Any

from .table import PRACTITIONER_INDEX, Table, translate_errors

__all__ = ["PRACTITIONER_INDEX", "PRACTITIONER_KEY", "index_practitioners", "practitioner_key"]

PRACTITIONER_KEY = "practitionerKey"
# Only slot items: those with a start and a day, still without the key.
_UNINDEXED = (
    "attribute_not_exists(practitionerKey) AND attribute_exists(slotStart) AND "
    "attribute_exists(appointmentDate)"
)


def practitioner_key(item: dict[str, Any]) -> str:
    """The `practitionerKey` of a slot item."""
    from .schedule import DEFAULT_ID

    return item.get("practitionerId") or DEFAULT_ID


def index_practitioners(table: Table) -> int:
    """Give `practitionerKey` to every slot item without one (idempotent): a paginated Scan,
    each item a conditional update; waitlist entries are skipped. How many it updated."""
    from .appointments import WAITLISTED
    from .waitlist import KIND as WAITLIST_KIND

    params: dict[str, Any] = {
        "TableName": table.name,
        "FilterExpression": _UNINDEXED,
        "ProjectionExpression": "appointmentId, practitionerId, kind, #status",
        "ExpressionAttributeNames": {"#status": "status"},
    }
    updated = 0
    while True:
        with translate_errors():
            response = table.client.scan(**params)
        for raw in response.get("Items", []):
            item = table.from_item(raw)
            if item.get("kind") == WAITLIST_KIND or item.get("status") == WAITLISTED:
                continue
            done = table.conditional(
                "update_item",
                Key=table.key(item["appointmentId"]),
                UpdateExpression="SET practitionerKey = :key",
                ConditionExpression=f"{_UNINDEXED} AND "
                "(attribute_not_exists(kind) OR kind <> :waitlist)",
                ExpressionAttributeValues=table.to_item(
                    {":key": practitioner_key(item), ":waitlist": WAITLIST_KIND}
                ),
            )
            updated += done is not None
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return updated
        params["ExclusiveStartKey"] = last_key
