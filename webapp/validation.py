"""Validation of patient input. The booking form and the JSON API share `BookingForm`
(booking_form.py, imported when a booking is checked: wtforms never loads to list slots).

Names and notes refuse invisible characters (control and format characters such as a
right-to-left override or a zero-width space), which could disguise text shown to staff.

Also the honeypot: a field people never see but form-filling bots do. A filled one is
refused with a deliberately neutral answer, logged as `booking refused reason=honeypot`
with a keyed hash of the client address (never the address or any patient data).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from .extensions import settings
from .http import APPOINTMENT_ID_MAX
from .i18n import N_
from .limits import client_ip, fingerprint
from .store.appointments import PatientDetails

log = logging.getLogger(__name__)

NAME_MAX = 100
EMAIL_MAX = 254
NOTES_MAX = 1000
WINDOW_MAX_DAYS = 366
HONEYPOT_FIELD = "website"


class ValidationFailed(Exception):
    """Input was rejected; `fields` maps each field name to its messages."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


def json_object(message: str = "The request body must be a JSON object.") -> dict[str, Any]:
    """This request's JSON body, which must be an object (else a 400 with `message`)."""
    from flask import request

    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationFailed(message)
    return payload


class BookingRefused(Exception):
    """A request that looks automated; the answer is deliberately neutral."""

    message = N_("We could not process this request. Please try again, or call the clinic.")


def check_honeypot(value: Any) -> None:
    if value not in (None, ""):
        log.warning(
            "booking refused reason=honeypot client=%s",
            fingerprint(settings(), "ip", client_ip()),
        )
        raise BookingRefused()


BOOKING_FIELDS = ("patientName", "patientEmail", "notes")


def text_or_empty(raw: dict[str, Any], name: str) -> Any:
    """A JSON field's value, "" when it is absent or null. Anything else (a number, an
    object, an empty list) is returned as it is, for the caller's type check to refuse:
    `raw.get(name) or ""` would quietly turn `{}` into "" and accept it."""
    value = raw.get(name)
    return "" if value is None else value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def checked_json_form(form_class, payload: dict[str, Any], fields, errors: dict[str, list[str]]):
    """`form_class` filled from a JSON object's `fields` and validated as its page does;
    ValidationFailed with every field's messages, and the `errors` found before it."""
    strings = {}
    for name in fields:
        value = payload.get(name)
        if value is None:
            continue
        if isinstance(value, str) and not _encodable(value):
            # JSON may carry lone surrogates ("\ud800"), which no store can keep as UTF-8.
            errors[name] = [f"{name} must be valid text."]
        elif isinstance(value, str):
            strings[name] = value
        else:
            errors[name] = [f"{name} must be a string."]
    form = form_class(formdata=MultiDict(strings), meta={"csrf": False})
    form.validate()
    for name, messages in form.errors.items():
        # Messages may be lazily translated strings: plain text (English here) in JSON.
        errors.setdefault(name, [str(message) for message in messages])
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", errors)
    return form


def parse_booking_json(payload: Any) -> tuple[str, PatientDetails]:
    """Validate a JSON booking request; returns (appointmentId, the patient's details)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    errors: dict[str, list[str]] = {}

    appointment_id = payload.get("appointmentId")
    if appointment_id is None or (isinstance(appointment_id, str) and not appointment_id.strip()):
        errors["appointmentId"] = ["appointmentId is required."]
    elif not isinstance(appointment_id, str):
        errors["appointmentId"] = ["appointmentId must be a string."]
    elif len(appointment_id) > APPOINTMENT_ID_MAX:
        errors["appointmentId"] = ["appointmentId is too long."]
    elif not _encodable(appointment_id):
        errors["appointmentId"] = ["appointmentId must be valid text."]

    from .booking_form import BookingForm

    form = checked_json_form(BookingForm, payload, BOOKING_FIELDS, errors)
    return appointment_id.strip(), form.to_patient()


def parse_window(args) -> tuple[date | None, date | None]:
    """`from`/`to` query parameters (YYYY-MM-DD) for a listing."""
    errors: dict[str, list[str]] = {}
    bounds: dict[str, date | None] = {}
    labels = {"from": "The start date (from)", "to": "The end date (to)"}
    for name in ("from", "to"):
        raw = args.get(name, "")
        if not raw:
            bounds[name] = None
            continue
        try:
            if len(raw) != 10:
                raise ValueError
            bounds[name] = date.fromisoformat(raw)
        except ValueError:
            bounds[name] = None
            errors[name] = [f"{labels[name]} must be a date in the form YYYY-MM-DD."]
    start, end = bounds["from"], bounds["to"]
    if start and end and end < start:
        errors["to"] = ["The end date (to) must not be before the start date (from)."]
    if start and end and end - start > timedelta(days=WINDOW_MAX_DAYS):
        errors["to"] = [f"The date range may span at most {WINDOW_MAX_DAYS} days."]
    if errors:
        raise ValidationFailed("Invalid date range.", errors)
    return start, end
