"""Rescheduling races against dynalite (atomic conditional writes, no transactions): never a
time given twice, never a patient who loses their time without getting the new one."""

from __future__ import annotations

from functools import partial

import pytest

from tests.helpers import burst, create_staff, page_token, staff_login
from webapp import manage_links
from webapp.bookings import replacement_id
from webapp.extensions import services
from webapp.store.appointments import PatientDetails

ROUNDS = 6
DAY = "2030-06-04"


@pytest.fixture
def race_app(dynalite_app, now):
    create_staff(dynalite_app)
    return dynalite_app


class Slots:
    """Fresh slots for each round (minutes of one day), and bookings on them."""

    def __init__(self, app):
        self.app = app
        self.service = services(app)
        self.minutes = iter(range(0, 24 * 60, 5))

    def new(self) -> str:
        minute = next(self.minutes)
        time = f"{minute // 60:02d}:{minute % 60:02d}"
        slot = f"{DAY.replace('-', '')}-{time.replace(':', '')}"
        self.service.store.appointments.put_slot(slot, DAY, time, "t")
        return slot

    def booked(self, email: str) -> tuple[str, str]:
        """(slot, the patient's JSON self-service path) of a new booking."""
        slot = self.new()
        item = self.service.bookings.book(slot, PatientDetails("Ada", email))
        token = manage_links.make_token(self.service.settings, item)
        return slot, f"/my-appointment/{token}"

    def get(self, slot: str) -> dict:
        return self.service.store.appointments.get(slot)


def move(app, path: str, target: str) -> int:
    response = app.test_client().post(f"{path}/reschedule", json={"appointmentId": target})
    return response.status_code


def decline(staff, csrf: str, slot: str) -> int:
    data = {"csrf_token": csrf, "decisionReason": "Closed"}
    return staff.post(f"/staff/appointments/{slot}/decline", data=data).status_code


def book(app, slot: str, email: str) -> int:
    body = {"appointmentId": slot, "patientName": "Eve", "patientEmail": email}
    return app.test_client().post("/book-appointment", json=body).status_code


def holders(slots: Slots, *ids: str) -> dict[str, str | None]:
    """Who holds each slot (an open request on it), or None."""
    result = {}
    for slot in ids:
        item = slots.get(slot)
        open_request = item and item["status"] in ("PENDING", "ACCEPTED")
        result[slot] = item["patientEmail"] if open_request else None
    return result


def test_two_patients_moving_into_the_same_time(race_app):
    slots = Slots(race_app)
    for number in range(ROUNDS):
        first, first_path = slots.booked(f"a{number}@example.com")
        second, second_path = slots.booked(f"b{number}@example.com")
        target = slots.new()
        a, b = burst(
            partial(move, race_app, first_path, target),
            partial(move, race_app, second_path, target),
        )
        assert sorted([a, b]) == [200, 409]
        winner, loser = (first, second) if a == 200 else (second, first)
        winner_email = slots.get(winner)["patientEmail"]
        held = holders(slots, first, second, target)
        # The winner holds only the new time; the loser still holds theirs, untouched.
        assert held[target] == winner_email and held[winner] is None
        assert held[loser] == slots.get(loser)["patientEmail"] != winner_email
        assert slots.get(winner)["status"] == "RESCHEDULED"
        assert slots.get(replacement_id(slots.get(winner)))["status"] == "AVAILABLE"


def test_patient_moving_while_staff_decline(race_app):
    slots = Slots(race_app)
    staff = race_app.test_client()
    staff_login(staff)
    token = page_token(staff, "/staff/slots")
    outcomes = set()
    for number in range(ROUNDS):
        mine, path = slots.booked(f"c{number}@example.com")
        target = slots.new()
        moved, declined = burst(
            partial(move, race_app, path, target),
            partial(decline, staff, token, mine),
        )
        outcomes.add((moved, declined))
        old, new = slots.get(mine), slots.get(target)
        if moved == 200:
            # The move won: the decline found nothing to decline.
            assert declined == 409 and old["status"] == "RESCHEDULED"
            assert new["status"] == "PENDING" and new["patientEmail"] == f"c{number}@example.com"
        else:
            # The decline won: the new time was never kept (given back if it was claimed).
            assert (moved, declined) == (409, 303)
            assert old["status"] == "DECLINED"
            assert new["status"] == "AVAILABLE" and "patientEmail" not in new
        # Either way the old time is offered again exactly once.
        assert slots.get(replacement_id(old))["status"] == "AVAILABLE"
    assert outcomes <= {(200, 409), (409, 303)}


def test_patient_moving_into_a_time_another_patient_books(race_app):
    slots = Slots(race_app)
    for number in range(ROUNDS):
        mine, path = slots.booked(f"d{number}@example.com")
        target = slots.new()
        other = f"e{number}@example.com"
        moved, booked = burst(
            partial(move, race_app, path, target),
            partial(book, race_app, target, other),
        )
        assert sorted([moved, booked]) == [200, 409]
        held = holders(slots, mine, target)
        if moved == 200:
            assert held == {mine: None, target: f"d{number}@example.com"}
        else:
            assert held == {mine: f"d{number}@example.com", target: other}
