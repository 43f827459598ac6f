"""Staff calendar feeds: a feed a calendar client parses, tokens, options and limits."""

from __future__ import annotations

import re

from icalendar import Calendar

from tests.helpers import STAFF_EMAIL, burst, page_token
from tests.test_openapi import assert_conforms
from tests.test_staff import basic
from webapp.extensions import services
from webapp.notifications.render import calendar_uid


def _create(client, include_pending=False) -> str:
    response = client.post(
        "/api/staff/calendar-feed", json={"includePending": include_pending}, headers=basic()
    )
    assert response.status_code == 201
    assert_conforms("POST", "/api/staff/calendar-feed", response)
    assert response.json["webcalUrl"].startswith("webcal:")
    return "/" + response.json["url"].split("/", 3)[3]


def _events(response) -> list:
    return Calendar.from_ical(response.data).walk("VEVENT")


def test_feed_parses_with_stable_uids_timezone_and_no_patient_data(
    app, client, staff_account, now, add_slot, make_booking
):
    settings = services(app).settings
    accepted_id = add_slot("2030-06-04", "09:00")
    pending_id = add_slot("2030-06-05", "10:00")
    accepted = make_booking(accepted_id, email="ada@example.com", name="Ada Lovelace")
    make_booking(pending_id, name="Grace Hopper")
    services(app).bookings.accept(accepted_id, STAFF_EMAIL)
    path = _create(client)

    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("private, max-age=")
    assert ".ics" in response.headers["Content-Disposition"]
    calendar = Calendar.from_ical(response.data)
    assert calendar["X-WR-CALNAME"]
    assert "REFRESH-INTERVAL" in calendar and "X-PUBLISHED-TTL" in calendar
    zones = calendar.walk("VTIMEZONE")
    assert [str(zone["TZID"]) for zone in zones] == [settings.clinic_timezone]
    (event,) = _events(response)  # accepted only by default
    assert str(event["UID"]) == calendar_uid(settings, accepted)
    assert event["SEQUENCE"] == 1 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART").isoformat().startswith("2030-06-04T09:00")
    assert accepted_id in str(event["DESCRIPTION"])
    text = response.data.decode()
    for secret in ("Ada", "Lovelace", "ada@example.com", "notes", "Grace"):
        assert secret not in text

    # The same output again (ETag), and a 304 for a client that has it.
    again = client.get(path)
    assert again.data == response.data and again.headers["ETag"] == response.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_pending_option_and_patient_names_setting(make_app, now):
    app = make_app(CALENDAR_FEED_PATIENT_NAMES="true")
    from tests.helpers import create_staff

    create_staff(app)
    service = services(app)
    slot = "20300605-1000"
    service.store.appointments.put_slot(slot, "2030-06-05", "10:00", "t")
    from webapp.store.appointments import PatientDetails

    service.bookings.book(slot, PatientDetails("Grace Hopper", "g@example.com", ""))
    client = app.test_client()
    path = _create(client, include_pending=True)
    (event,) = _events(client.get(path))
    assert str(event["STATUS"]) == "TENTATIVE" and event["SEQUENCE"] == 0
    assert "Grace Hopper" in str(event["SUMMARY"])
    assert "g@example.com" not in client.get(path).data.decode()


