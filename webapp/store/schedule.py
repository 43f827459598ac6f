"""The schedule's records: the directory of practitioners and closures, and the slot
writes the weekly roll, hours changes and closures make.

The directory is one item (`schedule#directory`) with two maps, `practitioners` and
`closures`, keyed by id. A clinic has a handful of practitioners and a few current
closures, so one consistent GetItem lists them all: no Scan, no index, and the item has
no `status`, so no index lists it either. Every change is a conditional update of one map
entry (`revision` for edits, existence for adds and lifts).

Removed times. A time staff removed or closed stays in the table as a REMOVED item (the
listing only ever queries AVAILABLE, so it never sees them): the roll creates slots with
`attribute_not_exists`, so the very write that would re-create a removed time is refused
by the same key. A tombstone is atomic with the roll; a separate "removed" list read
before writing would race with it. `removedBy` says who: `staff`, or `closure#<id>`.

Hand-added times. A time staff (or `populate-slots`) add by hand carries `source: manual`;
the roll's own times carry no `source`. A change of weekly hours deletes only the roll's
times (`delete_open` is conditional on it), so a time added outside the hours on purpose
stays until someone removes it.
"""

from __future__ import annotations

from typing import Any

from .appointments import AVAILABLE, LAST_SLOT, slot_start
from .practitioner_index import PRACTITIONER_KEY, practitioner_key
from .table import STATUS_INDEX, Table

DIRECTORY_KEY = "schedule#directory"
REMOVED = "REMOVED"
REMOVED_BY_STAFF = "staff"
# The clinic's default practitioner: its slots keep the seed's ids, and items without a
# `practitionerId` (made before practitioners existed) are its.
DEFAULT_ID = "default"
SOURCE = "source"
MANUAL = "manual"  # `source` of a time added by hand


class DirectoryChanged(Exception):
    """A directory entry was changed (or added, or removed) by someone else meanwhile."""


def practitioner_fields(practitioner: dict[str, Any] | None) -> dict[str, Any]:
    """What a slot carries of its practitioner (nothing for the clinic's default pool)."""
    if not practitioner:
        return {}
    return {
        "practitionerId": practitioner["id"],
        "practitionerName": practitioner["name"],
        "minutes": practitioner["minutes"],
    }


