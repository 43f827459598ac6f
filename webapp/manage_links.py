"""Private links that let a patient see, move and cancel their own request, and leave
the waitlist or book a time it offers them.

The token is signed with SECRET_KEY and names both the slot and the request's
`requestedAt`, so it only ever opens the booking it was issued for: when a freed time is
booked again by someone else, the old link no longer matches. Not guessable, and never
the bare appointmentId. A booking that moved to another time keeps its `requestedAt`, so
a link to an earlier slot still leads to it (see rescheduling.py).

The token holds no time of its own: one booking always has one link, whether it is made
for the confirmation page, the JSON answer or an email. It expires MAX_AGE_SECONDS after
the request was made. Links issued by earlier versions (a timestamped signature) are
still read, with the same limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer

from . import clock
from .i18n import N_
from .settings import Settings

# What every kind of private link answers when it is not (or no longer) genuine: pages
# (translated) and the JSON self-service API alike.
INVALID_LINK = N_(
    "This link is not valid. It may be incomplete or out of date; please use the latest "
    "link from the clinic, or call the clinic."
)

SALT = "manage-booking"
MAX_AGE_SECONDS = 400 * 24 * 3600  # a booking is never made more than a year ahead


class BadManageToken(Exception):
    """The link was altered, expired, or belongs to a different request."""


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=SALT)


def _earlier_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def make_token(settings: Settings, item: dict[str, Any]) -> str:
    return _serializer(settings).dumps([item["appointmentId"], item["requestedAt"]])


def _expired(requested_at: str) -> bool:
    try:
        made = datetime.fromisoformat(requested_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    if made.tzinfo is None:
        return True
    return clock.utcnow() - made > timedelta(seconds=MAX_AGE_SECONDS)


def read_token(settings: Settings, token: str) -> tuple[str, str]:
    """(appointmentId, requestedAt) named by a genuine, unexpired token."""
    if len(token) > 512:
        raise BadManageToken("token too long")
    try:
        try:
            appointment_id, requested_at = _serializer(settings).loads(token)
        except BadData:  # not a current link: perhaps one from an earlier version
            appointment_id, requested_at = _earlier_serializer(settings).loads(
                token, max_age=MAX_AGE_SECONDS
            )
    except (BadData, ValueError, TypeError):
        raise BadManageToken("invalid token") from None
    if not isinstance(appointment_id, str) or not isinstance(requested_at, str):
        raise BadManageToken("invalid token")
    if _expired(requested_at):
        raise BadManageToken("expired")
    return appointment_id, requested_at


def matches(item: dict[str, Any] | None, requested_at: str) -> bool:
    """Whether the item is still the request the token was issued for."""
    return item is not None and item.get("requestedAt") == requested_at


# -- waitlist links ------------------------------------------------------------------------
# A waitlist entry's links name its key and its random `entryId` (store/waitlist.py), so
# they open only that entry: once it ends, a new entry in the same place is not theirs.
# Leaving and booking an offered time are separate salts, so neither passes for the other.
LEAVE_SALT = "waitlist-leave"
OFFER_SALT = "waitlist-offer"


def make_leave_token(settings: Settings, entry: dict[str, Any]) -> str:
    return URLSafeSerializer(settings.secret_key, salt=LEAVE_SALT).dumps(
        [entry["appointmentId"], entry["entryId"]]
    )


def make_offer_token(settings: Settings, entry: dict[str, Any], appointment_id: str) -> str:
    return URLSafeSerializer(settings.secret_key, salt=OFFER_SALT).dumps(
        [entry["appointmentId"], entry["entryId"], appointment_id]
    )


def _read(settings: Settings, salt: str, token: str, size: int) -> list[str]:
    if len(token) > 512:
        raise BadManageToken("token too long")
    try:
        values = URLSafeSerializer(settings.secret_key, salt=salt).loads(token)
    except (BadData, ValueError, TypeError):
        raise BadManageToken("invalid token") from None
    if not isinstance(values, list) or len(values) != size:
        raise BadManageToken("invalid token")
    if not all(isinstance(value, str) for value in values):
        raise BadManageToken("invalid token")
    return values


def read_leave_token(settings: Settings, token: str) -> tuple[str, str]:
    """(entry key, entryId) named by a genuine leave link."""
    key, entry_id = _read(settings, LEAVE_SALT, token, 2)
    return key, entry_id


def read_offer_token(settings: Settings, token: str) -> tuple[str, str, str]:
    """(entry key, entryId, appointmentId) named by a genuine offer link."""
    key, entry_id, appointment_id = _read(settings, OFFER_SALT, token, 3)
    return key, entry_id, appointment_id


def managed_booking(token: str) -> tuple[dict[str, Any], str, str]:
    """(record, requestedAt, token) of the booking a genuine manage link names, for the
    patient's pages and the JSON self-service API; a 404 (INVALID_LINK) for anything else.
    A link issued before the booking moved names an older item: the record is then the
    booking's current item, and the token returned is that item's link."""
    from flask import abort

    from .extensions import bookings, rescheduling, settings
    from .store.errors import AppointmentNotFound

    try:
        appointment_id, requested_at = read_token(settings(), token)
        record = bookings().get(appointment_id)
    except (BadManageToken, AppointmentNotFound):
        abort(404, INVALID_LINK)
    if not matches(record, requested_at):
        abort(404, INVALID_LINK)
    current = rescheduling().resolve(record)
    if current is not record:
        token = make_token(settings(), current)
    return current, requested_at, token
