"""The notifier: turns committed status changes into emails, exactly once.

Entry points:
- `process_change(settings, old, new)`: the in-process path (`events.publish` calls it
  after each write when NOTIFY_INLINE is on; locally there is no table stream).
- `handle_stream(event, context)`: the Lambda handler for the table's DynamoDB stream
  (NEW_AND_OLD_IMAGES), with ReportBatchItemFailures.
- `send_reminders(event, context)`: the Lambda handler for the EventBridge schedule;
  `flask --app webapp send-reminders` runs the same code.

Delivery is at least once (stream records and scheduled runs may repeat), so each email
is claimed before it is sent with a conditional write of a de-duplication record
(`notification#<appointmentId>#<requestedAt>#<kind>`, TTL attribute `expiresAt`): a
second attempt finds the claim and sends nothing. If sending fails, the claim is deleted
and the error re-raised, so the event source retries (and finally parks the batch in the
dead-letter queue).

Trade-off: the claim is written before the send. If the process dies after the claim and
before SES accepted the message (a crash, or the Lambda timeout), the retry finds the
claim and that one email is lost; claiming after the send would instead risk a duplicate.
For these messages a rare missing email is the lesser harm than duplicates on every
retry, and the window is kept small: the SES client makes one attempt per message with
short timeouts, no email is claimed when the invocation has less time left than one SES
call may take (OutOfTime), and the stream handler hands the remaining records back for
a retry. A lost email leaves its claim in the table
(`recordedAt`), which is where to look when a patient says one never arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .. import clock
from ..observability import configure_logging, lambda_invocation
from ..settings import Settings, load_settings
from ..store import Store
from . import metrics, waitlist_mail
from .decide import Notice, decide, reminder
from .render import recipient, render
from .send import send, send_budget_millis

log = logging.getLogger(__name__)

DEDUP_DAYS = 30  # far longer than a stream record (24 h) or a reminder window can live
# Stop claiming new emails when the invocation has less time left than one slow send.
STREAM_SAFETY_MILLIS = 15_000


def describe_error(error: BaseException) -> str:
    """An error's code or type, never its message (which may quote an email address)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return f"{type(error).__name__}({code})"
    return type(error).__name__


class OutOfTime(Exception):
    """Too little of the invocation is left for one more SES call: hand the message back."""


TimeLeft = Callable[[], int] | None  # milliseconds left in this invocation (Lambda context)


class Notifier:
    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self.store = store or Store(settings)
        self.tally = metrics.Tally()  # what was sent, failed, suppressed (handlers publish)

    def deliver(self, notice: Notice, time_left: TimeLeft = None) -> bool:
        """Send one notice unless it was sent already; True if this call sent it.

        With `time_left`, nothing is claimed when the invocation could end during the SES
        call (OutOfTime): the event source retries, and nothing is claimed but unsent.
        """
        message = render(self.settings, notice)
        if message is None:
            return False  # nobody to send it to (no staff address configured)
        suppressed = self.store.suppressions.get(recipient(self.settings, notice))
        if suppressed is not None:
            # SES reported the address (permanent bounce or complaint): never mail it again.
            log.info(
                "email %s for %s skipped: recipient suppressed after a %s",
                notice.kind,
                notice.appointment_id,
                suppressed["reason"],
            )
            self.tally[metrics.SUPPRESSED] += 1
            return False
        if time_left is not None and time_left() < send_budget_millis(self.settings):
            raise OutOfTime(notice.kind)
        now = clock.utcnow()
        expires_at = int((now + timedelta(days=DEDUP_DAYS)).timestamp())
        if not self.store.claims.claim(notice.dedup_key, expires_at, clock.iso_timestamp()):
            log.info("email %s for %s already sent; skipped", notice.kind, notice.appointment_id)
            return False
        try:
            send(self.settings, message, notice)
        except Exception as error:
            self.tally[metrics.FAILED] += 1
            log.warning(
                "email %s for %s failed: %s",
                notice.kind,
                notice.appointment_id,
                describe_error(error),
            )
            try:
                self.store.claims.release(notice.dedup_key)
            except Exception as cleanup_error:
                log.error(
                    "could not release claim for %s %s: %s",
                    notice.kind,
                    notice.appointment_id,
                    describe_error(cleanup_error),
                )
            raise
        self.tally[metrics.SENT] += 1
        return True

    def process(
        self, old: dict[str, Any] | None, new: dict[str, Any] | None, time_left: TimeLeft = None
    ) -> int:
        """Send every email the change means; raises after trying all if any failed."""
        notices: list = decide(old, new)
        notices += waitlist_mail.joined(old, new)
        if waitlist_mail.opened_time(old, new):
            notices += waitlist_mail.offers(self.settings, self.store, [new])
        return self._deliver_all(notices, time_left)

    def offer(self, slots: list[dict[str, Any]]) -> int:
        """Offer freed or added times to the waitlist (the in-process path: a roll may
        open many times at once, so they are matched one Query per day)."""
        return self._deliver_all(waitlist_mail.offers(self.settings, self.store, slots))

    def _deliver_all(self, notices: list, time_left: TimeLeft = None) -> int:
        sent = 0
        failure: Exception | None = None
        for notice in notices:
            try:
                sent += self.deliver(notice, time_left)
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure
        return sent

    def send_reminders(self, time_left: TimeLeft = None) -> dict[str, int]:
        """Remind patients of ACCEPTED appointments starting within REMINDER_HOURS_BEFORE.

        The window runs from now to now + REMINDER_HOURS_BEFORE, so a run that was missed
        or delayed is made up by the next one, and a run repeated sends nothing new (the
        claims de-duplicate). A booking accepted inside the window is reminded at the
        next run.
        """
        tz = self.settings.tz
        now = clock.utcnow()
        after = clock.slot_key(now.astimezone(tz))
        until = clock.slot_key(
            (now + timedelta(hours=self.settings.reminder_hours_before)).astimezone(tz)
        )
        counts = {"sent": 0, "skipped": 0, "failed": 0}
        for item in self.store.appointments.list_accepted_between(after, until):
            notice = reminder(item)
            if notice is None:
                counts["skipped"] += 1
                continue
            try:
                counts["sent" if self.deliver(notice, time_left) else "skipped"] += 1
            except Exception:
                counts["failed"] += 1
        log.info("reminders: %(sent)d sent, %(skipped)d skipped, %(failed)d failed", counts)
        return counts


