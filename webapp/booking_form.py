"""The patient's booking form, shared by the booking page and the JSON API (validation.py).

A module of its own so that wtforms is imported only where a booking is checked, never to
list slots. Names and notes refuse invisible characters (control and format characters such
as a right-to-left override or a zero-width space), which could disguise text shown to staff.
"""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from .email_address import DeliverableEmail, ascii_address
from .store.appointments import PatientDetails
from .validation import EMAIL_MAX, NAME_MAX, NOTES_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _compatible(value):
    """Compatibility forms to their plain letters (NFKC): an address typed in fullwidth letters
    is the plain-letter address it looks like, which mail can be delivered to."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


# Characters that are invisible or reorder text: control (Cc) and format (Cf: right-to-left
# override, zero-width space/joiners, BOM, ...), and the Unicode line/paragraph separators.
# Shown to staff they could disguise a name or a note, so they are refused, not kept.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
NOTES_LAYOUT = frozenset("\n\r\t")  # line breaks and tabs are fine in notes


class NoInvisibleCharacters:
    """Refuse control and format characters (except `allowed`), with a field error."""

    def __init__(self, message: str, allowed: frozenset[str] = frozenset()):
        self.message = message
        self.allowed = allowed

    def __call__(self, form, field) -> None:
        value = field.data
        if isinstance(value, str) and any(
            unicodedata.category(char) in INVISIBLE_CATEGORIES and char not in self.allowed
            for char in value
        ):
            raise StopValidation(self.message)


class BookingForm(FlaskForm):
    # Field names match the JSON API so both report errors under the same keys.
    patientName = StringField(
        "Full name",
        filters=[_strip],
        validators=[
            DataRequired("Please enter your name."),
            NoInvisibleCharacters(
                "Your name contains invisible or control characters; please type it again."
            ),
            Length(max=NAME_MAX, message=f"Please keep your name under {NAME_MAX} characters."),
        ],
    )
    patientEmail = EmailField(
        "Email address",
        filters=[_strip, _compatible],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=EMAIL_MAX, message="That email address is too long."),
            DeliverableEmail(),
        ],
    )
    notes = TextAreaField(
        "Notes for the clinic (optional)",
        filters=[_strip],
        validators=[
            Optional(),
            NoInvisibleCharacters(
                "The notes contain invisible or control characters; please type them again.",
                allowed=NOTES_LAYOUT,
            ),
            Length(max=NOTES_MAX, message=f"Please keep notes under {NOTES_MAX} characters."),
        ],
    )

    def to_patient(self) -> PatientDetails:
        return PatientDetails(
            name=self.patientName.data,
            # An internationalised domain is kept in its ASCII form, which SES can send to.
            email=ascii_address(self.patientEmail.data) or self.patientEmail.data,
            notes=self.notes.data or "",
        )
