"""SES bounces and complaints: the bounces handler records suppressions from real SNS
events; the notifier stops mailing those addresses and staff see it on the booking."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from tests.notification_helpers import (
    FakeContext,
    book,
    decided,
    sent_emails,
    stream_event,
    stream_record,
)
from tests.test_staff import basic
from webapp.extensions import services
from webapp.notifications import bounces, worker

PATIENT = "Ada@Example.com"
TOPIC = "arn:aws:sns:us-east-1:123456789012:clinic-appointments-prod-email-events"


def ses_bounce(address: str, bounce_type: str = "Permanent") -> dict:
    """An SES event-publishing Bounce notification (configuration set -> SNS)."""
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": f"smtp; 550 5.1.1 <{address}>: user unknown",
                }
            ],
            "timestamp": "2030-06-03T00:10:00.000Z",
            "feedbackId": "0100017b-bounce",
        },
        "mail": {
            "timestamp": "2030-06-03T00:09:58.000Z",
            "source": "bookings@clinic.example",
            "messageId": "0100017b-message",
            "destination": [address],
            "tags": {"ses:configuration-set": ["clinic-appointments-prod"]},
        },
    }


def ses_complaint(address: str) -> dict:
    """An SES identity-notification Complaint (`notificationType`)."""
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": f'"Ada" <{address}>'}],
            "complaintFeedbackType": "abuse",
            "timestamp": "2030-06-03T00:11:00.000Z",
            "feedbackId": "0100017b-complaint",
        },
        "mail": {"source": "bookings@clinic.example", "destination": [address]},
    }


def sns_event(*messages) -> dict:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TOPIC}:1a2b3c",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"msg-{n}",
                    "TopicArn": TOPIC,
                    "Subject": None,
                    "Message": message if isinstance(message, str) else json.dumps(message),
                    "Timestamp": "2030-06-03T00:10:01.000Z",
                },
            }
            for n, message in enumerate(messages)
        ]
    }


@pytest.fixture
def handler(lambda_app, monkeypatch):
    monkeypatch.setattr(bounces, "_store", None)  # a fresh cold start per test
    return lambda event: bounces.handle_ses_event(event, FakeContext())


def test_a_permanent_bounce_suppresses_the_address_once(lambda_app, handler, now, caplog):
    caplog.set_level(logging.DEBUG)
    assert handler(sns_event(ses_bounce(PATIENT))) == {
        "suppressed": 1,
        "alreadySuppressed": 0,
        "ignored": 0,
    }
    store = services(lambda_app).store
    record = store.table.get("suppressed#ada@example.com")
    assert record == {
        "appointmentId": "suppressed#ada@example.com",
        "reason": "bounce",
        "suppressedAt": "2030-06-03T00:00:00Z",
        # Kept as long as patient data (PATIENT_DATA_RETENTION_DAYS, 365 by default).
        "expiresAt": int(datetime(2031, 6, 3, tzinfo=UTC).timestamp()),
    }
    # SNS delivers at least once: the same event again changes nothing.
    assert handler(sns_event(ses_bounce(PATIENT)))["alreadySuppressed"] == 1
    assert "example.com" not in caplog.text.lower()


def test_transient_bounces_and_other_events_suppress_nothing(lambda_app, handler):
    delivery = {"eventType": "Delivery", "mail": {"destination": [PATIENT]}, "delivery": {}}
    counts = handler(
        sns_event(ses_bounce(PATIENT, "Transient"), ses_bounce(PATIENT, "Undetermined"), delivery)
    )
    assert counts == {"suppressed": 0, "alreadySuppressed": 0, "ignored": 3}
    assert services(lambda_app).store.suppressions.get(PATIENT) is None


def test_a_complaint_suppresses_the_address(lambda_app, handler):
    assert handler(sns_event(ses_complaint("bob@example.com")))["suppressed"] == 1
    assert services(lambda_app).store.suppressions.get("BOB@example.com")["reason"] == "complaint"


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        json.dumps(["a list"]),
        json.dumps({"eventType": "Bounce"}),
        json.dumps({"eventType": "Bounce", "bounce": {"bounceType": "Permanent"}}),
        json.dumps({"notificationType": "Complaint", "complaint": {"complainedRecipients": [{}]}}),
        json.dumps({"something": "else"}),
    ],
)
def test_an_unreadable_event_fails_so_it_reaches_the_dead_letter_queue(handler, message):
    with pytest.raises(bounces.MalformedEvent):
        handler(sns_event(message))


def test_the_notifier_never_mails_a_suppressed_address(lambda_app, handler, now, add_slot, caplog):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"), patientEmail="ada@example.com")
    handler(sns_event(ses_bounce(PATIENT)))
    caplog.set_level(logging.INFO)
    result = worker.handle_stream(
        stream_event(stream_record("MODIFY", item, decided(item, "ACCEPTED"))), FakeContext()
    )
    assert result == {"batchItemFailures": []}
    assert sent_emails() == []
    assert "recipient suppressed after a bounce" in caplog.text
    assert "ada@example.com" not in caplog.text.lower()
    # Nothing was claimed: were the address ever cleared, a re-send could still go out.
    store = services(lambda_app).store
    key = f"notification#{item['appointmentId']}#{item['requestedAt']}#accepted"
    assert store.table.get(key) is None


def test_staff_see_that_the_patients_email_bounced(
    app, staff_client, make_booking, future_slot, monkeypatch
):
    from tests.notification_helpers import LAMBDA_ENV

    for name, value in LAMBDA_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(bounces, "_store", None)
    make_booking(future_slot, email="ada@example.com")
    page = staff_client.get(f"/staff/appointments/{future_slot}")
    assert "This address bounced" not in page.text
    api = staff_client.get(f"/api/staff/appointments/{future_slot}", headers=basic())
    assert api.json["appointment"]["emailSuppressed"] is None

    bounces.handle_ses_event(sns_event(ses_bounce(PATIENT)), FakeContext())
    page = staff_client.get(f"/staff/appointments/{future_slot}")
    assert "This address bounced" in page.text
    api = staff_client.get(f"/api/staff/appointments/{future_slot}", headers=basic())
    assert api.json["appointment"]["emailSuppressed"]["reason"] == "bounce"
