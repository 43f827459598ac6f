"""SES bounce and complaint events -> suppressed addresses.

`handle_ses_event(event, context)` is the Lambda handler for the SNS topic the SES
configuration set (`SES_CONFIGURATION_SET`) publishes bounce and complaint events to.
Each SNS record's `Message` is one SES notification, either as event publishing writes it
(`eventType`) or as identity notifications do (`notificationType`):

- a permanent bounce (`bounce.bounceType == "Permanent"`) or a complaint records every
  address it names as suppressed (`store.suppressions`); the notifier sends nothing to
  it again and staff see it on the booking;
- transient and undetermined bounces (a full mailbox, an auto-reply) and every other
  event type change nothing.

Recording is idempotent, so a redelivered event is harmless. An event that cannot be
read or recorded raises: SNS invokes the function asynchronously, so Lambda retries it
and then parks the whole event in the dead-letter queue, from where it can be published
again. Logs count addresses, never name them.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from .. import clock
from ..observability import configure_logging, lambda_invocation
from ..settings import load_settings
from ..store import Store
from . import metrics

log = logging.getLogger(__name__)


class MalformedEvent(ValueError):
    """An SNS record that is not a readable SES notification."""


def suppressions_in(message: dict[str, Any]) -> tuple[str | None, list[str]]:
    """(reason, addresses) an SES notification calls for; (None, []) if nothing."""
    kind = message.get("eventType") or message.get("notificationType")
    if kind == "Bounce":
        bounce = message.get("bounce")
        if not isinstance(bounce, dict):
            raise MalformedEvent("a Bounce notification without its bounce object")
        if bounce.get("bounceType") != "Permanent":
            return None, []
        return "bounce", _addresses(bounce.get("bouncedRecipients"))
    if kind == "Complaint":
        complaint = message.get("complaint")
        if not isinstance(complaint, dict):
            raise MalformedEvent("a Complaint notification without its complaint object")
        return "complaint", _addresses(complaint.get("complainedRecipients"))
    if not isinstance(kind, str):
        raise MalformedEvent("not an SES notification (no eventType or notificationType)")
    return None, []


def _addresses(recipients: Any) -> list[str]:
    if not isinstance(recipients, list):
        raise MalformedEvent("the notification lists no recipients")
    found = []
    for recipient in recipients:
        raw = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        address = parseaddr(raw)[1] if isinstance(raw, str) else ""
        if "@" not in address:
            raise MalformedEvent("a recipient without a usable emailAddress")
        found.append(address)
    return found


def _message(record: dict[str, Any]) -> dict[str, Any]:
    raw = record.get("Sns", {}).get("Message") if isinstance(record, dict) else None
    if not isinstance(raw, str):
        raise MalformedEvent("an SNS record without a Message")
    try:
        message = json.loads(raw)
    except ValueError:
        raise MalformedEvent("the SNS Message is not JSON") from None
    if not isinstance(message, dict):
        raise MalformedEvent("the SNS Message is not a JSON object")
    return message


def record_event(store: Store, event: dict[str, Any]) -> dict[str, int]:
    """Record every suppression an SNS event carries; counts of what happened."""
    counts = {"suppressed": 0, "alreadySuppressed": 0, "ignored": 0}
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise MalformedEvent("not an SNS event (no Records)")
    for record in records:
        reason, addresses = suppressions_in(_message(record))
        if reason is None:
            counts["ignored"] += 1
            continue
        for address in addresses:
            new = store.suppressions.suppress(
                address, reason, clock.iso_timestamp(), expires_at=_expires_at(store)
            )
            counts["suppressed" if new else "alreadySuppressed"] += 1
    return counts


def _expires_at(store: Store) -> int:
    """A suppression is kept as long as patient data is (PATIENT_DATA_RETENTION_DAYS)."""
    days = store.settings.patient_data_retention_days
    return int((clock.utcnow() + timedelta(days=days)).timestamp())


_store: Store | None = None


def _current_store() -> Store:
    global _store
    if _store is None:
        settings = load_settings()
        configure_logging(settings.log_level)
        _store = Store(settings)
    return _store


def handle_ses_event(event: dict[str, Any], context) -> dict[str, int]:
    """SNS (SES bounce/complaint) -> suppression records. Raises if anything failed."""
    store = _current_store()
    with lambda_invocation(context):
        try:
            counts = record_event(store, event)
        except MalformedEvent as error:
            log.error("SES event not recorded: %s", error)
            raise
        metrics.publish(
            "bounces", metrics.Tally({metrics.ADDRESSES_SUPPRESSED: counts["suppressed"]})
        )
        log.info(
            "SES events: %(suppressed)d address(es) suppressed, %(alreadySuppressed)d "
            "already suppressed, %(ignored)d event(s) ignored",
            counts,
        )
    return counts
