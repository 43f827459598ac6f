"""Waitlist entries: patients waiting for a time in a date range to be freed or added.

Keys. An entry is `waitlist#<address key>#<place>`, where the address key is a keyed hash
of the canonical address (computed by waitlist.py) and `place` runs from 1 to the cap on
entries per address. Joining is a conditional put on the first free place, so the cap
holds for any burst of simultaneous joins without a counter item or a transaction (the
same on DynamoDB and dynalite): each place can be taken once. Each entry also carries a
random `entryId`, named by its links: a place reused after an entry ended is a new entry
that an old link can neither leave nor book for.

Index. Entries carry `status = WAITLISTED` and `slotStart = <last day>T23:59`, so they
form one partition of the status index ordered by when they end (no index of their own
to build or pay for; the listing only ever reads AVAILABLE, and no booking condition
matches them). Entries covering a day D are those ending between D and D + the longest
range, filtered by `fromDate <= D`: one Query reading only the entries that could match.
`expiresAt` (TTL) removes an entry a day after its range should the daily run miss it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .appointments import WAITLISTED
from .table import STATUS_INDEX, Table

PREFIX = "waitlist#"
KIND = "waitlist"


def entry_key(address_key: str, place: int) -> str:
    return f"{PREFIX}{address_key}#{place}"


def ends_at(to_date: str) -> str:
    """The `slotStart` an entry carries: the last minute of its range."""
    return f"{to_date}T23:59"


class WaitlistEntries:
    def __init__(self, table: Table):
        self.table = table

    # -- writes --------------------------------------------------------------------------
    def join(
        self, address_key: str, entry: dict[str, Any], places: int, today: str
    ) -> dict[str, Any] | None:
        """Store `entry` in the address's first free place (or one whose entry has ended);
        the stored item, or None when all `places` hold current entries."""
        ended: list[tuple[str, str]] = []
        for place in range(1, places + 1):
            key = entry_key(address_key, place)
            item = {"appointmentId": key, "kind": KIND, "status": WAITLISTED, **entry}
            if self.table.put_new(item):
                return item
            current = self.table.get(key)
            if current is None:  # left a moment ago: try that place again
                if self.table.put_new(item):
                    return item
            elif current.get("toDate", "") < today:
                ended.append((key, current["entryId"]))
        for key, old_id in ended:
            item = {"appointmentId": key, "kind": KIND, "status": WAITLISTED, **entry}
            replaced = self.table.conditional(
                "put_item",
                Item=self.table.to_item(item),
                ConditionExpression="entryId = :old AND toDate < :today",
                ExpressionAttributeValues=self.table.to_item({":old": old_id, ":today": today}),
            )
            if replaced is not None:
                return item
        return None

    def remove(self, key: str, entry_id: str) -> bool:
        """Delete the entry if it is still `entry_id`; False if it was gone already."""
        done = self.table.conditional(
            "delete_item",
            Key=self.table.key(key),
            ConditionExpression="kind = :kind AND entryId = :id",
            ExpressionAttributeValues=self.table.to_item({":kind": KIND, ":id": entry_id}),
        )
        return done is not None

    # -- reads ---------------------------------------------------------------------------
    def get(self, key: str, entry_id: str) -> dict[str, Any] | None:
        """The entry `entry_id` at `key`; None if it ended, was left or never existed."""
        if not key.startswith(PREFIX):
            return None
        item = self.table.get(key)
        if item is None or item.get("kind") != KIND or item.get("entryId") != entry_id:
            return None
        return item

    def of_address(self, address_key: str, places: int) -> list[dict[str, Any]]:
        """Every entry stored for an address key (`places`: the most there can be)."""
        found = []
        for place in range(1, places + 1):
            item = self.table.get(entry_key(address_key, place))
            if item is not None and item.get("kind") == KIND:
                found.append(item)
        return found

    def covering(self, day: date, longest_days: int) -> list[dict[str, Any]]:
        """Entries whose range includes `day`, in the order they joined."""
        last = day + timedelta(days=longest_days)
        params = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :waitlisted AND slotStart BETWEEN :lo AND :hi",
            "FilterExpression": "fromDate <= :day",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": self.table.to_item(
                {
                    ":waitlisted": WAITLISTED,
                    ":lo": ends_at(day.isoformat()),
                    ":hi": ends_at(last.isoformat()),
                    ":day": day.isoformat(),
                }
            ),
        }
        entries = self.table.query_all(params)
        entries.sort(key=lambda item: (item["joinedAt"], item["entryId"]))
        return entries

    def ended(self, before: date) -> list[dict[str, Any]]:
        """Entries whose range ended before `before` (key and id only)."""
        params = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :waitlisted AND slotStart < :hi",
            "ProjectionExpression": "appointmentId, entryId",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": self.table.to_item(
                {":waitlisted": WAITLISTED, ":hi": before.isoformat()}
            ),
        }
        return self.table.query_all(params)
