"""The seed's public JSON API: cross-origin, no cookies, no CSRF (JSON only)."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import links, manage_links
from .extensions import availability, bookings, limits, practitioners, settings, waitlist
from .i18n import negotiate
from .limits import client_ip
from .store.appointments import PENDING, UNCONFIRMED
from .validation import (
    HONEYPOT_FIELD,
    ValidationFailed,
    check_honeypot,
    parse_booking_json,
    parse_window,
)

bp = Blueprint("api", __name__)


@bp.before_request
def refuse_oversized_bodies():
    # Werkzeug enforces the limit only when a body is read; an API that ignores a body of
    # the wrong type should still say 413 rather than 400 about its content.
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


@bp.get("/appointment-slot")
def list_slots():
    start, end = parse_window(request.args)
    chosen = request.args.get("practitioner", "")
    # Unknown ids are a 400; the directory is kept in-process, so a hit reads nothing.
    practitioner = practitioners().get(chosen)["id"] if chosen else None
    body, outcome = availability().listing(start, end, practitioner)
    response = Response(body, mimetype="application/json")
    response.headers["X-Cache"] = outcome
    response.headers["Cache-Control"] = "no-store"
    return response


def _public_body():
    """A patient's JSON body (its shape is checked by the caller's parser), with the
    honeypot checked first: a bot's request is refused before anything else."""
    payload = request.get_json(silent=True)
    if payload is None:
        raise ValidationFailed("The request body must be JSON (Content-Type: application/json).")
    if isinstance(payload, dict):
        check_honeypot(payload.get(HONEYPOT_FIELD))
    return payload


@bp.post("/book-appointment")
def book_appointment():
    payload = _public_body()
    appointment_id, patient = parse_booking_json(payload)
    # The emails about it are written in the client's Accept-Language, else the clinic's.
    patient = replace(patient, language=negotiate(settings(), choice=False))
    limits().count_booking_attempt(client_ip())
    item = bookings().book(appointment_id, patient)
    token = manage_links.make_token(settings(), item)
    body = {
        "message": "Your appointment request has been received and is pending confirmation.",
        "appointmentId": item["appointmentId"],
        "status": item["status"],
        # The patient's private link to see or cancel the request.
        "manageUrl": links.manage_url(settings(), token),
    }
    if item["status"] == UNCONFIRMED:
        # REQUIRE_EMAIL_CONFIRMATION: the seed's contract keeps "PENDING"; the request
        # reaches the clinic once the patient follows the link in the email.
        body.update(
            message="Your appointment request has been received. Please confirm it with the "
            "link in the email we sent you; the clinic sees it only once it is confirmed.",
            status=PENDING,
            awaitingConfirmation=True,
            confirmBy=item["confirmBy"],
        )
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"  # it holds the private link
    return response


@bp.post("/join-waitlist")
def join_waitlist():
    from .waitlist_form import parse_waitlist_json  # wtforms: only where it is checked

    payload = _public_body()
    values = parse_waitlist_json(payload)
    # Its emails are written in the client's Accept-Language, else the clinic's.
    values["language"] = negotiate(settings(), choice=False)
    limits().count_waitlist_join(client_ip())
    entry = waitlist().join(values)
    body = {
        "message": "You are on the waitlist. We have sent an email with a link to leave it; "
        "when a time in these dates is freed or added, we email a link that books it.",
        "entryId": entry["entryId"],
        "fromDate": entry["fromDate"],
        "toDate": entry["toDate"],
        "practitionerId": entry.get("practitionerId"),
    }
    response = jsonify(body)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