# The in-process path.
def process_change(settings: Settings, old: dict | None, new: dict | None) -> int:
    """Notify about one committed change; the number of emails sent."""
    return Notifier(settings).process(old, new)


# The Lambda handlers.
_notifier: Notifier | None = None


def _current_notifier() -> Notifier:
    """Settings and clients are built once per Lambda process (cold start) and reused."""
    global _notifier
    if _notifier is None:
        settings = load_settings()
        configure_logging(settings.log_level)
        _notifier = Notifier(settings)
    return _notifier


_deserializer = None


def _image(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    global _deserializer
    raw = record.get("dynamodb", {}).get(name)
    if not raw:
        return None
    if _deserializer is None:
        from boto3.dynamodb.types import TypeDeserializer

        _deserializer = TypeDeserializer()
    return {key: _deserializer.deserialize(value) for key, value in raw.items()}


def _item_key(record: dict[str, Any]) -> str:
    keys = record.get("dynamodb", {}).get("Keys", {})
    return str(keys.get("appointmentId", {}).get("S", ""))


def _time_left(context) -> TimeLeft:
    return getattr(context, "get_remaining_time_in_millis", None)


def _time_is_short(context) -> bool:
    remaining = _time_left(context)
    return remaining is not None and remaining() < STREAM_SAFETY_MILLIS


def handle_stream(event: dict[str, Any], context) -> dict[str, list[dict[str, str]]]:
    """DynamoDB stream batch -> emails; returns the failed records (ReportBatchItemFailures).

    A failure is isolated to its record: records of other items go on. Records of the
    same item after a failed one are not processed now but reported too, so that item's
    changes are still handled in order when the event source retries from the failure.
    """
    notifier = _current_notifier()
    notifier.tally = metrics.Tally({metrics.SENT: 0, metrics.FAILED: 0, metrics.SUPPRESSED: 0})
    with lambda_invocation(context):
        try:
            return _handle_stream(notifier, event, context)
        finally:
            metrics.publish("notifier", notifier.tally)


def _handle_stream(notifier: Notifier, event: dict[str, Any], context):
    failures: list[str] = []
    held_back: set[str] = set()
    for record in event.get("Records", []):
        sequence = record.get("dynamodb", {}).get("SequenceNumber")
        key = _item_key(record)
        if sequence is None:
            log.error("stream record without a sequence number ignored")
            continue
        if key in held_back or _time_is_short(context):
            held_back.add(key)
            failures.append(sequence)
            continue
        try:
            notifier.process(
                _image(record, "OldImage"), _image(record, "NewImage"), _time_left(context)
            )
        except Exception as error:
            log.error(
                "notification for %s record %s of %s failed: %s",
                record.get("eventName", "?"),
                sequence,
                key,
                describe_error(error),
            )
            held_back.add(key)
            failures.append(sequence)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}


def _expire_unconfirmed(notifier: Notifier) -> None:
    """The hourly run also offers again the times of requests never confirmed by email
    (see confirmation.py); a failure here never stops the reminders."""
    from ..cache import SlotCache
    from ..confirmation import Confirmation

    try:
        settings = notifier.settings
        Confirmation(settings, notifier.store, SlotCache(settings)).expire_due()
    except Exception as error:
        log.error("expiring unconfirmed requests failed: %s", describe_error(error))


def send_reminders(event: dict[str, Any] | None = None, context=None) -> dict[str, int]:
    """EventBridge schedule -> reminder emails. Fails (so the run is retried) if any failed."""
    notifier = _current_notifier()
    notifier.tally = metrics.Tally({metrics.SENT: 0, metrics.FAILED: 0, metrics.SUPPRESSED: 0})
    with lambda_invocation(context):
        _expire_unconfirmed(notifier)
        try:
            counts = notifier.send_reminders(_time_left(context))
        finally:
            metrics.publish("reminders", notifier.tally)
    if counts["failed"]:
        raise RuntimeError(f"{counts['failed']} reminder(s) could not be sent")
    return counts