def carried_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The practitioner fields of an existing item, and whether it was added by hand (for
    a replacement slot)."""
    keys = ("practitionerId", "practitionerName", "minutes", SOURCE)
    return {k: item[k] for k in keys if k in item}


def is_rolled(item: dict[str, Any]) -> bool:
    """Whether an open time is the roll's to manage: not added by hand. Items without a
    `practitionerId` predate practitioners (the roll always writes one), so were too."""
    return item.get(SOURCE) != MANUAL and "practitionerId" in item


class ScheduleRecords:
    def __init__(self, table: Table):
        self.table = table

    # -- the directory -------------------------------------------------------------------
    def directory(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{"practitioners": {id: entry}, "closures": {id: entry}} (empty maps if none)."""
        item = self.table.get(DIRECTORY_KEY) or {}
        return {
            "practitioners": item.get("practitioners", {}),
            "closures": item.get("closures", {}),
        }

    def _ensure_directory(self) -> None:
        self.table.put_new({"appointmentId": DIRECTORY_KEY, "practitioners": {}, "closures": {}})

    def add_entry(self, kind: str, entry_id: str, entry: dict[str, Any]) -> None:
        """Add `entry` under `kind` (practitioners/closures); DirectoryChanged if the id
        is taken."""
        self._ensure_directory()
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(DIRECTORY_KEY),
            UpdateExpression="SET #kind.#id = :entry",
            ConditionExpression="attribute_not_exists(#kind.#id)",
            ExpressionAttributeNames={"#kind": kind, "#id": entry_id},
            ExpressionAttributeValues=self.table.to_item({":entry": {**entry, "revision": 1}}),
        )
        if response is None:
            raise DirectoryChanged(entry_id)

    def replace_entry(self, kind: str, entry_id: str, entry: dict[str, Any], revision: int) -> None:
        """Replace an entry only while it is still at `revision`."""
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(DIRECTORY_KEY),
            UpdateExpression="SET #kind.#id = :entry",
            ConditionExpression="#kind.#id.revision = :revision",
            ExpressionAttributeNames={"#kind": kind, "#id": entry_id},
            ExpressionAttributeValues=self.table.to_item(
                {":entry": {**entry, "revision": revision + 1}, ":revision": revision}
            ),
        )
        if response is None:
            raise DirectoryChanged(entry_id)

    def remove_entry(self, kind: str, entry_id: str) -> None:
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(DIRECTORY_KEY),
            UpdateExpression="REMOVE #kind.#id",
            ConditionExpression="attribute_exists(#kind.#id)",
            ExpressionAttributeNames={"#kind": kind, "#id": entry_id},
        )
        if response is None:
            raise DirectoryChanged(entry_id)

    # -- slots ---------------------------------------------------------------------------
    def in_window(
        self, status: str, after: str, until: str | None = None, practitioner_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Items in `status` with `after` < slotStart <= `until`, by start; optionally of one
        practitioner (a filter on the window's Query: a clinic's window holds few items)."""
        params: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status AND slotStart BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#status": "status"},
        }
        values = {":status": status, ":lo": after, ":hi": until or LAST_SLOT}
        if practitioner_id is not None:
            params["FilterExpression"] = practitioner_filter(practitioner_id, values)
        params["ExpressionAttributeValues"] = self.table.to_item(values)
        items = [i for i in self.table.query_all(params) if i["slotStart"] > after]
        items.sort(key=lambda item: (item["slotStart"], item["appointmentId"]))
        return items

    def put_open(
        self,
        slot_id: str,
        day: str,
        time: str,
        practitioner: dict | None,
        now_iso: str,
        manual: bool = False,
    ) -> bool:
        """Create an AVAILABLE slot unless the id exists (in any status, REMOVED included);
        `manual`: added by hand (`source: manual`)."""
        item = {
            "appointmentId": slot_id,
            "appointmentDate": day,
            "appointmentTime": time,
            "slotStart": slot_start(day, time),
            "status": AVAILABLE,
            "createdAt": now_iso,
            "updatedAt": now_iso,
            **practitioner_fields(practitioner),
            **({SOURCE: MANUAL} if manual else {}),
        }
        item[PRACTITIONER_KEY] = practitioner_key(item)
        return self.table.put_new(item)

    def tombstone(
        self,
        slot_id: str,
        day: str,
        time: str,
        practitioner: dict | None,
        removed_by: str,
        now_iso: str,
    ) -> bool:
        """Make sure the time exists only as REMOVED: an AVAILABLE slot is turned into one,
        a missing one is written as one; a booking is left alone. True if this changed it."""
        if self.remove_open(slot_id, removed_by, now_iso) is not None:
            return True
        item = {
            "appointmentId": slot_id,
            "appointmentDate": day,
            "appointmentTime": time,
            "slotStart": slot_start(day, time),
            "status": REMOVED,
            "removedBy": removed_by,
            "createdAt": now_iso,
            "updatedAt": now_iso,
            **practitioner_fields(practitioner),
        }
        item[PRACTITIONER_KEY] = practitioner_key(item)
        return self.table.put_new(item)

    def remove_open(self, slot_id: str, removed_by: str, now_iso: str) -> dict[str, Any] | None:
        """AVAILABLE -> REMOVED; the old image, or None if it was not AVAILABLE."""
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(slot_id),
            UpdateExpression="SET #status = :removed, removedBy = :by, updatedAt = :now",
            ConditionExpression="attribute_exists(appointmentId) AND #status = :available",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=self.table.to_item(
                {":removed": REMOVED, ":available": AVAILABLE, ":by": removed_by, ":now": now_iso}
            ),
            ReturnValues="ALL_OLD",
        )
        return None if response is None else self.table.from_item(response["Attributes"])

    def reopen(
        self, slot_id: str, removed_by: str, now_slot: str, now_iso: str, manual: bool = False
    ) -> bool:
        """REMOVED (by `removed_by`, still ahead) -> AVAILABLE; True if it was. `manual`:
        reopened by hand, so from now on it is a hand-added time."""
        update = "SET #status = :available, updatedAt = :now"
        names = {"#status": "status"}
        values = {
            ":removed": REMOVED,
            ":available": AVAILABLE,
            ":by": removed_by,
            ":now_slot": now_slot,
            ":now": now_iso,
        }
        if manual:
            update += ", #source = :manual"
            values[":manual"] = MANUAL
            names["#source"] = SOURCE
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(slot_id),
            UpdateExpression=f"{update} REMOVE removedBy",
            ConditionExpression="#status = :removed AND removedBy = :by AND slotStart > :now_slot",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self.table.to_item(values),
        )
        return response is not None

    def retag(self, slot_id: str, removed_by: str, now_removed_by: str) -> bool:
        """A REMOVED item of one closure becomes another's (the first was lifted)."""
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(slot_id),
            UpdateExpression="SET removedBy = :new",
            ConditionExpression="#status = :removed AND removedBy = :old",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=self.table.to_item(
                {":removed": REMOVED, ":old": removed_by, ":new": now_removed_by}
            ),
        )
        return response is not None

    def delete_open(self, slot_id: str) -> bool:
        """Delete a slot only while it is AVAILABLE and not added by hand (hours changed);
        True if deleted."""
        response = self.table.conditional(
            "delete_item",
            Key=self.table.key(slot_id),
            ConditionExpression=(
                "#status = :available AND (attribute_not_exists(#source) OR #source <> :manual)"
            ),
            ExpressionAttributeNames={"#status": "status", "#source": SOURCE},
            ExpressionAttributeValues={":available": {"S": AVAILABLE}, ":manual": {"S": MANUAL}},
        )
        return response is not None

    def rename(self, slot_id: str, practitioner_id: str, name: str) -> bool:
        """A practitioner's new name on one of their items (only if still theirs)."""
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(slot_id),
            UpdateExpression="SET practitionerName = :name",
            ConditionExpression="practitionerId = :id",
            ExpressionAttributeValues=self.table.to_item({":name": name, ":id": practitioner_id}),
        )
        return response is not None


def practitioner_filter(practitioner_id: str, values: dict[str, Any]) -> str:
    """A FilterExpression for one practitioner's items (adds its value to `values`).
    Items without `practitionerId` belong to the clinic's default practitioner."""
    values[":practitioner"] = practitioner_id
    if practitioner_id == DEFAULT_ID:
        return "(attribute_not_exists(practitionerId) OR practitionerId = :practitioner)"
    return "practitionerId = :practitioner"
