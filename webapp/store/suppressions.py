"""Suppressed addresses: where SES reported a permanent bounce or a complaint.

Key `suppressed#<address in lower case>`, holding only why (`reason`: `bounce` or
`complaint`) and when (`suppressedAt`), and `expiresAt` (TTL): the record lasts
PATIENT_DATA_RETENTION_DAYS after the report (see retention.py). No `status`, so no
index lists them and the table stream's filter never hands them to the notifier. The
first report is kept: recording an address again changes nothing
(SES and SNS deliver at least once).
"""

from __future__ import annotations

from typing import Any

from .table import Table

PREFIX = "suppressed#"
REASONS = ("bounce", "complaint")


def canonical_email(address: str) -> str:
    return address.strip().lower()


def suppression_key(address: str) -> str:
    return f"{PREFIX}{canonical_email(address)}"


class Suppressions:
    def __init__(self, table: Table):
        self.table = table

    def suppress(
        self, address: str, reason: str, now_iso: str, expires_at: int | None = None
    ) -> bool:
        """Record an address as suppressed; False if it already was (nothing changes)."""
        if reason not in REASONS:
            raise ValueError(f"unknown suppression reason {reason!r}")
        item = {"appointmentId": suppression_key(address), "reason": reason}
        item["suppressedAt"] = now_iso
        if expires_at is not None:
            item["expiresAt"] = expires_at
        return self.table.put_new(item)

    def get(self, address: str | None) -> dict[str, Any] | None:
        """{"reason", "suppressedAt"} when the address is suppressed, else None."""
        if not address or not address.strip():
            return None
        item = self.table.get(suppression_key(address))
        if item is None or "status" in item:
            return None
        return {"reason": item.get("reason", "bounce"), "suppressedAt": item.get("suppressedAt")}
