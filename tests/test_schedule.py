"""Practitioners, weekly hours and the daily roll (moto; DST days in two zones)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD, booking_json
from webapp import clock
from webapp.extensions import services
from webapp.schedule import handle_roll

BASIC = {
    "Authorization": "Basic "
    + __import__("base64").b64encode(f"{STAFF_EMAIL}:{STAFF_PASSWORD}".encode()).decode()
}


def _freeze(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: moment)


def _cli(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def _listed(client, query=""):
    response = client.get(f"/appointment-slot{query}")
    assert response.status_code == 200, response.json
    return response.json


# -- practitioners and the listing -------------------------------------------------------


def test_one_practitioner_clinic_keeps_todays_ids_and_shape(app, client, now):
    _cli(app, "set-hours", "default", "--tue", "09:00-10:00")
    slots = _listed(client)
    assert [s["appointmentId"] for s in slots][:2] == ["20300604-0900", "20300604-0930"]
    assert set(slots[0]) >= {"appointmentId", "appointmentDate", "appointmentTime", "status"}
    assert slots[0]["practitionerId"] == "default"
    assert slots[0]["practitionerName"] == services(app).settings.clinic_name


def test_several_practitioners_have_their_own_ids_and_filter(app, client, now):
    _cli(app, "add-practitioner", "Dr Jo Smith", "--role", "GP", "--minutes", "20")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-10:00")
    _cli(app, "edit-practitioner", "default", "--name", "Dr Ann Lee")
    _cli(app, "set-hours", "default", "--tue", "09:00-10:00")
    everyone = _listed(client, "?from=2030-06-04&to=2030-06-04")
    ids = [s["appointmentId"] for s in everyone]
    assert "20300604-0900" in ids and "20300604-0900-dr-jo-smith" in ids
    assert "20300604-0940-dr-jo-smith" in ids  # 20-minute appointments
    assert len(ids) == len(set(ids)) == 2 + 3
    smith = _listed(client, "?practitioner=dr-jo-smith")
    assert {s["practitionerName"] for s in smith} == {"Dr Jo Smith"}
    lee = _listed(client, "?practitioner=default")
    assert {s["practitionerName"] for s in lee} == {"Dr Ann Lee"}
    bad = client.get("/appointment-slot?practitioner=nobody")
    assert bad.status_code == 400 and "practitioner" in bad.json["fields"]


def test_filter_also_lists_slots_made_before_practitioners(app, client, now, add_slot):
    legacy = add_slot("2030-06-04", "15:00")
    _cli(app, "add-practitioner", "Dr Jo Smith")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-09:30")
    assert [s["appointmentId"] for s in _listed(client, "?practitioner=default")] == [legacy]
    assert "practitionerId" not in _listed(client, "?practitioner=default")[0]


def test_rename_reaches_future_slots_and_bookings(app, client, now, make_booking):
    _cli(app, "add-practitioner", "Dr Jo Smith")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-10:00")
    booked = make_booking("20300604-0900-dr-jo-smith")
    _cli(app, "edit-practitioner", "dr-jo-smith", "--name", "Dr Jo Smith-Jones")
    assert {s["practitionerName"] for s in _listed(client)} == {"Dr Jo Smith-Jones"}
    record = services(app).store.appointments.get(booked["appointmentId"])
    assert record["practitionerName"] == "Dr Jo Smith-Jones"


def test_inactive_practitioner_is_not_rolled_nor_offered_as_a_choice(app, client, now):
    _cli(app, "add-practitioner", "Dr Jo Smith")
    _cli(app, "add-practitioner", "Dr Kim Wu")
    assert "Dr Kim Wu" in client.get("/").text
    _cli(app, "edit-practitioner", "dr-kim-wu", "--inactive")
    _cli(app, "set-hours", "dr-kim-wu", "--tue", "09:00-10:00")
    assert _listed(client) == []
    assert "Dr Kim Wu" not in client.get("/").text


def test_practitioner_input_is_validated(app, staff_account):
    api = app.test_client()
    bad = api.post("/api/staff/practitioners", json={"name": "", "minutes": 1}, headers=BASIC)
    assert bad.status_code == 400 and set(bad.json["fields"]) == {"name", "minutes"}
    hours = api.post(
        "/api/staff/practitioners/default/hours",
        json={"hours": {"mon": "09:00-12:00,11:00-13:00", "fun": "09:00-10:00"}},
        headers=BASIC,
    )
    assert hours.status_code == 400 and set(hours.json["fields"]) == {"mon", "fun"}
    missing = api.post("/api/staff/practitioners/nobody/hours", json={"hours": {}}, headers=BASIC)
    assert missing.status_code == 404
    result = app.test_cli_runner().invoke(args=["set-hours", "default", "--mon", "9-5"])
    assert result.exit_code != 0 and "mon" in result.output


# -- the roll ----------------------------------------------------------------------------


def test_roll_is_idempotent_and_covers_the_horizon(app, now):
    _cli(app, "set-hours", "default", "--mon", "09:00-10:00", "--fri", "13:00-14:00")
    again = _cli(app, "roll-schedule")
    assert "0 new time(s)" in again
    listed = services(app).availability.read_open(None, None)
    days = {s["appointmentDate"] for s in listed}
    # From Monday 3 June 10:00 Melbourne: 28 days end on Sunday 30 June.
    assert min(days) == "2030-06-07" and max(days) == "2030-06-28"
    assert len(listed) == 4 * 2 + 3 * 2  # 4 Fridays, then 3 more Mondays (today's passed)


def test_removed_and_closed_times_are_not_rolled_again(app, client, staff_client, now):
    from tests.helpers import page_token

    _cli(app, "set-hours", "default", "--tue", "09:00-10:00")
    token = page_token(staff_client, "/staff/slots")
    staff_client.post("/staff/slots/20300604-0900/remove", data={"csrf_token": token})
    _cli(app, "roll-schedule")
    assert "20300604-0900" not in [s["appointmentId"] for s in _listed(client)]
    assert client.get("/book/20300604-0900").status_code == 404
    # Staff can add it back by hand.
    added = staff_client.post(
        "/staff/slots",
        data={"csrf_token": token, "start": "2030-06-04", "times": "09:00"},
        follow_redirects=True,
    )
    assert "Added 1 new slot(s)" in added.text


def test_changing_hours_removes_open_times_outside_and_lists_bookings(
    app, client, now, make_booking
):
    _cli(app, "set-hours", "default", "--tue", "09:00-11:00")
    make_booking("20300604-1030")
    output = _cli(app, "set-hours", "default", "--tue", "09:00-10:00", "--wed", "09:00-09:30")
    assert "outside hours: 20300604-1030" in output
    ids = [s["appointmentId"] for s in _listed(client, "?to=2030-06-05")]
    assert ids == ["20300604-0900", "20300604-0930", "20300605-0900"]
    assert services(app).store.appointments.get("20300604-1030")["status"] == "PENDING"


def test_roll_lambda_handler_runs_the_same_code(app, now, monkeypatch, make_settings):
    _cli(app, "set-hours", "default", "--tue", "09:00-10:00")
    services(app).store.schedule.delete_open("20300604-0900")
    from webapp import schedule as schedule_module

    monkeypatch.setattr(schedule_module, "_schedule", services(app).schedule)
    assert handle_roll({}, None)["created"] == 1


# -- daylight saving -----------------------------------------------------------------------

DST_DAYS = [
    # zone, day, a moment days before it (UTC), times missing, times that happen twice
    (
        "America/New_York",
        "2030-03-10",
        datetime(2030, 3, 5, 12, tzinfo=UTC),
        ["02:00", "02:30"],
        [],
    ),
    (
        "America/New_York",
        "2030-11-03",
        datetime(2030, 10, 29, 12, tzinfo=UTC),
        [],
        ["01:00", "01:30"],
    ),
    (
        "Australia/Melbourne",
        "2030-10-06",
        datetime(2030, 10, 1, 2, tzinfo=UTC),
        ["02:00", "02:30"],
        [],
    ),
    (
        "Australia/Melbourne",
        "2030-04-07",
        datetime(2030, 4, 2, 2, tzinfo=UTC),
        [],
        ["02:00", "02:30"],
    ),
]


@pytest.mark.parametrize("zone, day, moment, missing, twice", DST_DAYS)
def test_dst_days_skip_missing_times_and_create_repeated_ones_once(
    make_app, monkeypatch, zone, day, moment, missing, twice
):
    _freeze(monkeypatch, moment)
    app = make_app(CLINIC_TIMEZONE=zone)
    _cli(app, "set-hours", "default", "--sun", "00:00-04:00")
    _cli(app, "roll-schedule")  # a second run on the same day creates nothing more
    slots = app.test_client().get(f"/appointment-slot?from={day}&to={day}").json
    times = [s["appointmentTime"] for s in slots]
    expected = [f"{h:02d}:{m:02d}" for h in range(4) for m in (0, 30)]
    assert times == [t for t in expected if t not in missing]
    for repeated in twice:
        assert times.count(repeated) == 1
    assert date.fromisoformat(day).weekday() == 6


def test_booking_a_rolled_slot_names_the_practitioner(app, client, now):
    _cli(app, "add-practitioner", "Dr Jo Smith", "--role", "GP")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-10:00")
    page = client.get("/?practitioner=dr-jo-smith")
    assert page.status_code == 200 and "Dr Jo Smith" in page.text
    assert client.get("/?practitioner=nobody").status_code == 400
    booked = client.post("/book-appointment", json=booking_json("20300604-0900-dr-jo-smith"))
    assert booked.status_code == 200
    manage = client.get(booked.json["manageUrl"])
    assert "Dr Jo Smith" in manage.text


def test_a_move_tells_staff_and_names_the_new_practitioner(make_app, now, tmp_path):
    from tests.test_rescheduling import outbox, token_of

    app = make_app(STAFF_NOTIFY_EMAIL="staff@clinic.example")
    client = app.test_client()
    _cli(app, "add-practitioner", "Dr Jo Smith")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-10:00")
    _cli(app, "set-hours", "default", "--tue", "09:00-10:00")
    booked = client.post("/book-appointment", json=booking_json("20300604-0900"))
    token = token_of(booked.json["manageUrl"])
    target = "20300604-0930-dr-jo-smith"
    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": target})
    assert moved.status_code == 200
    emails = dict(outbox(tmp_path))  # the clock is frozen: files sort by name, not time
    assert set(emails) == {
        "request-received-20300604-0900",
        "staff-new-request-20300604-0900",
        f"rescheduled-{target}",
        f"staff-new-request-{target}",
    }
    patient, staff = emails[f"rescheduled-{target}"], emails[f"staff-new-request-{target}"]
    assert "with Dr Jo Smith" in patient["Subject"]
    assert staff["To"] == "staff@clinic.example"
    staff_text = staff.get_body(("plain",)).get_content()
    assert "Moved:   by the patient, from Tuesday 4 June 2030 at 09:00" in staff_text
    dashboard_row = services(app).store.appointments.get(target)
    assert dashboard_row["rescheduledFrom"] == "20300604-0900"


@pytest.mark.parametrize("field, value", [("staffEmail", {}), ("role", []), ("role", 0)])
def test_practitioner_fields_of_the_wrong_type_are_refused(field, value, app, staff_account):
    from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD

    response = app.test_client().post(
        "/api/staff/practitioners",
        json={"name": "Dr Who", field: value},
        auth=(STAFF_EMAIL, STAFF_PASSWORD),
    )
    assert response.status_code == 400
    assert field in response.json["fields"]


# -- times added by hand -------------------------------------------------------------------


def test_populate_slots_for_a_practitioner_uses_their_ids(app, client, now):
    _cli(app, "add-practitioner", "Dr Jo Smith")
    args = ["populate-slots", "--days", "2", "--start", "2030-06-04", "--times", "09:00"]
    _cli(app, *args, "--practitioner", "dr-jo-smith")
    _cli(app, *args)  # the default: the clinic's own pool, ids as before
    assert "Created 0 new slot(s); 2 already existed" in _cli(
        app, *args, "--practitioner", "dr-jo-smith"
    )
    slots = _listed(client, "?from=2030-06-04&to=2030-06-05")
    assert [s["appointmentId"] for s in slots] == [
        "20300604-0900",
        "20300604-0900-dr-jo-smith",
        "20300605-0900",
        "20300605-0900-dr-jo-smith",
    ]
    assert {s.get("practitionerName") for s in slots if s["appointmentId"].endswith("smith")} == {
        "Dr Jo Smith"
    }
    item = services(app).store.appointments.get("20300604-0900-dr-jo-smith")
    assert item["source"] == "manual"
    bad = app.test_cli_runner().invoke(args=[*args, "--practitioner", "nobody"])
    assert bad.exit_code == 2 and "Unknown practitioner" in bad.output


def test_staff_add_times_form_takes_a_practitioner(app, client, staff_client, now):
    from tests.helpers import page_token

    _cli(app, "add-practitioner", "Dr Jo Smith")
    page = staff_client.get("/staff/slots")
    assert '<select id="practitioner" name="practitioner">' in page.text
    token = page_token(staff_client, "/staff/slots")
    form = {"csrf_token": token, "start": "2030-06-04", "times": "11:00"}
    added = staff_client.post(
        "/staff/slots", data={**form, "practitioner": "dr-jo-smith"}, follow_redirects=True
    )
    assert "Added 1 new slot(s)" in added.text
    staff_client.post("/staff/slots", data=form)  # no choice: the default practitioner
    ids = [s["appointmentId"] for s in _listed(client, "?to=2030-06-04")]
    assert ids == ["20300604-1100", "20300604-1100-dr-jo-smith"]
    refused = staff_client.post("/staff/slots", data={**form, "practitioner": "nobody"})
    assert refused.status_code == 400
    _cli(app, "edit-practitioner", "dr-jo-smith", "--inactive")
    inactive = staff_client.post("/staff/slots", data={**form, "practitioner": "dr-jo-smith"})
    assert inactive.status_code == 400
    no_csrf = staff_client.post(
        "/staff/slots", data={k: v for k, v in form.items() if k != "csrf_token"}
    )
    assert no_csrf.status_code == 400


def test_staff_api_adds_times_for_a_practitioner(app, client, staff_account, now):
    _cli(app, "add-practitioner", "Dr Jo Smith")
    body = {"start": "2030-06-04", "end": "2030-06-05", "times": ["09:00", "09:30"]}
    response = client.post(
        "/api/staff/slots", json={**body, "practitioner": "dr-jo-smith"}, headers=BASIC
    )
    assert response.status_code == 200 and response.json == {"created": 4, "existing": 0}
    again = client.post(
        "/api/staff/slots", json={**body, "practitioner": "dr-jo-smith"}, headers=BASIC
    )
    assert again.json == {"created": 0, "existing": 4}
    default = client.post("/api/staff/slots", json={**body, "times": "10:00"}, headers=BASIC)
    assert default.json == {"created": 2, "existing": 0}
    ids = [s["appointmentId"] for s in _listed(client, "?to=2030-06-04")]
    assert ids == ["20300604-0900-dr-jo-smith", "20300604-0930-dr-jo-smith", "20300604-1000"]
    for bad, field in (
        ({**body, "practitioner": "nobody"}, "practitioner"),
        ({**body, "start": "4 June"}, "start"),
        ({**body, "end": "2030-06-01"}, "end"),
        ({**body, "times": "9am"}, "times"),
        ({**body, "times": 9}, "times"),
        ({**body, "skipWeekends": "no"}, "skipWeekends"),
        ({**body, "end": "2031-06-05"}, "end"),
    ):
        refused = client.post("/api/staff/slots", json=bad, headers=BASIC)
        assert refused.status_code == 400 and field in refused.json["fields"], (bad, refused.json)
    assert client.post("/api/staff/slots", json=body).status_code == 401
    assert client.post("/api/staff/slots", data="x", headers=BASIC).status_code == 415


def test_changing_hours_keeps_times_added_by_hand(app, client, staff_client, now):
    from tests.helpers import page_token

    _cli(app, "add-practitioner", "Dr Jo Smith")
    _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-11:00")
    # An extra evening time by hand, and a rolled time removed then added back by hand.
    token = page_token(staff_client, "/staff/slots")
    form = {"csrf_token": token, "start": "2030-06-04", "practitioner": "dr-jo-smith"}
    staff_client.post("/staff/slots", data={**form, "times": "18:00"})
    staff_client.post("/staff/slots/20300604-1030-dr-jo-smith/remove", data={"csrf_token": token})
    staff_client.post("/staff/slots", data={**form, "times": "10:30"})
    output = _cli(app, "set-hours", "dr-jo-smith", "--tue", "09:00-10:00")
    # 10:00 that day (10:30 and 18:00 were added by hand), 10:00 and 10:30 on 3 more Tuesdays
    assert "7 open time(s) outside them removed" in output
    ids = [s["appointmentId"] for s in _listed(client, "?to=2030-06-04&practitioner=dr-jo-smith")]
    assert ids == [
        "20300604-0900-dr-jo-smith",
        "20300604-0930-dr-jo-smith",
        "20300604-1030-dr-jo-smith",
        "20300604-1800-dr-jo-smith",
    ]
    # The hours-change delete itself refuses a hand-added time (a conditional write).
    assert services(app).store.schedule.delete_open("20300604-1800-dr-jo-smith") is False
    # Once removed by staff, a hand-added time is not re-created by the roll either.
    staff_client.post("/staff/slots/20300604-1800-dr-jo-smith/remove", data={"csrf_token": token})
    _cli(app, "roll-schedule")
    assert "20300604-1800-dr-jo-smith" not in [s["appointmentId"] for s in _listed(client)]


def test_a_hand_added_times_released_copy_is_still_hand_added(app, now, make_booking):
    _cli(app, "populate-slots", "--days", "1", "--start", "2030-06-04", "--times", "18:00")
    booked = make_booking("20300604-1800")
    change = services(app).bookings.decline(booked["appointmentId"], "staff@x.example", "Away")
    from webapp.bookings import replacement_id

    assert change.time_released is True
    released = services(app).store.appointments.get(replacement_id(change.record))
    assert released["status"] == "AVAILABLE" and released["source"] == "manual"


@pytest.mark.parametrize("hours", [{"mon": [{}]}, {"mon": [1]}, {"mon": {}}, {"tue": 9}])
def test_hours_of_the_wrong_shape_are_a_400(hours, app, staff_account):
    from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD

    response = app.test_client().post(
        "/api/staff/practitioners/default/hours",
        json={"hours": hours},
        auth=(STAFF_EMAIL, STAFF_PASSWORD),
    )
    assert response.status_code == 400
    assert response.json["fields"]


def test_null_practitioner_details_mean_nothing(app, staff_account):
    from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD

    response = app.test_client().post(
        "/api/staff/practitioners",
        json={"name": "Dr Null", "role": None, "staffEmail": None},
        auth=(STAFF_EMAIL, STAFF_PASSWORD),
    )
    assert response.status_code == 201
    assert response.json["practitioner"]["staffEmail"] in ("", None)


def test_a_practitioner_id_of_the_wrong_type_is_refused(app, staff_account):
    from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD

    for path in ("/api/staff/practitioners", "/api/staff/practitioners/default"):
        response = app.test_client().post(
            path, json={"name": "Dr Who", "id": {}}, auth=(STAFF_EMAIL, STAFF_PASSWORD)
        )
        assert response.status_code == 400
        assert "id" in response.json["fields"]
