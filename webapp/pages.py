"""Patient pages: browse slots, book one, see the confirmation. Works without JavaScript."""

from __future__ import annotations

from datetime import date
from itertools import groupby

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from .appointments import AppointmentNotFound, SlotUnavailable
from .services import slot_service
from .validation import APPOINTMENT_ID_MAX, BookingForm, ValidationFailed, parse_window

bp = Blueprint("pages", __name__)

CONFIRMED_SESSION_KEY = "booked"
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
    if form.validate_on_submit():
        try:
            service.book(appointment_id, form.to_booking())
        except SlotUnavailable as error:
            return _taken_page(slot, error.reason)
        booked = session.get(CONFIRMED_SESSION_KEY, [])[-4:]
        session[CONFIRMED_SESSION_KEY] = [*booked, appointment_id]
        return redirect(url_for("pages.confirmation", appointment_id=appointment_id), 303)
    status = 400 if form.errors else 200
    return render_template("book.html", slot=slot, form=form), status


@bp.get("/booking/<appointment_id>/confirmation")
def confirmation(appointment_id: str):
    # Only the browser that made the booking sees this page (ids are public).
    if appointment_id not in session.get(CONFIRMED_SESSION_KEY, []):
        abort(404)
    slot = _slot_or_404(appointment_id)
    return render_template("confirmation.html", slot=slot)
