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
from .i18n import lazy_gettext as _l
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
    # Field names match the JSON API so both report errors under the same keys. Labels and
    # messages are translated when shown: in the page's language on the booking page, in
    # English in the JSON API (whose requests are English, see i18n.py).
    patientName = StringField(
        _l("Full name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Please enter your name.")),
            NoInvisibleCharacters(
                _l("Your name contains invisible or control characters; please type it again.")
            ),
            Length(max=NAME_MAX, message=_l("Please keep your name under %(max)d characters.")),
        ],
    )
    patientEmail = EmailField(
        _l("Email address"),
        filters=[_strip, _compatible],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=EMAIL_MAX, message=_l("That email address is too long.")),
            DeliverableEmail(),
        ],
    )
    notes = TextAreaField(
        _l("Notes for the clinic (optional)"),
        filters=[_strip],
        validators=[
            Optional(),
            NoInvisibleCharacters(
                _l("The notes contain invisible or control characters; please type them again."),
                allowed=NOTES_LAYOUT,
            ),
            Length(max=NOTES_MAX, message=_l("Please keep notes under %(max)d characters.")),
        ],
    )

    def to_patient(self) -> PatientDetails:
        return PatientDetails(
            name=self.patientName.data,
            # An internationalised domain is kept in its ASCII form, which SES can send to.
            email=ascii_address(self.patientEmail.data) or self.patientEmail.data,
            notes=self.notes.data or "",
        )
