"""Addresses SES cannot deliver: an internationalised local part is refused at booking
(form and JSON); an internationalised domain is stored and mailed in its ASCII form."""

from __future__ import annotations

import email
from email.policy import default

from tests.helpers import booking_json, csrf_token
from webapp.email_address import NOT_DELIVERABLE, ascii_address


def test_json_refuses_a_non_ascii_local_part(client, store, future_slot):
    response = client.post(
        "/book-appointment", json=booking_json(future_slot, patientEmail="josé@example.com")
    )
    assert response.status_code == 400
    assert response.json["fields"]["patientEmail"] == [NOT_DELIVERABLE]
    assert store.appointments.get(future_slot)["status"] == "AVAILABLE"


def test_the_form_refuses_a_non_ascii_local_part(client, store, future_slot):
    form = client.get(f"/book/{future_slot}")
    response = client.post(
        f"/book/{future_slot}",
        data={
            "csrf_token": csrf_token(form.text),
            "patientName": "José",
            "patientEmail": "josé@example.com",
        },
    )
    assert response.status_code == 400
    assert "before the @" in response.text
    assert store.appointments.get(future_slot)["status"] == "AVAILABLE"


def test_an_internationalised_domain_is_stored_and_mailed_in_ascii(
    make_app, now, add_slot, tmp_path
):
    app = make_app(STAFF_NOTIFY_EMAIL="desk@clinic.example")
    from webapp.extensions import services

    slot = add_slot("2030-06-04", "09:00")
    response = app.test_client().post(
        "/book-appointment", json=booking_json(slot, patientEmail="ana@bücher.example")
    )
    assert response.status_code == 200, response.json
    item = services(app).store.appointments.get(slot)
    assert item["patientEmail"] == "ana@xn--bcher-kva.example"
    assert item["emailKey"] == "ana@xn--bcher-kva.example"
    (received,) = (tmp_path / "outbox").glob("*request-received*.eml")
    raw = received.read_bytes()
    assert raw.isascii()
    message = email.message_from_bytes(raw, policy=default)
    assert message["To"] == "ana@xn--bcher-kva.example"
    assert "=?" not in str(message["To"])


def test_ascii_address():
    assert ascii_address("Ada@Example.com") == "Ada@Example.com"  # ASCII: unchanged
    assert ascii_address("ana@bücher.example") == "ana@xn--bcher-kva.example"
    assert ascii_address("josé@example.com") is None
    assert ascii_address("not an address é") is None
    assert ascii_address(None) is None
