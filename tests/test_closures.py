"""Closures through the staff pages, the staff API and the CLI (moto)."""

from __future__ import annotations

import pytest

from tests.helpers import page_token
from tests.test_openapi import assert_conforms
from tests.test_schedule import BASIC, _cli, _listed
from tests.test_waitlist import outbox, text_of
from webapp.bookings import replacement_id
from webapp.extensions import services


def _hours(app):
    _cli(app, "add-practitioner", "Dr Jo Smith")
    _cli(app, "set-hours", "default", "--tue", "09:00-10:00", "--wed", "09:00-10:00")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-10:00", "--wed", "09:00-10:00")


def test_clinic_closure_removes_times_and_the_roll_keeps_them_closed(app, client, now):
    _hours(app)
    output = _cli(app, "close", "2030-06-04", "--reason", "Public holiday")
    assert "4 open time(s) removed" in output
    _cli(app, "roll-schedule")
    days = {s["appointmentDate"] for s in _listed(client, "?to=2030-06-05")}
    assert days == {"2030-06-05"}
    listed = _cli(app, "closures")
    closure_id = listed.split(":")[0]
    assert "whole clinic" in listed
    lifted = _cli(app, "lift-closure", closure_id)
    assert "4 time(s) reopened" in lifted
    assert {s["appointmentDate"] for s in _listed(client, "?to=2030-06-05")} == {
        "2030-06-04",
        "2030-06-05",
    }


def test_closure_beyond_the_horizon_is_skipped_by_the_roll(make_app, now):
    app = make_app(BOOKING_HORIZON_DAYS="7")
    _cli(app, "set-hours", "default", "--tue", "09:00-10:00")
    _cli(app, "close", "2030-06-11", "2030-06-20")  # days the roll has not reached yet
    app2 = make_app(BOOKING_HORIZON_DAYS="28", TABLE_NAME=services(app).settings.table_name)
    result = _cli(app2, "roll-schedule")
    assert "4 inside closures" in result
    days = {s["appointmentDate"] for s in services(app2).availability.read_open(None, None)}
    assert days == {"2030-06-04", "2030-06-25"}


def test_practitioner_closure_lists_and_resolves_bookings(app, client, now, make_booking, tmp_path):
    _hours(app)
    pending = make_booking("20300604-0900-dr-jo-smith", email="pending@example.com")
    accepted = make_booking("20300604-0930-dr-jo-smith", email="accepted@example.com")
    services(app).bookings.accept(accepted["appointmentId"], "staff@clinic.example")
    other = make_booking("20300604-0900")  # the default practitioner: not affected
    api = app.test_client()
    from tests.helpers import create_staff

    create_staff(app)
    closed = api.post(
        "/api/staff/closures",
        json={"start": "2030-06-04", "practitionerId": "dr-jo-smith", "reason": "Sick"},
        headers=BASIC,
    )
    assert closed.status_code == 201, closed.json
    assert_conforms("POST", "/api/staff/closures", closed)
    assert closed.json["removed"] == 0  # both of Dr Smith's times that day are booked
    ids = [item["appointmentId"] for item in closed.json["affected"]]
    assert ids == [pending["appointmentId"], accepted["appointmentId"]]
    closure_id = closed.json["closure"]["id"]
    # Somebody waits for Dr Smith that day: the times the closure takes are never theirs.
    waiting = {
        "patientName": "Grace Hopper",
        "patientEmail": "grace@example.com",
        "fromDate": "2030-06-04",
        "toDate": "2030-06-04",
        "practitionerId": "dr-jo-smith",
    }
    assert api.post("/join-waitlist", json=waiting).status_code == 201
    resolved = api.post(
        f"/api/staff/closures/{closure_id}/resolve",
        json={"decisionReason": "Dr Smith is away that day."},
        headers=BASIC,
    )
    assert resolved.json == {"declined": 1, "cancelled": 1, "skipped": 0}
    # Each affected patient is told by email; no waitlist offer goes out for a closed time.
    (declined,) = outbox(tmp_path, "-declined-")
    assert declined["To"] == "pending@example.com"
    assert "Dr Smith is away that day." in text_of(declined)
    (cancelled,) = outbox(tmp_path, "-cancelled-")
    assert cancelled["To"] == "accepted@example.com"
    assert outbox(tmp_path, "waitlist-offer") == []
    store = services(app).store
    # The freed times exist only as the closure's REMOVED times, never listed (not even
    # for a moment: they were written so), and the bookings' pages offer nothing to retry.
    for record in (pending, accepted):
        released = store.appointments.get(record["appointmentId"])
        replacement = store.table.get(replacement_id(released))
        assert replacement["status"] == "REMOVED"
        assert replacement["removedBy"] == f"closure#{closure_id}"
        assert services(app).bookings.is_released(released) is None
    path = "/api/staff/closures/{closure_id}"
    assert_conforms("POST", path + "/resolve", resolved)
    assert_conforms("GET", path, api.get(f"/api/staff/closures/{closure_id}", headers=BASIC))
    assert_conforms("GET", "/api/staff/closures", api.get("/api/staff/closures", headers=BASIC))
    listed = api.get("/api/staff/practitioners/dr-jo-smith", headers=BASIC)
    assert_conforms("GET", "/api/staff/practitioners/{practitioner_id}", listed)
    assert_conforms(
        "GET", "/api/staff/practitioners", api.get("/api/staff/practitioners", headers=BASIC)
    )
    slots = client.get("/appointment-slot?practitioner=default")
    assert_conforms("GET", "/appointment-slot", slots)
    assert_conforms("GET", "/appointment-slot", client.get("/appointment-slot?practitioner=x"))
    assert store.appointments.get(pending["appointmentId"])["status"] == "DECLINED"
    assert store.appointments.get(accepted["appointmentId"])["status"] == "CANCELLED"
    assert store.appointments.get(other["appointmentId"])["status"] == "PENDING"
    # The declined and cancelled times are not offered again inside the closure.
    listed = _listed(client, "?from=2030-06-04&to=2030-06-04&practitioner=dr-jo-smith")
    assert listed == []
    assert api.get(f"/api/staff/closures/{closure_id}", headers=BASIC).json["affected"] == []
    assert api.post("/api/staff/closures/nope/lift", json={}, headers=BASIC).status_code == 404
    lifted = api.post(f"/api/staff/closures/{closure_id}/lift", json={}, headers=BASIC)
    assert lifted.status_code == 200
    assert len(_listed(client, "?from=2030-06-04&to=2030-06-04&practitioner=dr-jo-smith")) == 2
    # Lifted, the two times are open again, and offered to the waitlist.
    offers = outbox(tmp_path, "waitlist-offer")
    assert sorted(m["To"] for m in offers) == ["grace@example.com", "grace@example.com"]


