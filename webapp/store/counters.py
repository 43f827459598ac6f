"""Rate-limit counters in the table, for deployments without Redis (`cache=false`).

One item per counter, key `ratelimit#<counter key>` (the keys are keyed hashes, never
personal data), holding `hits` and `expiresAt` (epoch seconds: the end of the window and
the table's TTL attribute, so DynamoDB deletes spent counters). No `status`: no index
lists them and the stream filter ignores them.

Fixed windows that start at the first hit, like the Redis counters: one atomic
`UpdateItem ADD` counts a hit in a live window and returns the new count; a window that
has ended (TTL deletion can lag by hours) is restarted by a conditional write, so of
simultaneous hits exactly one starts the new window and the others count in it.
"""

from __future__ import annotations

import time
from typing import Any

from .table import Table, translate_errors

PREFIX = "ratelimit#"


class TableCounters:
    def __init__(self, table: Table):
        self.table = table

    def _key(self, key: str) -> dict[str, Any]:
        return self.table.key(f"{PREFIX}{key}")

    def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event; (events in the current window, seconds until it resets)."""
        for _ in range(5):
            now = int(time.time())
            # In a live window (or none yet): add one; a new item gets its window's end.
            response = self.table.conditional(
                "update_item",
                Key=self._key(key),
                UpdateExpression="ADD hits :one SET expiresAt = if_not_exists(expiresAt, :end)",
                ConditionExpression="attribute_not_exists(expiresAt) OR expiresAt > :now",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":end": {"N": str(now + window)},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_NEW",
            )
            if response is None:
                # The window is over: restart it, unless another hit just did.
                response = self.table.conditional(
                    "update_item",
                    Key=self._key(key),
                    UpdateExpression="SET hits = :one, expiresAt = :end",
                    ConditionExpression="expiresAt <= :now",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":end": {"N": str(now + window)},
                        ":now": {"N": str(now)},
                    },
                    ReturnValues="ALL_NEW",
                )
            if response is not None:
                item = response["Attributes"]
                expires = int(item["expiresAt"]["N"])
                return int(item["hits"]["N"]), max(expires - now, 1)
        raise RuntimeError("rate-limit counter kept changing under this hit")

    def claim(self, key: str, limit: int, window: int) -> tuple[bool, int, int]:
        """Count one event only while fewer than `limit` are counted in the window, in one
        conditional write; (taken, events counted, seconds until the window resets)."""
        for _ in range(5):
            now = int(time.time())
            values = {
                ":one": {"N": "1"},
                ":end": {"N": str(now + window)},
                ":now": {"N": str(now)},
                ":limit": {"N": str(limit)},
            }
            response = self.table.conditional(
                "update_item",
                Key=self._key(key),
                UpdateExpression="ADD hits :one SET expiresAt = if_not_exists(expiresAt, :end)",
                ConditionExpression=(
                    "attribute_not_exists(expiresAt) OR (expiresAt > :now AND hits < :limit)"
                ),
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
            if response is None:
                count, ttl = self.peek(key)
                if ttl > 0:  # a live window at the limit: refused
                    return False, count, ttl
                # The window is over: restart it, unless another claim just did.
                response = self.table.conditional(
                    "update_item",
                    Key=self._key(key),
                    UpdateExpression="SET hits = :one, expiresAt = :end",
                    ConditionExpression="expiresAt <= :now",
                    ExpressionAttributeValues={k: values[k] for k in (":one", ":end", ":now")},
                    ReturnValues="ALL_NEW",
                )
            if response is not None:
                item = response["Attributes"]
                expires = int(item["expiresAt"]["N"])
                return True, int(item["hits"]["N"]), max(expires - now, 1)
        raise RuntimeError("rate-limit counter kept changing under this claim")

    def release(self, key: str) -> None:
        """Give back one event counted by `claim` (never below zero)."""
        self.table.conditional(
            "update_item",
            Key=self._key(key),
            UpdateExpression="ADD hits :minus",
            ConditionExpression="hits > :zero",
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
        )

    def peek(self, key: str) -> tuple[int, int]:
        """(events in the current window, seconds until it resets) without counting."""
        with translate_errors():
            response = self.table.client.get_item(
                TableName=self.table.name, Key=self._key(key), ConsistentRead=True
            )
        item = response.get("Item")
        now = int(time.time())
        if not item or int(item["expiresAt"]["N"]) <= now:
            return 0, 0
        return int(item["hits"]["N"]), int(item["expiresAt"]["N"]) - now

    def reset(self, key: str) -> None:
        with translate_errors():
            self.table.client.delete_item(TableName=self.table.name, Key=self._key(key))
