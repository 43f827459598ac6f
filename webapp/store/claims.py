"""Notification claims: one item per email sent, so each is sent at most once.

Key `notification#<appointmentId>#<requestedAt>#<kind>`, no `status` (so they never enter
an index), and an `expiresAt` TTL attribute that lets DynamoDB delete them later.
"""

from __future__ import annotations

from .table import Table, translate_errors


class NotificationClaims:
    def __init__(self, table: Table):
        self.table = table

    def claim(self, key: str, expires_at: int, now_iso: str) -> bool:
        """Claim a notification before sending it; False if it was claimed already."""
        return self.table.put_new(
            {"appointmentId": key, "recordedAt": now_iso, "expiresAt": expires_at}
        )

    def release(self, key: str) -> None:
        """Drop a claim whose email could not be sent, so a retry can send it."""
        with translate_errors():
            self.table.client.delete_item(
                TableName=self.table.name,
                Key=self.table.key(key),
                ConditionExpression="attribute_not_exists(#status)",
                ExpressionAttributeNames={"#status": "status"},
            )
