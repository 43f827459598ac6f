"""Staff accounts: items keyed `staff#<email>` with `kind = staff` and a password hash."""

from __future__ import annotations

from typing import Any

from .table import Table, translate_errors


def staff_key(email: str) -> str:
    return f"staff#{email.strip().lower()}"


class StaffAccounts:
    def __init__(self, table: Table):
        self.table = table

    def get(self, email: str) -> dict[str, Any] | None:
        item = self.table.get(staff_key(email))
        return item if item and item.get("kind") == "staff" else None

    def put(self, email: str, password_hash: str, now_iso: str) -> bool:
        """Create the account or set its password; True if it was created."""
        with translate_errors():
            response = self.table.client.update_item(
                TableName=self.table.name,
                Key=self.table.key(staff_key(email)),
                UpdateExpression=(
                    "SET kind = :kind, email = :email, passwordHash = :hash, updatedAt = :now, "
                    "createdAt = if_not_exists(createdAt, :now)"
                ),
                # Never turn a booking item into an account.
                ConditionExpression="attribute_not_exists(appointmentId) OR kind = :kind",
                ExpressionAttributeValues=self.table.to_item(
                    {":kind": "staff", ":email": email, ":hash": password_hash, ":now": now_iso}
                ),
                ReturnValues="ALL_OLD",
            )
        return not response.get("Attributes")

    def end_sessions(self, email: str) -> None:
        """Move the account's session epoch on: every session issued before now ends."""
        with translate_errors():
            self.table.client.update_item(
                TableName=self.table.name,
                Key=self.table.key(staff_key(email)),
                UpdateExpression="ADD sessionEpoch :one",
                ConditionExpression="kind = :kind",
                ExpressionAttributeValues=self.table.to_item({":one": 1, ":kind": "staff"}),
            )
