"""What staff see of bookings: the fields they are shown (`staff_view`), and the
dashboard, which lists bookings by status in pages continued by a signed cursor.

Reads only (Queries on the status indexes, never a Scan); every change to a booking goes
through bookings.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, CANCELLED, DECLINED, PENDING
from .validation import ValidationFailed

DASHBOARD_STATUSES = (PENDING, ACCEPTED, DECLINED, CANCELLED)
CURSOR_SALT = "staff-dashboard-cursor"
# What staff see of a booking (never internal keys such as emailKey).
STAFF_FIELDS = (
    "appointmentId",
    "appointmentDate",
    "appointmentTime",
    "status",
    "patientName",
    "patientEmail",
    "notes",
    "requestedAt",
    "updatedAt",
    "decidedBy",
    "decidedAt",
    "decisionReason",
    "cancelledAt",
    "cancelledBy",
    "cancelledByStaff",
    # A moved booking (see rescheduling.py): where it came from and went, and when.
    "bookingRef",
    "moves",
    "rescheduledFrom",
    "rescheduledAt",
    "rescheduledTo",
    "rescheduledToDate",
    "rescheduledToTime",
    "practitionerId",
    "practitionerName",
)


def staff_view(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in STAFF_FIELDS if name in item}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class BadCursor(ValidationFailed):
    def __init__(self):
        super().__init__("That page link is not valid; start again from the first page.")


class Dashboard:
    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store

    def page(
        self,
        statuses: tuple[str, ...] = DASHBOARD_STATUSES,
        start: date | None = None,
        end: date | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        practitioner: str | None = None,
    ) -> Page:
        """Bookings in `statuses` order (PENDING first); PENDING oldest request first,
        the others by appointment time (of one practitioner if given). `cursor`
        continues where a page stopped."""
        limit = limit or self.settings.staff_page_size
        filters = [
            list(statuses),
            start.isoformat() if start else "",
            end.isoformat() if end else "",
        ]
        if practitioner is not None:
            filters.append(practitioner)
        position, start_key = 0, None
        if cursor:
            position, start_key = self._read_cursor(cursor, filters, len(statuses))
        slot_from = f"{start.isoformat()}T00:00" if start else "0000-00-00T00:00"
        slot_to = f"{end.isoformat()}T23:59" if end else "9999-12-31T23:59"
        items: list[dict[str, Any]] = []
        while position < len(statuses) and len(items) < limit:
            status = statuses[position]
            found, start_key = self.store.appointments.query_status(
                status,
                by_request=status == PENDING,
                slot_from=slot_from,
                slot_to=slot_to,
                limit=limit - len(items),
                start_key=start_key,
                practitioner_id=practitioner,
            )
            items.extend(found)
            if start_key is None:
                position += 1
        next_cursor = None
        if position < len(statuses):
            next_cursor = self._serializer().dumps({"f": filters, "p": position, "k": start_key})
        return Page(items, next_cursor)

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.settings.secret_key, salt=CURSOR_SALT)

    def _read_cursor(self, cursor: str, filters: list, count: int) -> tuple[int, dict | None]:
        if len(cursor) > 2048:
            raise BadCursor()
        try:
            data = self._serializer().loads(cursor)
        except BadSignature:
            raise BadCursor() from None
        # A cursor only continues the listing it was made for.
        if not isinstance(data, dict) or data.get("f") != filters:
            raise BadCursor()
        position, key = data.get("p"), data.get("k")
        if not isinstance(position, int) or not 0 <= position < count:
            raise BadCursor()
        return position, key
