"""Concurrent staff and patient actions against dynalite, whose conditional writes are
atomic (moto's are not under threads). Each race runs several rounds."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.helpers import booking_json, burst, create_staff, csrf_token, page_token, staff_login
from webapp import manage_links
from webapp.bookings import replacement_id
from webapp.extensions import services
from webapp.store.appointments import PatientDetails

ROUNDS = 6


@pytest.fixture
def race_app(dynalite_app, now):
    create_staff(dynalite_app)
    return dynalite_app


def _booked(app, number):
    service = services(app)
    slot = f"20300604-{900 + number:04d}"
    service.store.appointments.put_slot(
        slot, "2030-06-04", f"{9 + number // 60:02d}:{number % 60:02d}", "t"
    )
    return service.bookings.book(slot, PatientDetails("Ada", f"p{number}@example.com"))


def _available_at(app, record):
    return [
        s
        for s in services(app).store.appointments.list_available("2030-06-03T00:00")
        if s["appointmentTime"] == record["appointmentTime"]
    ]


def test_decline_vs_accept_exactly_one_wins(race_app):
    staff_a, staff_b = race_app.test_client(), race_app.test_client()
    staff_login(staff_a)
    staff_login(staff_b)
    token_a = page_token(staff_a, "/staff/slots")
    token_b = page_token(staff_b, "/staff/slots")
    store = services(race_app).store
    for number in range(ROUNDS):
        item = _booked(race_app, number)
        slot = item["appointmentId"]
        accept, decline = burst(
            lambda slot=slot: (
                staff_a.post(
                    f"/staff/appointments/{slot}/accept", data={"csrf_token": token_a}
                ).status_code
            ),
            lambda slot=slot: (
                staff_b.post(
                    f"/staff/appointments/{slot}/decline",
                    data={"csrf_token": token_b, "decisionReason": "Closed"},
                ).status_code
            ),
        )
        assert sorted([accept, decline]) == [303, 409]
        record = store.appointments.get(slot)
        if accept == 303:
            assert record["status"] == "ACCEPTED" and "decisionReason" not in record
            assert _available_at(race_app, record) == []
        else:
            assert record["status"] == "DECLINED" and record["decisionReason"] == "Closed"
            assert [s["appointmentId"] for s in _available_at(race_app, record)] == [
                replacement_id(record)
            ]


def test_accept_vs_patient_cancel_is_consistent(race_app):
    staff = race_app.test_client()
    staff_login(staff)
    staff_token = page_token(staff, "/staff/slots")
    settings = services(race_app).settings
    store = services(race_app).store
    for number in range(ROUNDS):
        item = _booked(race_app, 100 + number)
        slot = item["appointmentId"]
        link = f"/manage/{manage_links.make_token(settings, item)}"
        patient = race_app.test_client()
        patient_token = csrf_token(patient.get(f"{link}/cancel").text)
        accept, cancel = burst(
            lambda slot=slot: (
                staff.post(
                    f"/staff/appointments/{slot}/accept", data={"csrf_token": staff_token}
                ).status_code
            ),
            lambda link=link, patient=patient, token=patient_token: (
                patient.post(f"{link}/cancel", data={"csrf_token": token}).status_code
            ),
        )
        record = store.appointments.get(slot)
        # The patient may cancel a pending or an accepted request, so the cancel always
        # lands; the accept either came first (and is kept in the record) or was refused.
        assert cancel == 303
        assert record["status"] == "CANCELLED" and record["cancelledBy"] == "patient"
        if accept == 303:
            assert record["decidedBy"] and record["decidedAt"] <= record["cancelledAt"]
        else:
            assert accept == 409 and "decidedBy" not in record
        # Exactly one slot offers the time again.
        assert len(_available_at(race_app, record)) == 1


def test_remove_slot_vs_booking_never_loses_the_booking(race_app):
    staff = race_app.test_client()
    staff_login(staff)
    token = page_token(staff, "/staff/slots")
    store = services(race_app).store
    for number in range(ROUNDS):
        slot = f"20300605-{900 + number:04d}"
        store.appointments.put_slot(slot, "2030-06-05", f"09:{number:02d}", "t")
        removed, booked = burst(
            lambda slot=slot: (
                staff.post(f"/staff/slots/{slot}/remove", data={"csrf_token": token}).status_code
            ),
            lambda slot=slot, number=number: (
                race_app.test_client()
                .post(
                    "/book-appointment",
                    json={
                        "appointmentId": slot,
                        "patientName": "Ada",
                        "patientEmail": f"r{number}@example.com",
                    },
                )
                .status_code
            ),
        )
        item = store.appointments.get(slot)
        if booked == 200:
            assert removed == 409 and item["status"] == "PENDING"
        else:
            assert removed == 303 and item is None and booked in (404, 409)


ATTEMPTS = 50


def test_fifty_simultaneous_bookings_have_exactly_one_winner(dynalite_app, now):
    service = services(dynalite_app)
    service.store.appointments.put_slot("race", "2030-06-04", "09:00", "t")
    barrier = threading.Barrier(ATTEMPTS)
    results: list[tuple[int, int]] = []

    def attempt(number: int) -> None:
        client = dynalite_app.test_client()
        body = booking_json(
            "race", patientName=f"Patient {number}", patientEmail=f"p{number}@example.com"
        )
        barrier.wait()
        response = client.post("/book-appointment", json=body)
        results.append((number, response.status_code))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(status for _, status in results) == {200: 1, 409: ATTEMPTS - 1}
    winner = next(number for number, status in results if status == 200)
    item = service.store.appointments.get("race")
    assert item["status"] == "PENDING"
    assert item["patientName"] == f"Patient {winner}"
    assert item["patientEmail"] == f"p{winner}@example.com"


@pytest.mark.parametrize("counted_in", ["redis", "table"])
def test_a_burst_of_bookings_from_one_client_gets_exactly_the_rate_limit(
    make_dynalite_app, now, counted_in
):
    app = make_dynalite_app(
        BOOKING_RATE_LIMIT="3", **({"REDIS_HOST": None} if counted_in == "table" else {})
    )
    slots = []
    for number in range(10):
        slot = f"20300604-{1000 + number:04d}"
        services(app).store.appointments.put_slot(slot, "2030-06-04", f"10:{number:02d}", "t")
        slots.append(slot)
    bodies = [booking_json(slot, patientEmail=f"p{n}@example.com") for n, slot in enumerate(slots)]
    actions = [(lambda b=b: app.test_client().post("/book-appointment", json=b)) for b in bodies]
    codes = sorted(response.status_code for response in burst(*actions))
    assert codes == [200] * 3 + [429] * 7
