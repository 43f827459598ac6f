"""The waitlist form, shared by the page and the JSON API (like booking_form.py).

Name and address have the booking form's rules (the same field objects); the date range
and the practitioner are checked against the schedule by waitlist.py, which knows the
booking horizon and the practitioners. A module of its own so wtforms loads only here.
Labels and messages are translated when shown, like the booking form's: in the page's
language on the waitlist page, in English in the JSON API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .booking_form import BookingForm
from .email_address import ascii_address
from .i18n import lazy_gettext as _l
from .validation import ValidationFailed, checked_json_form

FIELDS = ("patientName", "patientEmail", "fromDate", "toDate", "practitionerId")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class IsoDate:
    def __init__(self, message):
        self.message = message

    def __call__(self, form, field) -> None:
        try:
            if len(field.data) != 10:
                raise ValueError
            date.fromisoformat(field.data)
        except (TypeError, ValueError):
            raise ValidationError(self.message) from None


class WaitlistForm(FlaskForm):
    patientName = BookingForm.patientName
    patientEmail = BookingForm.patientEmail
    fromDate = StringField(
        _l("From"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Please give the first day that suits you.")),
            IsoDate(_l("From must be a date like 2030-06-21.")),
        ],
    )
    toDate = StringField(
        _l("To"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Please give the last day that suits you.")),
            IsoDate(_l("To must be a date like 2030-06-21.")),
        ],
    )
    practitionerId = StringField(
        _l("Who would you like to see?"),
        filters=[_strip],
        validators=[Optional(), Length(max=64, message=_l("Choose a listed practitioner."))],
    )

    def values(self) -> dict[str, Any]:
        """The checked input: name, ASCII address, dates, practitioner ("" for anyone)."""
        return {
            "name": self.patientName.data,
            "email": ascii_address(self.patientEmail.data) or self.patientEmail.data,
            "from": date.fromisoformat(self.fromDate.data),
            "to": date.fromisoformat(self.toDate.data),
            "practitioner": self.practitionerId.data or "",
        }


def parse_waitlist_json(payload: Any) -> dict[str, Any]:
    """A JSON request to join the waitlist, checked like the form; ValidationFailed with
    per-field messages otherwise."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    form = checked_json_form(WaitlistForm, payload, FIELDS, {})
    return form.values()
