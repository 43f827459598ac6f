"""Error types mapped to HTTP: JSON for API clients, friendly pages for people."""

from __future__ import annotations

import logging
import sys

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from .bookings import TooManyOpenRequests, conflict_message
from .i18n import N_, gettext
from .limits import RateLimited
from .store.errors import (
    AppointmentNotFound,
    ConflictingChange,
    SlotUnavailable,
    StoreUnavailable,
    Unavailable,
)
from .validation import BookingRefused, ValidationFailed
from .waitlist import WaitlistFull, full_message

log = logging.getLogger(__name__)

API_PATH_PREFIXES = (
    "/appointment-slot",
    "/book-appointment",
    "/join-waitlist",
    "/my-appointment/",
    "/api/",
)
OPS_PATHS = ("/healthz", "/livez", "/openapi.json")
RETRY_AFTER_SECONDS = 5
FORM_EXPIRED = N_("The form has expired. Please go back, reload the page and try again.")
TOO_MANY_OPEN = N_(
    "This email address already has %(limit)d appointment requests waiting or confirmed. "
    "Please wait for the clinic's answer, or cancel one with the link you received, before "
    "requesting another."
)

# What a person sees for the common HTTP errors; API clients get Werkzeug's description.
# A page's title and message are marked for the catalog where they are written, and
# error.html shows them in the page's language (the JSON answers stay English).
FRIENDLY_PAGES = {
    400: (N_("Please check your request"), N_("Something in that request was not right.")),
    404: (N_("Page not found"), N_("We could not find the page you were looking for.")),
    405: (N_("Page not found"), N_("That page cannot be used this way.")),
    413: (N_("Too much data"), N_("That form sent more data than we accept.")),
}


def wants_json() -> bool:
    if request.path.startswith(API_PATH_PREFIXES) or request.path in OPS_PATHS or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"], "text/html")
    return best == "application/json"


def json_error(
    status: int, message: str, fields: dict | None = None, *, status_now=None, **headers
):
    body = {"error": message, "fields": fields or {}}
    if status_now:
        body["status"] = status_now  # a 409's current state, for scripts
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def _page(status: int, title: str, message: str, **headers):
    body = render_template("error.html", title=title, message=message, status=status)
    return body, status, headers


def _is_csrf_error(error: Exception) -> bool:
    """flask_wtf's CSRFError (a 400), told apart without importing flask_wtf: one can only
    have been raised once its module is loaded (see extensions.LazyCSRFProtect)."""
    module = sys.modules.get("flask_wtf.csrf")
    return module is not None and isinstance(error, module.CSRFError)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationFailed)
    def validation_failed(error: ValidationFailed):
        if wants_json():
            return json_error(400, error.message, error.fields)
        return _page(400, N_("Please check your input"), error.message)

    @app.errorhandler(AppointmentNotFound)
    def not_found(error: AppointmentNotFound):
        if wants_json():
            return json_error(404, "No appointment slot with that id.")
        return _page(
            404, N_("Appointment not found"), N_("We could not find that appointment slot.")
        )

    @app.errorhandler(SlotUnavailable)
    def unavailable(error: SlotUnavailable):
        message = (
            N_("This appointment slot has already started.")
            if error.reason == Unavailable.PAST
            else N_("This appointment slot is no longer available.")
        )
        if wants_json():
            return json_error(409, message)
        return _page(409, N_("Slot not available"), message)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable):
        log.error("appointments store unavailable: %s", error)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        message = N_("The booking service is busy. Please try again in a few seconds.")
        if wants_json():
            return json_error(503, message, **headers)
        return _page(503, N_("Please try again shortly"), message, **headers)

    @app.errorhandler(ConflictingChange)
    def conflicting_change(error: ConflictingChange):
        message = conflict_message(error)
        if wants_json():
            return json_error(409, message, status_now=error.current.get("status"))
        return _page(409, N_("Nothing was changed"), message)

    @app.errorhandler(TooManyOpenRequests)
    def too_many_open(error: TooManyOpenRequests):
        if wants_json():
            return json_error(409, TOO_MANY_OPEN % {"limit": error.limit})
        message = gettext(TOO_MANY_OPEN, limit=error.limit)
        return _page(409, N_("You already have open requests"), message)

    @app.errorhandler(WaitlistFull)
    def waitlist_full(error: WaitlistFull):
        message = full_message(error)
        if wants_json():
            return json_error(409, message, {"patientEmail": [message]})
        return _page(409, N_("You are on the waitlist already"), message)

    @app.errorhandler(RateLimited)
    def rate_limited(error: RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
        if wants_json():
            return json_error(429, error.message, **headers)
        return _page(429, N_("Please wait a moment"), error.message, **headers)

    @app.errorhandler(BookingRefused)
    def booking_refused(error: BookingRefused):
        if wants_json():
            return json_error(400, error.message)
        return _page(400, N_("We could not process this request"), error.message)

    def csrf_failed(error: HTTPException):
        # CSRFProtect checks every form POST before any view runs: one friendly answer.
        if wants_json():
            return json_error(400, error.description)
        return _page(400, N_("Please try again"), f"{gettext(FORM_EXPIRED)} ({error.description})")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if _is_csrf_error(error):
            return csrf_failed(error)
        if wants_json():
            response = json_error(error.code or 500, error.description or error.name)
            if error.code == 405 and error.valid_methods:
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        response = error.get_response()
        title, message = FRIENDLY_PAGES.get(error.code, (error.name, error.description))
        if error.description != type(error).description:
            message = error.description  # a specific reason, e.g. a missing CSRF token
        body = render_template("error.html", title=title, message=message, status=error.code)
        response.set_data(body)
        response.content_type = "text/html; charset=utf-8"
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error")
        if wants_json():
            return json_error(500, "Something went wrong on our side.")
        return _page(500, N_("Something went wrong"), N_("Something went wrong on our side."))
