"""The staff JSON API (/api/staff/...), for scripts.

HTTP Basic with a staff account on every request. It never reads the session cookie, so
a forged cross-site request has no ambient credential to ride on; it also requires a JSON
body on POST (a cross-site form cannot send one without a CORS preflight, which this API
never grants), so even Basic credentials a browser cached cannot be replayed by another
site. Hence CSRF-exempt.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..bookings import clean_reason
from ..dashboard import staff_view
from ..errors import json_error
from ..extensions import bookings, dashboard, practitioners, store
from ..validation import ValidationFailed, json_object
from . import auth
from .views import dashboard_filters, never_cache

bp = Blueprint("staff_api", __name__, url_prefix="/api/staff")
bp.after_request(never_cache)

API_PAGE_MAX = 100


@bp.before_request
def require_staff_credentials():
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        return _unauthorized()
    account = auth.authenticate(credentials.username or "", credentials.password or "")
    if account is None:
        return _unauthorized()
    g.staff_email = account["email"]
    if request.method == "POST" and not request.is_json:
        return json_error(415, "Send a JSON body (Content-Type: application/json), even {}.")
    return None


def practitioner_arg(args) -> str | None:
    """The `practitioner` filter of a bookings listing (validated), or None for all."""
    raw = args.get("practitioner", "")
    return practitioners().get(raw)["id"] if raw else None


def _unauthorized():
    return json_error(
        401,
        "Staff credentials are required (HTTP Basic: email and password).",
        **{"WWW-Authenticate": 'Basic realm="clinic staff", charset="UTF-8"'},
    )


def _changed(change):
    body = {"appointment": staff_view(change.record)}
    if change.time_released is not None:
        body["timeReleased"] = change.time_released
    return jsonify(body)


@bp.get("/appointments")
def api_list():
    statuses, start, end = dashboard_filters(request.args)
    raw_limit = request.args.get("limit", "")
    limit = None
    if raw_limit:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= API_PAGE_MAX:
            raise ValidationFailed(
                "Invalid limit.", {"limit": [f"limit must be 1 to {API_PAGE_MAX}."]}
            )
        limit = int(raw_limit)
    who = practitioner_arg(request.args)
    cursor = request.args.get("cursor") or None
    page = dashboard().page(statuses, start, end, cursor, limit, practitioner=who)
    return jsonify(
        appointments=[staff_view(item) for item in page.items], nextCursor=page.next_cursor
    )


@bp.get("/appointments/<appointment_id:appointment_id>")
def api_get(appointment_id: str):
    record = bookings().get(appointment_id)
    view = staff_view(record)
    # SES reported the patient's address as bouncing (or a complaint): null if not.
    view["emailSuppressed"] = store().suppressions.get(record.get("patientEmail"))
    return jsonify(appointment=view)


@bp.post("/appointments/<appointment_id:appointment_id>/accept")
def api_accept(appointment_id: str):
    json_object()
    return _changed(bookings().accept(appointment_id, auth.current_staff()))


@bp.post("/appointments/<appointment_id:appointment_id>/decline")
def api_decline(appointment_id: str):
    reason = clean_reason(json_object().get("decisionReason"))
    return _changed(bookings().decline(appointment_id, auth.current_staff(), reason))


@bp.post("/appointments/<appointment_id:appointment_id>/cancel")
def api_cancel(appointment_id: str):
    json_object()
    return _changed(bookings().cancel_by_staff(appointment_id, auth.current_staff()))