def test_cancelled_disappear_and_accepting_raises_the_sequence(
    app, client, staff_account, now, add_slot, make_booking
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    path = _create(client, include_pending=True)
    (before,) = _events(client.get(path))
    services(app).bookings.accept(slot, STAFF_EMAIL)
    (after,) = _events(client.get(path))
    assert after["UID"] == before["UID"] and after["SEQUENCE"] > before["SEQUENCE"]
    services(app).bookings.cancel_by_staff(slot, STAFF_EMAIL)
    assert _events(client.get(path)) == []


def test_rotation_and_revocation_stop_the_old_url(app, client, staff_account, now):
    first = _create(client)
    assert client.get(first).status_code == 200
    second = _create(client)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    listed = client.get("/api/staff/calendar-feed", headers=basic())
    assert_conforms("GET", "/api/staff/calendar-feed", listed)
    assert listed.json["feed"]["active"] is True
    revoked = client.post("/api/staff/calendar-feed/revoke", json={}, headers=basic())
    assert revoked.status_code == 200 and revoked.json == {"feed": None}
    assert_conforms("POST", "/api/staff/calendar-feed/revoke", revoked)
    assert client.get(second).status_code == 404
    assert client.get("/api/staff/calendar-feed", headers=basic()).json == {"feed": None}


def test_bad_tokens_are_404(app, client, staff_account, now):
    good = _create(client)
    token = good.rsplit("/", 1)[1].removesuffix(".ics")
    wrong_secret = token[:16] + ("A" if token[16] != "A" else "B") + token[17:]
    for bad in ("x", "", token[:-1], wrong_secret, "0" * 59, token + "x", "%00", "é" * 59):
        response = client.get(f"/calendar/{bad}.ics")
        assert response.status_code == 404, bad
    assert client.get(good).status_code == 200


def test_feed_is_not_stored_in_clear_and_the_log_hides_the_token(
    app, client, staff_account, now, caplog
):
    path = _create(client)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    caplog.set_level("INFO")
    assert client.get(path).status_code == 200
    assert token not in caplog.text
    item = services(app).store.feeds.get(token[:16])
    assert token[16:] not in str(item)


def test_a_burst_of_fetches_gets_no_more_than_the_limit(make_app, now):
    app = make_app(CALENDAR_FEED_RATE_LIMIT="3")
    from tests.helpers import create_staff

    create_staff(app)
    path = _create(app.test_client())
    results = burst(*[lambda: app.test_client().get(path).status_code for _ in range(8)])
    assert sorted(results) == [200] * 3 + [429] * 5


def test_staff_page_shows_the_url_once_and_revokes(app, staff_client, now):
    token = page_token(staff_client, "/staff/calendar-feed")
    made = staff_client.post("/staff/calendar-feed", data={"csrf_token": token, "action": "create"})
    assert made.status_code == 200
    url = re.search(r'value="(http[^"]+\.ics)"', made.text).group(1)
    assert "webcal://" in made.text
    path = "/" + url.split("/", 3)[3]
    assert staff_client.get(path).status_code == 200
    assert url not in staff_client.get("/staff/calendar-feed").text
    refused = staff_client.post("/staff/calendar-feed", data={"action": "revoke"})
    assert refused.status_code == 400  # no CSRF token
    assert staff_client.get(path).status_code == 200
    token = page_token(staff_client, "/staff/calendar-feed")
    staff_client.post("/staff/calendar-feed", data={"csrf_token": token, "action": "revoke"})
    assert staff_client.get(path).status_code == 404


def test_linked_practitioner_sees_only_their_bookings(
    app, client, staff_account, now, add_slot, make_booking
):
    service = services(app)
    sam = service.practitioners.add(
        {"name": "Sam Park", "minutes": "45", "staffEmail": STAFF_EMAIL}
    )
    theirs = f"20300604-0900-{sam['id']}"
    extra = {"practitionerId": sam["id"], "practitionerName": "Sam Park", "minutes": 45}
    service.store.appointments.put_slot(theirs, "2030-06-04", "09:00", "t", extra)
    make_booking(theirs)
    service.bookings.accept(theirs, STAFF_EMAIL)
    clinic = add_slot("2030-06-04", "11:00")
    make_booking(clinic)
    service.bookings.accept(clinic, STAFF_EMAIL)
    path = _create(client)
    (event,) = _events(client.get(path))
    assert "Sam Park" in str(event["SUMMARY"]) and theirs in str(event["DESCRIPTION"])
    assert (event.decoded("DTEND") - event.decoded("DTSTART")).seconds == 45 * 60
