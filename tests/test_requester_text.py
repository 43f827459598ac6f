"""What a requester typed reaches nobody through an email the requester can trigger.

Anyone can book for any address and then, with the `manageUrl` the booking answers with,
cancel or move it: those emails go to an address nobody has verified, so they carry
nothing the requester typed. Emails after a staff decision greet the patient by name.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.helpers import booking_json, page_token
from tests.test_rescheduling import outbox, token_of
from webapp.extensions import services
from webapp.notifications.decide import (
    ACCEPTED_KIND,
    CANCELLED_KIND,
    DECLINED_KIND,
    RECEIVED,
    REMINDER,
    RESCHEDULED_KIND,
    Notice,
)
from webapp.notifications.render import render

TYPED_NAME = "CLICK evil.example NOW"
TYPED_NOTES = "Prize waiting at prize.example"
TYPED = ("CLICK", "evil.example", "prize.example")


def everything_in(message: EmailMessage) -> str:
    """Every header and every decoded part (text, HTML, calendar file) of a message."""
    found = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        found += [f"{name}: {value}" for name, value in part.items()]
        content = part.get_content()
        found.append(content.decode() if isinstance(content, bytes) else content)
    return "\n".join(found)


def assert_quotes_nothing_typed(message: EmailMessage) -> None:
    whole = everything_in(message)
    assert "ada@example.com" in message["To"]  # it did go to the requested address
    for words in TYPED:
        assert words not in whole


def book_typed(client, slot: str) -> str:
    body = booking_json(slot, patientName=TYPED_NAME, notes=TYPED_NOTES)
    response = client.post("/book-appointment", json=body)
    assert response.status_code == 200, response.json
    return token_of(response.json["manageUrl"])


def emails(tmp_path, kind: str) -> list[EmailMessage]:
    return [message for name, message in outbox(tmp_path) if name.startswith(f"{kind}-")]


def test_a_self_service_cancel_quotes_nothing_the_requester_typed(client, now, add_slot, tmp_path):
    slot = add_slot("2030-06-04", "09:00")
    token = book_typed(client, slot)
    assert client.post(f"/my-appointment/{token}/cancel", json={}).status_code == 200

    [message] = emails(tmp_path, CANCELLED_KIND)
    assert_quotes_nothing_typed(message)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Hello,") and "As you asked" in text
    [received] = emails(tmp_path, RECEIVED)
    assert_quotes_nothing_typed(received)


def test_a_self_service_move_quotes_nothing_the_requester_typed(client, now, add_slot, tmp_path):
    first = add_slot("2030-06-04", "09:00")
    second = add_slot("2030-06-05", "10:00")
    token = book_typed(client, first)
    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": second})
    assert moved.status_code == 200, moved.json

    [message] = emails(tmp_path, RESCHEDULED_KIND)
    assert_quotes_nothing_typed(message)
    assert message.get_body(preferencelist=("plain",)).get_content().startswith("Hello,")


def test_after_a_staff_decision_the_email_greets_by_name(
    app, client, staff_client, now, add_slot, tmp_path
):
    slot = add_slot("2030-06-04", "09:00")
    book_typed(client, slot)
    csrf = page_token(staff_client, f"/staff/appointments/{slot}")
    staff_client.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": csrf})
    staff_client.post(f"/staff/appointments/{slot}/cancel", data={"csrf_token": csrf})

    for kind in (ACCEPTED_KIND, CANCELLED_KIND):
        [message] = emails(tmp_path, kind)
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert text.startswith(f"Dear {TYPED_NAME},")
        assert f"Dear {TYPED_NAME}," in html


ITEM = {
    "appointmentId": "20300604-0900",
    "appointmentDate": "2030-06-04",
    "appointmentTime": "09:00",
    "slotStart": "2030-06-04T09:00",
    "patientName": TYPED_NAME,
    "patientEmail": "ada@example.com",
    "notes": TYPED_NOTES,
    "requestedAt": "2030-06-01T10:00:00Z",
}


@pytest.mark.parametrize(
    ("kind", "extra", "greets"),
    [
        (RECEIVED, {"status": "PENDING"}, False),
        (
            RECEIVED,
            {"status": "UNCONFIRMED", "confirmBy": "2030-06-01T11:00:00Z"},
            False,
        ),
        (CANCELLED_KIND, {"status": "CANCELLED", "cancelledBy": "patient"}, False),
        (RESCHEDULED_KIND, {"status": "PENDING", "previousDate": "2030-06-03"}, False),
        (ACCEPTED_KIND, {"status": "ACCEPTED"}, True),
        (DECLINED_KIND, {"status": "DECLINED"}, True),
        (REMINDER, {"status": "ACCEPTED"}, True),
        (CANCELLED_KIND, {"status": "CANCELLED", "cancelledBy": "staff"}, True),
    ],
)
def test_which_emails_quote_the_requester(make_app, kind, extra, greets):
    settings = services(make_app(REQUIRE_EMAIL_CONFIRMATION="true")).settings
    item = {**ITEM, **extra}
    if "previousDate" in extra:
        item["previousTime"] = "10:30"
    message = render(settings, Notice(kind, item))
    if greets:
        assert f"Dear {TYPED_NAME}," in everything_in(message)
    else:
        assert_quotes_nothing_typed(message)
    # The notes (for the clinic) never reach the patient's inbox, whoever decided.
    assert "prize.example" not in everything_in(message)
