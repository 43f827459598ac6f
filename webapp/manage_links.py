"""Private links that let a patient see, move and cancel their own request.

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
from .settings import Settings

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
