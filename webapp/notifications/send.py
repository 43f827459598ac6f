"""Sending: deliver a rendered email through EMAIL_BACKEND.

`ses` (SES raw email, so attachments work), `outbox` (an .eml file per message, for
development) or `console` (the whole message in the log, development only). Logs name the
kind of email, the appointmentId and where it went, never patient data.
"""

from __future__ import annotations

import logging
import re
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from .. import clock
from ..aws import aws_client
from ..settings import Settings
from .decide import Notice

log = logging.getLogger(__name__)


def ses_client(settings: Settings):
    """The process's SES client: one attempt per call, short timeouts.

    botocore would otherwise retry a timed-out SendRawEmail by itself, and a slow SES that
    accepted the first call would deliver the same email several times. With one attempt,
    a failure reaches the notifier, which releases its claim and hands the message back
    to the event source for a retry.
    """
    timeout = settings.ses_timeout_seconds
    return aws_client(
        "ses",
        settings.aws_region,
        settings.ses_endpoint_url,
        connect_timeout=min(2.0, timeout),
        read_timeout=timeout,
        total_attempts=1,
    )


def send_budget_millis(settings: Settings) -> int:
    """The longest one SES call can take (connect + read timeouts), plus a margin."""
    return (
        int((min(2.0, settings.ses_timeout_seconds) + settings.ses_timeout_seconds) * 1000) + 1000
    )


def send(settings: Settings, message: EmailMessage, notice: Notice) -> None:
    """Deliver through the configured backend; raises if the email could not be sent."""
    backend = settings.email_backend
    if backend == "ses":
        params = {
            "Source": settings.mail_from,
            "RawMessage": {"Data": message.as_bytes(policy=SMTP)},
        }
        if settings.ses_configuration_set:
            # Bounce and complaint events of this message reach the bounces handler.
            params["ConfigurationSetName"] = settings.ses_configuration_set
        response = ses_client(settings).send_raw_email(**params)
        log.info(
            "email %s for %s sent (SES %s)",
            notice.kind,
            notice.appointment_id,
            response.get("MessageId", "?"),
        )
    elif backend == "outbox":
        path = _write_outbox(settings, message, notice)
        log.info(
            "email %s for %s written to outbox: %s", notice.kind, notice.appointment_id, path.name
        )
    elif backend == "console":
        # Development only (refused in production by the settings): prints patient data.
        log.info(
            "email %s for %s:\n%s",
            notice.kind,
            notice.appointment_id,
            message.as_string(),
        )
    else:  # pragma: no cover - settings reject other values
        raise ValueError(f"unknown EMAIL_BACKEND {backend!r}")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _write_outbox(settings: Settings, message: EmailMessage, notice: Notice) -> Path:
    folder = Path(settings.outbox_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.utcnow().strftime("%Y%m%dT%H%M%S%f")
    base = f"{stamp}-{notice.kind}-{_UNSAFE.sub('_', notice.appointment_id)}"
    data = message.as_bytes()
    for attempt in range(100):
        path = folder / (f"{base}.eml" if attempt == 0 else f"{base}-{attempt}.eml")
        try:
            with path.open("xb") as file:  # never overwrite (a frozen clock in tests)
                file.write(data)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"outbox: too many files named {base}*")
