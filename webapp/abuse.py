"""Anti-abuse on booking, without third-party services: a honeypot and a rate limit.

(The third measure, a cap on open requests per address, needs the table and lives in
SlotService.book.) Refusals are logged as `booking refused reason=...` lines with a keyed
hash of the client address, never the address or any patient data, so they can be
counted from the logs.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from .auth import client_ip, counters
from .limits import RateLimited, fingerprint
from .settings import Settings

log = logging.getLogger(__name__)

# A field people never see (CSS, aria-hidden, no tab stop) but form-filling bots do.
HONEYPOT_FIELD = "website"
RATE_LIMITED_MESSAGE = (
    "You have made several booking requests in a short time. Please wait a few minutes "
    "and try again, or call the clinic."
)


class BookingRefused(Exception):
    """A request that looks automated; the answer is deliberately neutral."""

    message = "We could not process this request. Please try again, or call the clinic."


def check_honeypot(value: Any) -> None:
    if value not in (None, ""):
        settings: Settings = current_app.config["SETTINGS"]
        log.warning(
            "booking refused reason=honeypot client=%s",
            fingerprint(settings, "ip", client_ip()),
        )
        raise BookingRefused()


def count_booking_attempt() -> None:
    """Count a booking attempt of this client; RateLimited past the limit."""
    settings: Settings = current_app.config["SETTINGS"]
    client = fingerprint(settings, "ip", client_ip())
    count, retry_after = counters().hit(f"book:ip:{client}", settings.booking_rate_window_seconds)
    if count > settings.booking_rate_limit:
        log.warning("booking refused reason=rate_limit client=%s", client)
        raise RateLimited(RATE_LIMITED_MESSAGE, retry_after)
