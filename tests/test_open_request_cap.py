"""The cap on open requests per email address: one canonical key per mailbox, and the cap
holds under a burst (against dynalite, whose conditional writes are atomic)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helpers import booking_json, burst
from webapp.extensions import services
from webapp.store.appointments import PatientDetails
from webapp.store.open_requests import canonical_email


@pytest.mark.parametrize(
    "variant",
    [
        "cap@example.com",
        "CAP@example.com",
        "cap+1@example.com",
        "Cap+clinic+x@EXAMPLE.com",
        "\uff43ap@example.com",  # fullwidth c
        "\uff23\uff21\uff30@\uff45xample.com",  # fullwidth CAP, fullwidth e
        " cap@example.com. ",
    ],
)
def test_variants_of_one_address_share_one_key(variant):
    assert canonical_email(variant) == "cap@example.com"


def test_dots_are_ignored_only_where_the_provider_ignores_them():
    assert canonical_email("C.A.P+x@googlemail.com") == canonical_email("cap@gmail.com")
    assert canonical_email("c.a.p@example.com") != canonical_email("cap@example.com")


def slots(app, count, day="2030-06-04"):
    store = services(app).store
    ids = []
    for number in range(count):
        slot = f"{day.replace('-', '')}-{900 + number:04d}"
        store.appointments.put_slot(slot, day, f"09:{number:02d}", "t")
        ids.append(slot)
    return ids


def test_variants_count_against_the_same_cap_through_the_api(make_app, now):
    app = make_app(MAX_OPEN_REQUESTS_PER_EMAIL="3", BOOKING_RATE_LIMIT="100")
    client = app.test_client()
    ids = slots(app, 6)
    addresses = ["cap@example.com", "cap+1@example.com", "CAP@example.com", "\uff43ap@example.com"]
    statuses = [
        client.post("/book-appointment", json=booking_json(slot, patientEmail=email)).status_code
        for slot, email in zip(ids, addresses, strict=False)
    ]
    assert statuses == [200, 200, 200, 409]


@pytest.fixture
def cap_app(dynalite_app, now):
    return dynalite_app  # MAX_OPEN_REQUESTS_PER_EMAIL defaults to 3


def test_five_simultaneous_bookings_with_one_address_exactly_three_succeed(cap_app):
    client = cap_app.test_client()
    for round_number in range(3):  # fresh slots and a fresh address each round
        ids = slots(cap_app, 5, day=f"2030-06-{4 + round_number:02d}")
        email = f"burst{round_number}@example.com"
        variants = [email, email.upper(), email.replace("@", "+a@"), email, email]
        responses = burst(
            *[
                lambda slot=slot, address=address: client.post(
                    "/book-appointment", json=booking_json(slot, patientEmail=address)
                )
                for slot, address in zip(ids, variants, strict=True)
            ]
        )
        assert Counter(r.status_code for r in responses) == {200: 3, 409: 2}
        booked = [services(cap_app).store.appointments.get(slot)["status"] for slot in ids]
        assert Counter(booked) == {"PENDING": 3, "AVAILABLE": 2}


def test_a_declined_or_cancelled_request_frees_its_place(cap_app):
    ids = slots(cap_app, 5)
    bookings = services(cap_app).bookings
    patient = PatientDetails("Ada", "ada@example.com")
    for slot in ids[:3]:
        bookings.book(slot, patient)
    client = cap_app.test_client()
    body = booking_json(ids[3], patientEmail="ADA@example.com")
    assert client.post("/book-appointment", json=body).status_code == 409
    bookings.decline(ids[0], "staff@clinic.example", "Closed")
    assert client.post("/book-appointment", json=body).status_code == 200
    item = services(cap_app).store.appointments.get(ids[3])
    bookings.cancel_by_patient(ids[3], item["requestedAt"])
    body = booking_json(ids[4], patientEmail="ada+x@example.com")
    assert client.post("/book-appointment", json=body).status_code == 200


def test_a_failed_booking_gives_its_place_back(cap_app):
    ids = slots(cap_app, 4)
    client = cap_app.test_client()
    services(cap_app).bookings.book(ids[0], PatientDetails("Bo", "other@example.com"))
    # Taken by someone else: a 409 that must not use up one of ada's places.
    for _ in range(3):
        taken = client.post("/book-appointment", json=booking_json(ids[0]))
        assert taken.status_code == 409
    statuses = [
        client.post("/book-appointment", json=booking_json(slot)).status_code for slot in ids[1:]
    ]
    assert statuses == [200, 200, 200]


def test_a_moved_request_still_counts(make_app, now):
    app = make_app(MAX_OPEN_REQUESTS_PER_EMAIL="2", BOOKING_RATE_LIMIT="100")
    client = app.test_client()
    first, second, third, fourth = slots(app, 4)
    booked = [
        client.post("/book-appointment", json=booking_json(slot, patientEmail="cap@example.com"))
        for slot in (first, second)
    ]
    assert [response.status_code for response in booked] == [200, 200]
    token = booked[0].json["manageUrl"].rsplit("/", 1)[1]
    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": third})
    assert moved.status_code == 200
    # Moving one of the two requests to another time does not free a place under the cap.
    another = client.post(
        "/book-appointment", json=booking_json(fourth, patientEmail="cap@example.com")
    )
    assert another.status_code == 409
