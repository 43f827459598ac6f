"""The confirmation link of the first email (REQUIRE_EMAIL_CONFIRMATION, see
confirmation.py): `GET` shows a button, `POST` (with its CSRF token) confirms. A GET never
changes anything, so a mail scanner that follows the link confirms nothing."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, session, url_for

from . import confirmation, manage_links
from .extensions import bookings, settings
from .http import private
from .manage_links import INVALID_LINK
from .store.appointments import ACCEPTED, PENDING, UNCONFIRMED
from .store.errors import AppointmentNotFound, Conflict, ConflictingChange

bp = Blueprint("confirm", __name__)

JUST_CONFIRMED_SESSION_KEY = "just_confirmed"


def _request(token: str) -> tuple[dict, str]:
    try:
        appointment_id, requested_at = confirmation.read_token(settings(), token)
        record = bookings().get(appointment_id)
    except (confirmation.BadConfirmToken, AppointmentNotFound):
        abort(404, INVALID_LINK)
    if not manage_links.matches(record, requested_at):
        abort(404, INVALID_LINK)
    return record, requested_at


def _manage_url(record: dict) -> str:
    return url_for("pages.manage", token=manage_links.make_token(settings(), record))


def _page(token: str, record: dict, status: int = 200, error: str | None = None):
    body = render_template(
        "confirm.html",
        slot=record,
        token=token,
        can_confirm=error is None and record["status"] == UNCONFIRMED,
        error=error,
        manage_href=_manage_url(record),
    )
    return private(make_response(body, status))


@bp.get("/confirm/<token>")
def confirm_form(token: str):
    record, _ = _request(token)
    if record["status"] in (PENDING, ACCEPTED) and record.get("confirmedAt"):
        return redirect(_manage_url(record), 303)  # already confirmed
    if record["status"] == UNCONFIRMED and not confirmation.is_due(record):
        return _page(token, record)
    if confirmation.is_due(record):
        confirmation.current().expire(record)
        record = bookings().get(record["appointmentId"])
    message = confirmation.refusal_message(ConflictingChange(record, Conflict.STATUS))
    return _page(token, record, 409, message)


@bp.post("/confirm/<token>")
def confirm(token: str):
    # CSRFProtect has checked the form's token before this view runs.
    record, requested_at = _request(token)
    try:
        change = confirmation.current().confirm(record["appointmentId"], requested_at)
    except ConflictingChange as conflict:
        if conflict.reason == Conflict.STALE:
            abort(404, INVALID_LINK)
        current = bookings().get(record["appointmentId"])
        return _page(token, current, 409, confirmation.refusal_message(conflict))
    session[JUST_CONFIRMED_SESSION_KEY] = change.record["appointmentId"]
    return redirect(_manage_url(change.record), 303)
