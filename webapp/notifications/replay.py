"""Re-sending what is owed: delivery recovered from the table, not from the stream.

Stream records expire after 24 hours and the stream's dead-letter queue holds only
pointers, so the table is the source of truth. `resend_owed` reads the bookings that
changed within a window through the indexes (never a Scan), recomputes from each item's
current state the emails it owes (`decide.owed`) and delivers those not yet claimed.
Sending goes through the notifier's claims, so an email already sent, or being sent by
the stream at the same moment, is never sent twice. `flask --app webapp resend-owed`
runs it.

The window: bookings requested since then (status/requestedAt index), plus decisions and
cancellations since then of appointments still to come (status/slotStart index, from now
on). Appointments that have already started are skipped: their emails are moot.
Claims live 30 days (`worker.DEDUP_DAYS`), so the window must be shorter than that.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from .. import clock
from ..store.appointments import ACCEPTED, CANCELLED, DECLINED, LAST_SLOT, PENDING
from ..store.table import REQUESTED_INDEX, STATUS_INDEX
from .decide import owed
from .worker import DEDUP_DAYS, Notifier, describe_error

log = logging.getLogger(__name__)

MAX_WINDOW_HOURS = (DEDUP_DAYS - 1) * 24
STATUSES = (PENDING, ACCEPTED, DECLINED, CANCELLED)


def _since_iso(hours: int) -> str:
    moment = clock.utcnow() - timedelta(hours=hours)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def recent_bookings(notifier: Notifier, since_iso: str, now_slot: str) -> list[dict[str, Any]]:
    """Bookings requested, decided or cancelled since `since_iso` whose time is to come."""
    table = notifier.store.table
    found: dict[str, dict[str, Any]] = {}
    for status in STATUSES:
        requested = table.query_all(
            {
                "IndexName": REQUESTED_INDEX,
                "KeyConditionExpression": "#status = :status AND requestedAt >= :since",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": table.to_item(
                    {":status": status, ":since": since_iso}
                ),
            }
        )
        changed: list[dict[str, Any]] = []
        if status != PENDING:  # a decision on an older request, for a time still to come
            changed = table.query_all(
                {
                    "IndexName": STATUS_INDEX,
                    "KeyConditionExpression": "#status = :status AND slotStart BETWEEN :lo AND :hi",
                    "FilterExpression": "updatedAt >= :since",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": table.to_item(
                        {":status": status, ":lo": now_slot, ":hi": LAST_SLOT, ":since": since_iso}
                    ),
                }
            )
        for item in requested + changed:
            if item.get("slotStart", "") > now_slot:
                found[item["appointmentId"]] = item
    return sorted(
        found.values(), key=lambda item: (item.get("requestedAt", ""), item["appointmentId"])
    )


def resend_owed(notifier: Notifier, since_hours: int) -> dict[str, int]:
    """Send what recent bookings owe and nobody sent; counts of what happened."""
    if not 1 <= since_hours <= MAX_WINDOW_HOURS:
        raise ValueError(f"the window must be 1 to {MAX_WINDOW_HOURS} hours")
    now_slot = clock.now_slot(notifier.settings.tz)
    counts = {"bookings": 0, "sent": 0, "skipped": 0, "failed": 0}
    for item in recent_bookings(notifier, _since_iso(since_hours), now_slot):
        counts["bookings"] += 1
        for notice in owed(item):
            try:
                counts["sent" if notifier.deliver(notice) else "skipped"] += 1
            except Exception as error:
                counts["failed"] += 1
                log.error(
                    "re-send of %s for %s failed: %s",
                    notice.kind,
                    notice.appointment_id,
                    describe_error(error),
                )
    log.info(
        "resend-owed: %(bookings)d booking(s), %(sent)d sent, %(skipped)d already sent or "
        "skipped, %(failed)d failed",
        counts,
    )
    return counts