def test_closure_input_is_validated(app, staff_client, now):
    token = page_token(staff_client, "/staff/closures")
    for data, field in (
        ({"start": "tomorrow"}, "start"),
        ({"start": "2030-06-05", "end": "2030-06-04"}, "end"),
        ({"start": "2030-06-01", "end": "2030-06-02"}, "end"),
        ({"start": "2030-06-05", "practitionerId": "nobody"}, "practitionerId"),
    ):
        response = staff_client.post("/staff/closures", data={"csrf_token": token, **data})
        assert response.status_code == 400, data
        assert f'href="#f-{field}"' in response.text
    api = staff_client.post("/staff/closures", data={"start": "2030-06-05"})
    assert api.status_code == 400  # no CSRF token


def test_staff_pages_close_and_lift(app, staff_client, now, make_booking):
    _hours(app)
    make_booking("20300605-0900")
    token = page_token(staff_client, "/staff/closures")
    response = staff_client.post(
        "/staff/closures",
        data={"csrf_token": token, "start": "2030-06-05", "end": "2030-06-05"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "3 open time(s) removed" in response.text and "Ada Lovelace" in response.text
    closure_id = services(app).closures.all()[0]["id"]
    done = staff_client.post(
        f"/staff/closures/{closure_id}/resolve",
        data={"csrf_token": token, "decisionReason": "Closed for training."},
        follow_redirects=True,
    )
    assert "Declined 1 request(s)" in done.text
    lifted = staff_client.post(
        f"/staff/closures/{closure_id}/lift", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Closure lifted" in lifted.text and services(app).closures.all() == []


def test_staff_pages_for_practitioners_and_hours(app, staff_client, now):
    token = page_token(staff_client, "/staff/practitioners")
    added = staff_client.post(
        "/staff/practitioners",
        data={"csrf_token": token, "name": "Dr Kim Wu", "role": "Physio", "minutes": "45"},
        follow_redirects=True,
    )
    assert added.status_code == 200 and "Dr Kim Wu" in added.text
    bad = staff_client.post(
        "/staff/practitioners/dr-kim-wu/hours", data={"csrf_token": token, "mon": "9 to 5"}
    )
    assert bad.status_code == 400 and 'href="#h-mon"' in bad.text
    saved = staff_client.post(
        "/staff/practitioners/dr-kim-wu/hours",
        data={"csrf_token": token, "tue": "09:00-10:30"},
        follow_redirects=True,
    )
    assert "8 new time(s) created" in saved.text  # 09:00 and 09:45 on four Tuesdays
    assert staff_client.get("/staff/practitioners/nobody").status_code == 404
    assert "Dr Kim Wu" in staff_client.get("/staff/slots").text


def test_staff_linked_to_a_practitioner_sees_theirs_first(app, staff_client, now, make_booking):
    from tests.helpers import STAFF_EMAIL

    _hours(app)
    _cli(app, "edit-practitioner", "dr-jo-smith", "--staff-email", STAFF_EMAIL)
    mine = make_booking("20300604-0900-dr-jo-smith", name="Mine Patient")
    make_booking("20300604-0900", name="Other Patient")
    page = staff_client.get("/staff/")
    assert "Mine Patient" in page.text and "Other Patient" not in page.text
    everyone = staff_client.get("/staff/?practitioner=all")
    assert "Other Patient" in everyone.text
    assert staff_client.get("/staff/?practitioner=nobody").status_code == 400
    api = app.test_client().get("/api/staff/appointments?practitioner=dr-jo-smith", headers=BASIC)
    assert [i["appointmentId"] for i in api.json["appointments"]] == [mine["appointmentId"]]


@pytest.mark.parametrize(
    "field, value",
    [("reason", {}), ("reason", []), ("practitionerId", {}), ("practitionerId", 0)],
)
def test_closure_fields_of_the_wrong_type_are_refused(field, value, app, now, staff_account):
    from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD

    body = {"start": "2030-06-10", "end": "2030-06-10", field: value}
    response = app.test_client().post(
        "/api/staff/closures", json=body, auth=(STAFF_EMAIL, STAFF_PASSWORD)
    )
    assert response.status_code == 400
    assert field in response.json["fields"]


@pytest.mark.parametrize("end", [{}, 0, [], False])
def test_a_closure_end_of_the_wrong_type_is_refused(end, app, now, staff_account):
    from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD

    body = {"start": "2030-06-10", "end": end}
    response = app.test_client().post(
        "/api/staff/closures", json=body, auth=(STAFF_EMAIL, STAFF_PASSWORD)
    )
    assert response.status_code == 400
    assert "end" in response.json["fields"]
