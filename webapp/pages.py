"""Patient pages: browse slots, book one, then see or cancel it through a private link.

Works without JavaScript. After booking, the browser is redirected (post/redirect/get) to
the request's manage page, whose signed link is the patient's way back to it.
"""

from __future__ import annotations

from datetime import date
from itertools import groupby

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm

from . import manage_links
from .abuse import HONEYPOT_FIELD, check_honeypot, count_booking_attempt
from .appointments import ACCEPTED, PENDING, AppointmentNotFound, ConflictingChange, SlotUnavailable
from .services import booking_service, slot_service
from .validation import APPOINTMENT_ID_MAX, BookingForm, ValidationFailed, parse_window

bp = Blueprint("pages", __name__)

JUST_BOOKED_SESSION_KEY = "just_booked"
ALTERNATIVES_SHOWN = 6


def group_by_day(slots: list[dict]) -> list[tuple[date, list[dict]]]:
    return [
        (date.fromisoformat(day), list(day_slots))
        for day, day_slots in groupby(slots, key=lambda slot: slot["appointmentDate"])
    ]


def _slot_or_404(appointment_id: str) -> dict:
    if len(appointment_id) > APPOINTMENT_ID_MAX:
        abort(404)
    try:
        return slot_service().get_slot(appointment_id)
    except AppointmentNotFound:
        abort(404, "We could not find that appointment slot.")


def _taken_page(slot: dict, reason: str):
    alternatives, _ = slot_service().list_available()
    return (
        render_template(
            "slot_taken.html",
            slot=slot,
            reason=reason,
            alternatives=group_by_day(alternatives[:ALTERNATIVES_SHOWN]),
        ),
        409,
    )


@bp.get("/")
def index():
    filter_errors: dict[str, list[str]] = {}
    try:
        start, end = parse_window(request.args)
    except ValidationFailed as error:
        filter_errors = error.fields
        start = end = None
    slots, _ = slot_service().list_available(start, end)
    return render_template(
        "index.html",
        days=group_by_day(slots),
        start=request.args.get("from", ""),
        end=request.args.get("to", ""),
        filtered=bool(start or end),
        filter_errors=filter_errors,
    ), (400 if filter_errors else 200)


@bp.route("/book/<appointment_id>", methods=["GET", "POST"])
def book(appointment_id: str):
    slot = _slot_or_404(appointment_id)
    service = slot_service()
    if not service.is_bookable(slot):
        reason = "taken" if slot["status"] != "AVAILABLE" else "past"
        return _taken_page(slot, reason)

    form = BookingForm()
    if request.method == "POST":
        check_honeypot(request.form.get(HONEYPOT_FIELD))
    if form.validate_on_submit():
        count_booking_attempt()
        try:
            item = service.book(appointment_id, form.to_booking())
        except SlotUnavailable as error:
            return _taken_page(slot, error.reason)
        session[JUST_BOOKED_SESSION_KEY] = item["appointmentId"]
        token = manage_links.make_token(current_app.config["SETTINGS"], item)
        return redirect(url_for("pages.manage", token=token), 303)
    status = 400 if form.errors else 200
    return render_template("book.html", slot=slot, form=form, honeypot_field=HONEYPOT_FIELD), status


# -- the patient's private link ------------------------------------------------------

INVALID_LINK = (
    "This link is not valid. It may be incomplete or out of date; please use the latest "
    "link from the clinic, or call the clinic."
)


class CancelForm(FlaskForm):
    """Only the CSRF token: the confirmation is the POST itself."""


def _managed_request(token: str) -> tuple[dict, str]:
    """(record, requestedAt) that a genuine token names; 404 for anything else."""
    settings = current_app.config["SETTINGS"]
    try:
        appointment_id, requested_at = manage_links.read_token(settings, token)
        record = booking_service().get(appointment_id)
    except (manage_links.BadManageToken, AppointmentNotFound):
        abort(404, INVALID_LINK)
    if not manage_links.matches(record, requested_at):
        abort(404, INVALID_LINK)
    return record, requested_at


def _cancellable(record: dict) -> bool:
    return record["status"] in (PENDING, ACCEPTED) and (
        record["slotStart"] > slot_service().now_slot()
    )


def _manage_page(token: str, record: dict, status: int = 200, error: str | None = None):
    just_booked = session.get(JUST_BOOKED_SESSION_KEY) == record["appointmentId"]
    if just_booked:
        session.pop(JUST_BOOKED_SESSION_KEY)
    response = current_app.make_response(
        (
            render_template(
                "manage.html",
                slot=record,
                token=token,
                just_booked=just_booked,
                can_cancel=_cancellable(record),
                error=error,
                manage_url=url_for("pages.manage", token=token, _external=True),
            ),
            status,
        )
    )
    return _private(response)


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/manage/<token>")
def manage(token: str):
    record, _ = _managed_request(token)
    return _manage_page(token, record)


@bp.route("/manage/<token>/cancel", methods=["GET", "POST"])
def cancel(token: str):
    record, requested_at = _managed_request(token)
    if not _cancellable(record):
        return redirect(url_for("pages.manage", token=token), 303)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            booking_service().cancel_by_patient(record["appointmentId"], requested_at)
        except ConflictingChange as conflict:
            if conflict.reason == "stale":
                abort(404, INVALID_LINK)
            from .bookings import conflict_message

            return _manage_page(token, conflict.current, 409, conflict_message(conflict))
        return redirect(url_for("pages.manage", token=token), 303)
    if request.method == "POST":  # a bad or missing CSRF token
        abort(400, "Your session has expired. Please try again.")
    response = current_app.make_response(
        render_template("manage_cancel.html", slot=record, token=token, form=form)
    )
    return _private(response)
