"""The schedule's races against dynalite (atomic conditional writes): the roll against a
booking and against staff removing a time, two rolls at once, and a closure against a
booking. Each race runs several rounds, on a fresh day each time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers import burst
from tests.test_races import ROUNDS
from webapp.extensions import services
from webapp.store.appointments import PatientDetails
from webapp.store.schedule import REMOVED

FIRST_DAY = date(2030, 6, 4)  # the `now` fixture is 3 June, 10:00 Melbourne


@pytest.fixture
def race_app(dynalite_app, now):
    service = services(dynalite_app)
    service.schedule.apply_hours(
        "default",
        {day: ["09:00-09:30"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )
    return dynalite_app


def _day(number: int) -> date:
    return FIRST_DAY + timedelta(days=number)


def _slot(day: date) -> str:
    return f"{day:%Y%m%d}-0900"


def _open(app, slot_id: str):
    service = services(app)
    service.store.schedule.delete_open(slot_id)  # the roll is to make it again


def test_roll_vs_booking_never_overwrites_the_booking(race_app):
    service = services(race_app)
    for number in range(ROUNDS):
        slot = _slot(_day(number))
        patient = PatientDetails("Ada", f"p{number}@example.com")
        burst(service.schedule.roll, lambda s=slot, p=patient: _try_book(service, s, p))
        item = service.store.appointments.get(slot)
        # Whatever the order, the slot exists once, and a booking that won is kept.
        assert item is not None
        if item["status"] == "PENDING":
            assert item["patientEmail"] == patient.email
        burst(service.schedule.roll, service.schedule.roll)
        assert service.store.appointments.get(slot)["status"] == item["status"]


def _try_book(service, slot, patient):
    try:
        return service.bookings.book(slot, patient)
    except Exception as error:  # the slot did not exist yet, or was taken
        return error


def test_two_rolls_at_once_create_each_time_once(race_app):
    service = services(race_app)
    for number in range(ROUNDS):
        _open(race_app, _slot(_day(number)))
    first, second = burst(service.schedule.roll, service.schedule.roll)
    assert first.created + second.created == ROUNDS
    assert len(service.availability.read_open(FIRST_DAY, _day(ROUNDS - 1))) == ROUNDS


def test_roll_vs_staff_removal_never_brings_the_time_back(race_app):
    service = services(race_app)
    for number in range(ROUNDS):
        slot = _slot(_day(number))
        burst(service.schedule.roll, lambda s=slot: _try_remove(service, s))
        service.schedule.roll()
        assert service.store.appointments.get(slot) is None
        assert service.store.table.get(slot)["status"] == REMOVED


def _try_remove(service, slot):
    try:
        return service.availability.remove(slot)
    except Exception as error:
        return error


def test_close_vs_booking_exactly_one_wins_and_a_booking_is_listed(race_app):
    service = services(race_app)
    for number in range(ROUNDS):
        day = _day(number)
        slot = _slot(day)
        patient = PatientDetails("Ada", f"c{number}@example.com")
        closure_box = {}

        def close(day=day, closure_box=closure_box):
            closure_box["closure"] = service.closures.close(
                {"start": day.isoformat()}, "staff@clinic.example"
            )[0]

        burst(close, lambda s=slot, p=patient: _try_book(service, s, p))
        item = service.store.table.get(slot)
        affected = [i["appointmentId"] for i in service.closures.affected(closure_box["closure"])]
        if item["status"] == "PENDING":
            assert affected == [slot]  # booked first: staff see it to decline
        else:
            assert item["status"] == REMOVED and affected == []
        assert service.availability.read_open(day, day) == []
