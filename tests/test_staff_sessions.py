"""Staff sessions end when they should: at sign-out (server-side, not just the cookie)
and STAFF_SESSION_MINUTES after sign-in, however busy the session is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import create_staff, page_token, staff_login
from webapp.staff import auth


def saved_session(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A fresh browser holding a copy of a saved session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_cookie_saved_before_sign_out_opens_nothing_after_it(
    app, staff_client, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    token = page_token(staff_client, "/staff/slots")
    cookie = saved_session(staff_client)
    assert replay(app, cookie).get("/staff/").status_code == 200

    assert staff_client.post("/staff/logout", data={"csrf_token": token}).status_code == 303

    thief = replay(app, cookie)
    assert thief.get("/staff/").status_code == 303
    accept = thief.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": token})
    assert accept.status_code == 303 and "/staff/login" in accept.headers["Location"]
    assert store.appointments.get(slot)["status"] == "PENDING"


def test_sign_out_ends_every_session_of_that_person_only(app, staff_client):
    create_staff(app, email="doctor@clinic.example")
    desk = app.test_client()
    assert staff_login(desk).status_code == 303
    doctor = app.test_client()
    assert staff_login(doctor, email="doctor@clinic.example").status_code == 303

    token = page_token(staff_client, "/staff/slots")
    staff_client.post("/staff/logout", data={"csrf_token": token})

    assert desk.get("/staff/").status_code == 303  # the same person's other session
    assert doctor.get("/staff/").status_code == 200  # another person is unaffected
    # Signing in again works at once.
    assert staff_login(desk).status_code == 303
    assert desk.get("/staff/").status_code == 200


@pytest.fixture
def moving_clock(monkeypatch):
    """Wall-clock time as the session checks see it, moved forward by the test."""
    moment = {"now": auth._now_seconds()}
    monkeypatch.setattr(auth, "_now_seconds", lambda: moment["now"])

    def advance(**delta):
        moment["now"] += int(timedelta(**delta).total_seconds())

    return advance


def test_session_lifetime_is_counted_from_sign_in_not_from_activity(make_app, moving_clock):
    app = make_app(STAFF_SESSION_MINUTES="60")
    create_staff(app)
    staff = app.test_client()
    assert staff_login(staff).status_code == 303
    for _ in range(59):  # busy all along: a request every minute
        moving_clock(minutes=1)
        assert staff.get("/staff/").status_code == 200
    moving_clock(minutes=1)
    assert staff.get("/staff/").status_code == 303
    assert staff_login(staff).status_code == 303
    assert staff.get("/staff/").status_code == 200
