"""Staff calendar feeds: one `calfeed#<feedId>` item per feed (no `status`, so no index
lists it) holding the account it belongs to, the SHA-256 of its secret and its options.

The staff account item names its current feed (`calendarFeedId`); a feed counts only while
its account still names it, so rotating or revoking takes effect with that one conditional
write, and the old item is then deleted.
"""

from __future__ import annotations

from typing import Any

from .staff import staff_key
from .table import Table

FEED_PREFIX = "calfeed#"
KIND = "calfeed"


def feed_key(feed_id: str) -> str:
    return f"{FEED_PREFIX}{feed_id}"


class CalendarFeeds:
    def __init__(self, table: Table):
        self.table = table

    def get(self, feed_id: str) -> dict[str, Any] | None:
        item = self.table.get(feed_key(feed_id))
        return item if item and item.get("kind") == KIND else None

    def replace(
        self,
        email: str,
        old_id: str | None,
        new: dict[str, Any],
    ) -> bool:
        """Make `new` the account's feed in place of `old_id` (None: it had none).

        Conditional on the account still naming `old_id`: of two simultaneous rotations one
        wins (True), the other changes nothing and leaves nothing behind (False)."""
        item = {"appointmentId": feed_key(new["feedId"]), "kind": KIND, **new}
        if not self.table.put_new(item):
            return False
        if old_id is None:
            condition = "kind = :staff AND attribute_not_exists(calendarFeedId)"
            values = {":staff": "staff", ":new": new["feedId"]}
        else:
            condition = "kind = :staff AND calendarFeedId = :old"
            values = {":staff": "staff", ":new": new["feedId"], ":old": old_id}
        done = self.table.conditional(
            "update_item",
            Key=self.table.key(staff_key(email)),
            UpdateExpression="SET calendarFeedId = :new",
            ConditionExpression=condition,
            ExpressionAttributeValues=self.table.to_item(values),
        )
        if done is None:
            self._delete(new["feedId"])
            return False
        if old_id is not None:
            self._delete(old_id)
        return True

    def revoke(self, email: str, feed_id: str) -> bool:
        """Stop the account's feed `feed_id`; False if it was no longer its feed."""
        done = self.table.conditional(
            "update_item",
            Key=self.table.key(staff_key(email)),
            UpdateExpression="REMOVE calendarFeedId",
            ConditionExpression="kind = :staff AND calendarFeedId = :old",
            ExpressionAttributeValues=self.table.to_item({":staff": "staff", ":old": feed_id}),
        )
        self._delete(feed_id)
        return done is not None

    def _delete(self, feed_id: str) -> None:
        # Conditional on the item being a feed: never deletes anything else by mistake.
        self.table.conditional(
            "delete_item",
            Key=self.table.key(feed_key(feed_id)),
            ConditionExpression="kind = :kind",
            ExpressionAttributeValues=self.table.to_item({":kind": KIND}),
        )
