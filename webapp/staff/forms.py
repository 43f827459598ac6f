"""The staff pages' forms. Buttons that only need the CSRF token have no form class:
CSRFProtect checks every POST, and templates add the token with `csrf_field()`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..availability import DEFAULT_TIMES, parse_times
from ..bookings import REASON_MAX

ADD_SLOTS_MAX_DAYS = 92


def practitioner_choices(entries) -> list[SelectChoice]:
    """The Add times form's practitioner choices: the active practitioners."""
    return [SelectChoice(p["id"], p["name"]) for p in entries]


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Please enter your email address.")]
    )
    password = PasswordField("Password", validators=[DataRequired("Please enter your password.")])


class DeclineForm(FlaskForm):
    decisionReason = TextAreaField(
        "Reason (the patient will see this)",
        validators=[
            DataRequired("Please give a reason for declining; the patient will see it."),
            Length(
                max=REASON_MAX, message=f"Please keep the reason under {REASON_MAX} characters."
            ),
        ],
    )


def _times(form, field):
    try:
        parse_times(field.data or "")
    except ValueError:
        raise ValidationError("Times must be HH:MM (24-hour), separated by commas.") from None


class AddSlotsForm(FlaskForm):
    start = DateField("First day", validators=[DataRequired("Please enter the first day.")])
    end = DateField("Last day (optional, for a range)", validators=[Optional()])
    times = StringField(
        "Start times (HH:MM, comma separated)",
        default=DEFAULT_TIMES,
        validators=[DataRequired("Please enter at least one time."), _times],
    )
    skip_weekends = BooleanField("Skip Saturdays and Sundays", default=True)
    # Choices are the active practitioners, set by the view; default: the default one.
    practitioner = SelectField("Practitioner", default="default", choices=[SelectChoice("default")])

    def validate_end(self, field):
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError("The last day must not be before the first day.")
            if (field.data - self.start.data).days >= ADD_SLOTS_MAX_DAYS:
                raise ValidationError(f"Add at most {ADD_SLOTS_MAX_DAYS} days at a time.")
