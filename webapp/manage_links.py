"""Private links that let a patient see, move and cancel their own request.

The token is signed with SECRET_KEY and names both the slot and the request's
`requestedAt`, so it only ever opens the booking it was issued for: when a freed time is
booked again by someone else, the old link no longer matches. Not guessable, and never
the bare appointmentId. A booking that moved to another time keeps its `requestedAt`, so
a link to an earlier slot still leads to it (see rescheduling.py).
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from .settings import Settings

SALT = "manage-booking"
MAX_AGE_SECONDS = 400 * 24 * 3600  # a booking is never made more than a year ahead


class BadManageToken(Exception):
    """The link was altered, expired, or belongs to a different request."""


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def make_token(settings: Settings, item: dict[str, Any]) -> str:
    return _serializer(settings).dumps([item["appointmentId"], item["requestedAt"]])


def read_token(settings: Settings, token: str) -> tuple[str, str]:
    """(appointmentId, requestedAt) named by a genuine, unexpired token."""
    if len(token) > 512:
        raise BadManageToken("token too long")
    try:
        appointment_id, requested_at = _serializer(settings).loads(token, max_age=MAX_AGE_SECONDS)
    except (BadSignature, ValueError, TypeError):
        raise BadManageToken("invalid token") from None
    if not isinstance(appointment_id, str) or not isinstance(requested_at, str):
        raise BadManageToken("invalid token")
    return appointment_id, requested_at


def matches(item: dict[str, Any] | None, requested_at: str) -> bool:
    """Whether the item is still the request the token was issued for."""
    return item is not None and item.get("requestedAt") == requested_at
