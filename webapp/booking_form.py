"""The patient's booking form, shared by the booking page and the JSON API (validation.py).

A module of its own so that wtforms is imported only where a booking is checked, never to
list slots.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from .store.appointments import PatientDetails
from .validation import EMAIL_MAX, NAME_MAX, NOTES_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class BookingForm(FlaskForm):
    # Field names match the JSON API so both report errors under the same keys.
    patientName = StringField(
        "Full name",
        filters=[_strip],
        validators=[
            DataRequired("Please enter your name."),
            Length(max=NAME_MAX, message=f"Please keep your name under {NAME_MAX} characters."),
        ],
    )
    patientEmail = EmailField(
        "Email address",
        filters=[_strip],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=EMAIL_MAX, message="That email address is too long."),
            Email("Please enter a valid email address, like name@example.com."),
        ],
    )
    notes = TextAreaField(
        "Notes for the clinic (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=NOTES_MAX, message=f"Please keep notes under {NOTES_MAX} characters."),
        ],
    )

    def to_patient(self) -> PatientDetails:
        return PatientDetails(
            name=self.patientName.data,
            email=self.patientEmail.data,
            notes=self.notes.data or "",
        )
