"""Helpers for the notification tests: real item images, stream records, SES's outbox."""

from __future__ import annotations

import email
import itertools
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from tests.helpers import booking_json
from webapp.extensions import services

MAIL_FROM = "bookings@clinic.example"
STAFF = "front-desk@clinic.example"
BASE_URL = "https://clinic.example"
STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/Appointments/stream/2030-06-01T00:00:00.000"
)

# What the notifier Lambda's environment looks like in these tests.
LAMBDA_ENV = {
    "APP_ENV": "test",
    "EMAIL_BACKEND": "ses",
    "MAIL_FROM": MAIL_FROM,
    "STAFF_NOTIFY_EMAIL": STAFF,
    "PUBLIC_BASE_URL": BASE_URL,
    "CLINIC_TIMEZONE": "Australia/Melbourne",
    "CLINIC_NAME": "Test Clinic",
    "NOTIFY_INLINE": "false",
    # These tests book many slots from one client and one address on purpose.
    "BOOKING_RATE_LIMIT": "1000",
    "MAX_OPEN_REQUESTS_PER_EMAIL": "1000",
}

_sequence = itertools.count(100_000_000_000_000_000_000)


def sent_emails() -> list[EmailMessage]:
    """Every message moto's SES accepted, parsed."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [
        email.message_from_string(message.raw_data, policy=default_policy)
        for message in backend.sent_messages
    ]


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) bodies of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "email needs both a text and an HTML part"
    return (
        text.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


def calendar_attachment(message: EmailMessage):
    from icalendar import Calendar

    files = [
        part for part in message.iter_attachments() if part.get_filename() == "appointment.ics"
    ]
    assert len(files) == 1, "expected exactly one appointment.ics"
    assert files[0].get_content_type() == "text/calendar"
    return Calendar.from_ical(files[0].get_content()), files[0]


def book(app, appointment_id: str, **overrides) -> dict[str, Any]:
    """Book through the public API and return the stored item (a real NewImage)."""
    response = app.test_client().post(
        "/book-appointment", json=booking_json(appointment_id, **overrides)
    )
    assert response.status_code == 200, response.json
    return services(app).store.appointments.get(appointment_id)


def slot_image(booked: dict[str, Any]) -> dict[str, Any]:
    """The AVAILABLE image the booked item had before the booking."""
    keep = ("appointmentId", "appointmentDate", "appointmentTime", "slotStart", "createdAt")
    return {**{key: booked[key] for key in keep}, "status": "AVAILABLE"}


def decided(item: dict[str, Any], status: str, **extra) -> dict[str, Any]:
    """The image after a staff decision or a cancellation (what the staff side writes)."""
    changes: dict[str, Any] = {"status": status, "updatedAt": "2030-06-03T00:05:00Z"}
    if status in ("ACCEPTED", "DECLINED"):
        changes.update(decidedBy="doctor@clinic.example", decidedAt="2030-06-03T00:05:00Z")
    if status == "CANCELLED":
        changes.update(cancelledAt="2030-06-03T00:06:00Z", cancelledBy="patient")
    changes.update(extra)
    return {**item, **changes}


def store_item(app, item: dict[str, Any]) -> None:
    """Write an item image to the table as it is (arranging state for reminders)."""
    serialize = TypeSerializer().serialize
    store = services(app).store
    store.table.client.put_item(
        TableName=store.table.name, Item={k: serialize(v) for k, v in item.items()}
    )


def stream_record(event_name: str, old: dict | None, new: dict | None) -> dict[str, Any]:
    """One record as the DynamoDB stream (NEW_AND_OLD_IMAGES) hands it to Lambda."""
    serialize = TypeSerializer().serialize
    image = new or old
    assert image is not None
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1906502400.0,
        "Keys": {"appointmentId": {"S": image["appointmentId"]}},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        body["OldImage"] = {k: serialize(v) for k, v in old.items()}
    if new is not None:
        body["NewImage"] = {k: serialize(v) for k, v in new.items()}
    return {
        "eventID": f"evt-{body['SequenceNumber']}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": STREAM_ARN,
    }


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


class FakeContext:
    """The bit of the Lambda context the handler looks at."""

    def __init__(self, remaining_millis: int = 300_000):
        self.remaining_millis = remaining_millis
        self.function_name = "notifier"
        self.aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def subject(message: EmailMessage) -> str:
    """The Subject as a mail client shows it (long headers are folded onto a new line)."""
    return " ".join(str(message["Subject"]).split())
