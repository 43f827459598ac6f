"""Email confirmation (REQUIRE_EMAIL_CONFIRMATION): a request reaches the clinic only once
the patient has followed the link in the first email.

With the setting on, booking writes the request as UNCONFIRMED with a deadline
(`confirmBy`, EMAIL_CONFIRMATION_MINUTES after the request). Staff lists read only the
PENDING/ACCEPTED/DECLINED/CANCELLED index partitions, so an unconfirmed request is never
in them, and staff actions (conditional on PENDING) cannot touch it.

- Confirming: the first email carries a confirmation link whose token is signed with a
  salt of its own. It is NOT the manage link: the booker sees the manage link at once
  (the page after booking, `manageUrl` in the JSON answer), so only a secret that travels
  solely by email proves the address is theirs. `GET` shows a button, `POST` confirms
  (mail scanners follow links; they never confirm). Confirming is one conditional write:
  UNCONFIRMED -> PENDING only while it is the same request, before the deadline and
  before the slot starts.
- Expiring: after the deadline a conditional write turns the request EXPIRED (only
  while still UNCONFIRMED and past its deadline), then the time is offered again as a
  replacement slot with a deterministic id, exactly like a declined request's time
  (see bookings.py). Of a confirm and an expiry racing, exactly one condition holds.
  The scheduled sweep (`expire-unconfirmed`, and the hourly scheduled function) does it
  for every due request; a listing read from the table and a booking attempt on the slot
  do it for the requests they meet, so an expired hold never waits for the sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from . import clock
from .bookings import Bookings, Change, replacement_id
from .cache import SlotCache
from .i18n import N_
from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, EXPIRED, PENDING, UNCONFIRMED
from .store.errors import Conflict, ConflictingChange
from .store.table import STATUS_INDEX

log = logging.getLogger(__name__)

SALT = "confirm-booking"
MAX_HOPS = 5  # replacement slots followed from a booking attempt on an expired hold
FIRST_SLOT = "0000-00-00T00:00"
LAST_SLOT = "9999-12-31T23:59"


class BadConfirmToken(Exception):
    """The confirmation link was altered or is not one."""


def make_token(settings: Settings, item: dict[str, Any]) -> str:
    return URLSafeSerializer(settings.secret_key, salt=SALT).dumps(
        [item["appointmentId"], item["requestedAt"]]
    )


def read_token(settings: Settings, token: str) -> tuple[str, str]:
    """(appointmentId, requestedAt) named by a genuine confirmation token."""
    if len(token) > 512:
        raise BadConfirmToken("token too long")
    try:
        appointment_id, requested_at = URLSafeSerializer(settings.secret_key, salt=SALT).loads(
            token
        )
    except (BadData, ValueError, TypeError):
        raise BadConfirmToken("invalid token") from None
    if not isinstance(appointment_id, str) or not isinstance(requested_at, str):
        raise BadConfirmToken("invalid token")
    return appointment_id, requested_at


def confirm_url(settings: Settings, item: dict[str, Any]) -> str:
    return f"{settings.public_base_url}/confirm/{make_token(settings, item)}"


def deadline(settings: Settings) -> str:
    """The `confirmBy` of a request made now (UTC, like `requestedAt`)."""
    moment = clock.utcnow() + timedelta(minutes=settings.email_confirmation_minutes)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def is_due(item: dict[str, Any], now_iso: str | None = None) -> bool:
    """An unconfirmed request whose deadline has passed."""
    now_iso = now_iso or clock.iso_timestamp()
    return item.get("status") == UNCONFIRMED and item.get("confirmBy", "") <= now_iso


def holds_place(item: dict[str, Any], now_iso: str) -> bool:
    """Whether a request counts as open (for the per-email cap)."""
    if item["status"] == UNCONFIRMED:
        return not is_due(item, now_iso)
    return item["status"] in (PENDING, ACCEPTED)


def refusal_message(conflict: ConflictingChange) -> str:
    """Why a confirmation did not happen, for the patient."""
    status = conflict.current.get("status")
    if conflict.reason == Conflict.STALE:
        return N_("This link is no longer valid for this request; nothing was changed.")
    if status == EXPIRED or is_due(conflict.current):
        return N_(
            "The time to confirm this request has passed, so the time was offered to other "
            "patients. Please book again."
        )
    if conflict.reason == Conflict.PAST:
        return N_("This appointment has already started, so it can no longer be confirmed.")
    if status == "CANCELLED":
        return N_("This request was cancelled, so it can no longer be confirmed.")
    return N_("This request can no longer be confirmed.")


def free_expired_hold(
    bookings: Bookings, appointment_id: str, slot: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """For a booking attempt on an unconfirmed hold: if it is past its deadline, expire
    it and return the slot now offering its time; else the slot unchanged."""
    service = Confirmation(bookings.settings, bookings.store, bookings.cache)
    instead = service.bookable_instead(slot)
    if instead is None:
        return appointment_id, slot
    return instead, bookings.store.appointments.existing(instead)


def current() -> Confirmation:
    """The confirmation service of the app handling this request or command."""
    from .extensions import services

    found = services()
    return Confirmation(found.settings, found.store, found.cache)


@dataclass(frozen=True)
class SweepResult:
    expired: int
    released: int


class Confirmation:
    def __init__(self, settings: Settings, store: Store, cache: SlotCache):
        self.settings = settings
        self.store = store
        self.bookings = Bookings(settings, store, cache)

    @property
    def table(self):
        return self.store.appointments.table

    # -- confirming ----------------------------------------------------------------------
    def confirm(self, appointment_id: str, requested_at: str) -> Change:
        """UNCONFIRMED -> PENDING for the request the token names. A repeat of a
        confirmation that happened is a harmless no-op; anything else ConflictingChange."""
        now_iso, now_slot = clock.iso_timestamp(), clock.now_slot(self.settings.tz)
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(appointment_id),
            UpdateExpression=(
                "SET #status = :pending, confirmedAt = :now, updatedAt = :now REMOVE confirmBy"
            ),
            ConditionExpression=(
                "attribute_exists(appointmentId) AND #status = :unconfirmed AND "
                "requestedAt = :requested_at AND confirmBy > :now AND slotStart > :now_slot"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=self.table.to_item(
                {
                    ":pending": PENDING,
                    ":unconfirmed": UNCONFIRMED,
                    ":requested_at": requested_at,
                    ":now": now_iso,
                    ":now_slot": now_slot,
                }
            ),
            ReturnValues="ALL_OLD",
        )
        if response is not None:
            old = self.table.from_item(response["Attributes"])
            new = {k: v for k, v in old.items() if k != "confirmBy"}
            new.update(status=PENDING, confirmedAt=now_iso, updatedAt=now_iso)
            self.bookings._committed(old, new)
            return Change(new, changed=True)
        current = self.store.appointments.existing(appointment_id)
        if current.get("requestedAt") != requested_at:
            raise ConflictingChange(current, Conflict.STALE)
        if current["status"] in (PENDING, ACCEPTED) and current.get("confirmedAt"):
            return Change(current, changed=False)
        if current["status"] == UNCONFIRMED:
            if is_due(current, now_iso):
                self.expire(current)  # free the time now rather than at the next sweep
            raise ConflictingChange(current, Conflict.PAST)
        raise ConflictingChange(current, Conflict.STATUS)

    # -- expiring ------------------------------------------------------------------------
    def expire(self, record: dict[str, Any]) -> bool | None:
        """UNCONFIRMED past its deadline -> EXPIRED, then offer the time again.

        Returns whether the time is listed again (None: it has started). A request
        confirmed, cancelled or expired meanwhile is left alone (an expired one only has
        its time offered again, which is idempotent)."""
        now_iso = clock.iso_timestamp()
        response = self.table.conditional(
            "update_item",
            Key=self.table.key(record["appointmentId"]),
            UpdateExpression="SET #status = :expired, expiredAt = :now, updatedAt = :now",
            ConditionExpression=(
                "#status = :unconfirmed AND requestedAt = :requested_at AND confirmBy <= :now"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=self.table.to_item(
                {
                    ":expired": EXPIRED,
                    ":unconfirmed": UNCONFIRMED,
                    ":requested_at": record["requestedAt"],
                    ":now": now_iso,
                }
            ),
            ReturnValues="ALL_OLD",
        )
        if response is None:
            current = self.store.appointments.get(record["appointmentId"])
            if (
                current
                and current["status"] == EXPIRED
                and current.get("requestedAt") == record["requestedAt"]
            ):
                return self.bookings._release(current)  # converge: the time is listed
            return None
        old = self.table.from_item(response["Attributes"])
        new = {**old, "status": EXPIRED, "expiredAt": now_iso, "updatedAt": now_iso}
        self.bookings._committed(old, new)
        return self.bookings._release(new)

    def expire_due(self, slot_from: str = FIRST_SLOT, slot_to: str = LAST_SLOT) -> SweepResult:
        """Expire every unconfirmed request past its deadline whose slot is in the window."""
        now_iso = clock.iso_timestamp()
        items = self.table.query_all(
            {
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": (
                    "#status = :unconfirmed AND slotStart BETWEEN :lo AND :hi"
                ),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": self.table.to_item(
                    {":unconfirmed": UNCONFIRMED, ":lo": slot_from, ":hi": slot_to}
                ),
            }
        )
        expired = released = 0
        for item in items:
            if not is_due(item, now_iso):
                continue
            listed = self.expire(item)
            expired += 1
            released += bool(listed)
        if expired:
            log.info("unconfirmed requests: %d expired, %d times offered again", expired, released)
        return SweepResult(expired, released)

    def bookable_instead(self, slot: dict[str, Any]) -> str | None:
        """For a slot held by an unconfirmed request past its deadline: expire it and
        return the id of the slot that now offers the time (else None)."""
        for _ in range(MAX_HOPS):
            if not is_due(slot):
                return None
            self.expire(slot)
            new_id = replacement_id(slot)
            replacement = self.store.appointments.get(new_id)
            if replacement is None:
                return None
            if replacement["status"] != UNCONFIRMED:
                return new_id
            slot = replacement
        return None
