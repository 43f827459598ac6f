"""Email addresses SES can deliver to.

SES (like most of the mail system) does not support SMTPUTF8: an address whose local part
has non-ASCII letters (`josé@example.com`) cannot be mailed at all, and a raw message
whose `To:` holds one would carry an invalid encoded word. A non-ASCII *domain*
(`ana@bücher.example`) is fine once written in its ASCII (IDNA, "punycode") form. So
bookings refuse the first with a field error and store the second in its ASCII form;
the notifier applies the same rule to whatever it is asked to mail.
"""

from __future__ import annotations

from wtforms.validators import ValidationError

from .i18n import N_

# Marked for the catalog: the booking page shows them in its language (_forms.html).
INVALID = N_("Please enter a valid email address, like name@example.com.")
NOT_DELIVERABLE = N_(
    "We cannot send email to addresses with accented or non-Latin letters before the @. "
    "Please use another address."
)


def _validated(address: str):
    import email_validator

    return email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=True)


def ascii_address(address: str | None) -> str | None:
    """The address as SES can take it (domain in IDNA form); None if it cannot be mailed.

    Plain ASCII addresses are returned as they are.
    """
    if not address:
        return None
    if address.isascii():
        return address
    import email_validator

    try:
        return _validated(address).ascii_email  # None for a non-ASCII local part
    except email_validator.EmailNotValidError:
        return None


class DeliverableEmail:
    """WTForms validator: a valid address that SES can deliver to."""

    def __call__(self, form, field) -> None:
        import email_validator

        data = field.data
        if not isinstance(data, str) or not data:
            raise ValidationError(INVALID)
        try:
            result = _validated(data)
        except email_validator.EmailNotValidError:
            raise ValidationError(INVALID) from None
        if result.ascii_email is None:
            raise ValidationError(NOT_DELIVERABLE)
