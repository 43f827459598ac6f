"""Patient self-service in JSON: what the manage page does, for API clients.

The `manageUrl` token that `POST /book-appointment` returns is the only credential: no
cookies, hence no CSRF, and cross-origin like the seed's endpoints. A token issued before
the booking moved keeps working (it resolves to the booking's current item); every
answer carries the booking's current `manageUrl`. Answers hold only what the token
holder already knows or may know about their own booking: never another patient's data,
never who on the staff decided. POST bodies are JSON objects (`{}` when there is nothing
to send), so a cross-site form cannot post one without a CORS preflight.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify

from . import links, manage_links
from .api import refuse_oversized_bodies
from .availability import has_started
from .bookings import Change
from .extensions import bookings, limits, rescheduling, settings
from .http import APPOINTMENT_ID_MAX, private
from .limits import client_ip
from .manage_links import INVALID_LINK, managed_booking
from .store.errors import Conflict, ConflictingChange
from .validation import ValidationFailed, json_object

bp = Blueprint("self_service", __name__, url_prefix="/my-appointment")
bp.before_request(refuse_oversized_bodies)


# Every answer names a booking's patient or carries its private link.
bp.after_request(private)


def patient_view(record: dict[str, Any]) -> dict[str, Any]:
    """The booking as its patient may see it (what the manage page shows)."""
    view = {
        name: record[name]
        for name in ("appointmentId", "appointmentDate", "appointmentTime", "status")
    }
    if record["status"] == "UNCONFIRMED":
        # Shown as the booking answer shows it: PENDING, awaiting the email confirmation.
        view.update(status="PENDING", awaitingConfirmation=True, confirmBy=record["confirmBy"])
    if record["status"] == "DECLINED" and record.get("decisionReason"):
        view["decisionReason"] = record["decisionReason"]
    if record["status"] == "CANCELLED":
        view["cancelledBy"] = "patient" if record.get("cancelledBy") == "patient" else "clinic"
    view["moves"] = [
        {"from": move["from"], "to": move["to"], "at": move["at"]}
        for move in record.get("moves", [])
    ]
    # Today both need a waiting or confirmed booking that has not started.
    view["canCancel"] = view["canReschedule"] = rescheduling().can_move(record)
    if record["status"] == "UNCONFIRMED":  # may be cancelled, not moved, until confirmed
        view["canCancel"] = not has_started(record, bookings().now_slot())
    return view


def _answer(record: dict[str, Any], message: str | None = None):
    token = manage_links.make_token(settings(), record)
    body: dict[str, Any] = {}
    if message:
        body["message"] = message
    body["appointment"] = patient_view(record)
    body["manageUrl"] = links.manage_url(settings(), token)
    return jsonify(body)


def _payload() -> dict[str, Any]:
    return json_object(
        "The request body must be a JSON object (Content-Type: application/json), even {}."
    )


def _new_appointment_id(payload: dict[str, Any]) -> str:
    value = payload.get("appointmentId")
    if not isinstance(value, str) or not value.strip():
        message = "Give the id of an available slot (from GET /appointment-slot)."
        raise ValidationFailed("Invalid appointmentId.", {"appointmentId": [message]})
    value = value.strip()
    if len(value) > APPOINTMENT_ID_MAX:
        message = f"An appointment id has at most {APPOINTMENT_ID_MAX} characters."
        raise ValidationFailed("Invalid appointmentId.", {"appointmentId": [message]})
    return value


def _refused(conflict: ConflictingChange):
    if conflict.reason == Conflict.STALE:
        abort(404, INVALID_LINK)
    raise conflict


@bp.get("/<token>")
def get_my_appointment(token: str):
    record, _, _ = managed_booking(token)
    return _answer(record)


@bp.post("/<token>/cancel")
def cancel_my_appointment(token: str):
    _payload()
    record, requested_at, _ = managed_booking(token)
    try:
        change: Change = bookings().cancel_by_patient(record["appointmentId"], requested_at)
    except ConflictingChange as conflict:
        _refused(conflict)
    message = "Your appointment is cancelled." if change.changed else "Already cancelled."
    return _answer(change.record, message)


@bp.post("/<token>/reschedule")
def reschedule_my_appointment(token: str):
    target_id = _new_appointment_id(_payload())
    record, _, _ = managed_booking(token)
    limits().count_booking_attempt(client_ip())
    try:
        moved = rescheduling().move(record, target_id)
    except ConflictingChange as conflict:
        _refused(conflict)
    return _answer(
        moved.record,
        "Your appointment is moved and is pending the clinic's confirmation of the new time.",
    )
