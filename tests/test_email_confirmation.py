"""REQUIRE_EMAIL_CONFIRMATION: a request reaches staff only once confirmed from the email;
an unconfirmed request holds its time until its deadline, then the time is offered again."""

from __future__ import annotations

import dataclasses
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

import webapp.clock
from tests.helpers import booking_json, burst, csrf_token
from tests.test_openapi import assert_conforms
from webapp import confirmation, manage_links
from webapp.bookings import replacement_id
from webapp.confirmation import Confirmation
from webapp.extensions import services
from webapp.notifications.decide import RECEIVED, STAFF_NEW_REQUEST, decide
from webapp.settings import ConfigError, load_settings
from webapp.store.appointments import PatientDetails
from webapp.store.errors import ConflictingChange

STAFF = "front-desk@clinic.example"
SLOT_DAY, SLOT_TIME = "2030-06-04", "09:00"


@pytest.fixture
def confirming_app(make_app, tmp_path):
    return make_app(
        REQUIRE_EMAIL_CONFIRMATION="true",
        EMAIL_CONFIRMATION_MINUTES="30",
        STAFF_NOTIFY_EMAIL=STAFF,
        OUTBOX_DIR=str(tmp_path / "box"),
    )


def outbox(tmp_path) -> list[str]:
    box = tmp_path / "box"
    return sorted(path.name for path in box.iterdir()) if box.exists() else []


def kinds(tmp_path) -> list[str]:
    return sorted(re.sub(r"^[^-]+-", "", name).split("-2030")[0] for name in outbox(tmp_path))


def email_text(tmp_path, kind: str) -> str:
    import email
    from email.policy import default

    (path,) = [p for p in (tmp_path / "box").iterdir() if kind in p.name]
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    return message.get_body(preferencelist=("plain",)).get_content()


def put_slot(app, day=SLOT_DAY, time=SLOT_TIME) -> str:
    appointment_id = f"{day.replace('-', '')}-{time.replace(':', '')}"
    services(app).store.appointments.put_slot(appointment_id, day, time, "t")
    services(app).cache.invalidate()
    return appointment_id


def later(monkeypatch, now, minutes: int):
    moved = now + timedelta(minutes=minutes)
    monkeypatch.setattr(webapp.clock, "utcnow", lambda: moved)
    return moved


def confirm_path(app, item) -> str:
    return f"/confirm/{confirmation.make_token(services(app).settings, item)}"


def staff_listing(app) -> list[str]:
    page = services(app).dashboard.page()
    return [item["appointmentId"] for item in page.items]


# -- settings and the default --------------------------------------------------------------


def test_off_by_default_and_validated():
    settings = load_settings({"APP_ENV": "test"})
    assert settings.require_email_confirmation is False
    assert settings.email_confirmation_minutes == 30
    with pytest.raises(ConfigError, match="REQUIRE_EMAIL_CONFIRMATION"):
        load_settings({"APP_ENV": "test", "REQUIRE_EMAIL_CONFIRMATION": "maybe"})
    with pytest.raises(ConfigError, match="EMAIL_CONFIRMATION_MINUTES"):
        load_settings({"APP_ENV": "test", "EMAIL_CONFIRMATION_MINUTES": "0"})


def test_off_the_booking_is_pending_at_once(make_app, now, tmp_path):
    app = make_app(STAFF_NOTIFY_EMAIL=STAFF, OUTBOX_DIR=str(tmp_path / "box"))
    slot = put_slot(app)
    answer = app.test_client().post("/book-appointment", json=booking_json(slot))
    assert answer.status_code == 200
    assert "awaitingConfirmation" not in answer.json and answer.json["status"] == "PENDING"
    assert services(app).store.appointments.get(slot)["status"] == "PENDING"
    assert "confirmBy" not in services(app).store.appointments.get(slot)
    assert kinds(tmp_path) == [RECEIVED, STAFF_NEW_REQUEST]
    assert "/confirm/" not in email_text(tmp_path, RECEIVED)


# -- which emails go -----------------------------------------------------------------------


def _image(status, **extra):
    return {
        "appointmentId": "s1",
        "requestedAt": "2030-06-03T00:00:00Z",
        "patientEmail": "ada@example.com",
        "slotStart": "2030-06-04T09:00",
        "status": status,
        **extra,
    }


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ({"appointmentId": "s1", "status": "AVAILABLE"}, _image("UNCONFIRMED"), [RECEIVED]),
        (None, _image("UNCONFIRMED"), [RECEIVED]),
        (_image("UNCONFIRMED"), _image("PENDING"), [STAFF_NEW_REQUEST]),
        (_image("UNCONFIRMED"), _image("EXPIRED"), []),
        (_image("UNCONFIRMED"), _image("CANCELLED"), []),
        (_image("UNCONFIRMED"), _image("UNCONFIRMED"), []),
        # A different request on the same slot is never "confirmed".
        (_image("UNCONFIRMED", requestedAt="x"), _image("PENDING"), []),
    ],
)
def test_decide(old, new, expected):
    assert [notice.kind for notice in decide(old, new)] == expected


# -- the JSON API ---------------------------------------------------------------------------


def test_json_booking_awaits_confirmation(confirming_app, now, tmp_path):
    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    answer = client.post("/book-appointment", json=booking_json(slot))
    assert answer.status_code == 200
    assert answer.json["status"] == "PENDING"  # the seed's contract
    assert answer.json["awaitingConfirmation"] is True
    assert answer.json["confirmBy"] == "2030-06-03T00:30:00Z"
    assert "confirm" in answer.json["message"]
    assert_conforms("POST", "/book-appointment", answer)
    record = services(app).store.appointments.get(slot)
    assert record["status"] == "UNCONFIRMED"
    # Only the patient's email, with a confirmation link that is not the manage link.
    assert kinds(tmp_path) == [RECEIVED]
    text = email_text(tmp_path, RECEIVED)
    assert confirm_path(app, record) in text
    assert "Please confirm this request by" in text
    # Staff see nothing yet, and cannot act on it.
    assert staff_listing(app) == []
    with pytest.raises(ConflictingChange):
        services(app).bookings.accept(slot, STAFF)
    # The time is not offered to anyone else meanwhile.
    assert client.get("/appointment-slot").json == []
    token = answer.json["manageUrl"].rsplit("/", 1)[1]
    mine = client.get(f"/my-appointment/{token}")
    assert mine.json["appointment"]["status"] == "PENDING"
    assert mine.json["appointment"]["awaitingConfirmation"] is True
    assert mine.json["appointment"]["canCancel"] is True
    assert mine.json["appointment"]["canReschedule"] is False
    assert_conforms("GET", "/my-appointment/{token}", mine)


# -- the pages ------------------------------------------------------------------------------


def book_page(client, slot):
    page = client.get(f"/book/{slot}")
    return client.post(
        f"/book/{slot}",
        data={
            "csrf_token": csrf_token(page.text),
            "patientName": "Ada Lovelace",
            "patientEmail": "ada@example.com",
            "notes": "",
            "website": "",
        },
    )


def test_pages_book_then_confirm_from_the_email(confirming_app, now, tmp_path):
    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    booked = book_page(client, slot)
    assert booked.status_code == 303
    manage = client.get(booked.headers["Location"])
    assert "please check your email" in manage.text
    assert "Please confirm this request from the email" in manage.text
    # The manage page (which the booker has without the email) cannot confirm.
    assert "/confirm/" not in manage.text
    record = services(app).store.appointments.get(slot)
    manage_token = manage_links.make_token(services(app).settings, record)
    assert client.get(f"/confirm/{manage_token}").status_code == 404

    # The email's link, opened by anyone (a mail scanner too), changes nothing on GET.
    reader = app.test_client()
    form = reader.get(confirm_path(app, record))
    assert form.status_code == 200 and "Confirm my request" in form.text
    assert form.headers["Cache-Control"] == "no-store"
    assert services(app).store.appointments.get(slot)["status"] == "UNCONFIRMED"
    # A POST needs the page's CSRF token.
    assert reader.post(confirm_path(app, record)).status_code == 400
    done = reader.post(confirm_path(app, record), data={"csrf_token": csrf_token(form.text)})
    assert done.status_code == 303
    assert "your request is confirmed" in reader.get(done.headers["Location"]).text
    record = services(app).store.appointments.get(slot)
    assert record["status"] == "PENDING" and "confirmBy" not in record
    assert kinds(tmp_path) == [RECEIVED, STAFF_NEW_REQUEST]
    assert staff_listing(app) == [slot]
    # Again: harmless, and no second staff email.
    again = reader.post(confirm_path(app, record), data={"csrf_token": csrf_token(form.text)})
    assert again.status_code == 303
    assert reader.get(confirm_path(app, record)).status_code == 303
    assert kinds(tmp_path) == [RECEIVED, STAFF_NEW_REQUEST]
    services(app).bookings.accept(slot, STAFF)


def test_unconfirmed_request_can_be_cancelled_from_the_email(confirming_app, now, tmp_path):
    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    manage = client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"]
    path = manage.replace("http://localhost", "")
    page = client.get(f"{path}/cancel")
    assert page.status_code == 200
    done = client.post(f"{path}/cancel", data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 303
    record = services(app).store.appointments.get(slot)
    assert record["status"] == "CANCELLED"
    assert kinds(tmp_path) == [RECEIVED]  # nothing more to an unconfirmed address
    assert [s["appointmentId"] for s in client.get("/appointment-slot").json] == [
        replacement_id(record)
    ]


def test_bad_confirmation_links_are_404(confirming_app, now):
    client = confirming_app.test_client()
    assert client.get("/confirm/not-a-token").status_code == 404
    assert client.get("/confirm/" + "x" * 600).status_code == 404
    assert client.post("/confirm/not-a-token").status_code in (400, 404)


# -- expiry ---------------------------------------------------------------------------------


def test_expired_request_cannot_be_confirmed_and_its_time_is_offered_again(
    confirming_app, now, monkeypatch, tmp_path
):
    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    client.post("/book-appointment", json=booking_json(slot))
    record = services(app).store.appointments.get(slot)
    form = client.get(confirm_path(app, record))
    later(monkeypatch, now, 30)  # the deadline itself is too late
    refused = client.post(confirm_path(app, record), data={"csrf_token": csrf_token(form.text)})
    assert refused.status_code == 409
    assert "time to confirm this request has passed" in refused.text
    assert services(app).store.appointments.get(slot)["status"] == "EXPIRED"
    listed = [s["appointmentId"] for s in client.get("/appointment-slot").json]
    assert listed == [replacement_id(record)]
    assert kinds(tmp_path) == [RECEIVED]
    manage_token = manage_links.make_token(services(app).settings, record)
    assert "not confirmed in time" in client.get(f"/manage/{manage_token}").text
    assert staff_listing(app) == []


def test_sweep_command_expires_only_due_requests(confirming_app, now, monkeypatch):
    app, client = confirming_app, confirming_app.test_client()
    first = put_slot(app, time="09:00")
    client.post("/book-appointment", json=booking_json(first))
    later(monkeypatch, now, 20)
    second = put_slot(app, time="09:30")
    client.post("/book-appointment", json=booking_json(second, patientEmail="bo@example.com"))
    later(monkeypatch, now, 31)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["expire-unconfirmed"])
    assert result.exit_code == 0, result.output
    assert "1 expired, 1 time(s) offered again" in result.output
    store = services(app).store.appointments
    assert store.get(first)["status"] == "EXPIRED"
    assert store.get(second)["status"] == "UNCONFIRMED"
    assert store.get(replacement_id(store.get(first)))["status"] == "AVAILABLE"
    # Running it again changes nothing.
    assert "0 expired" in runner.invoke(args=["expire-unconfirmed"]).output


def test_scheduled_function_runs_the_sweep(confirming_app, now, monkeypatch):
    from webapp.notifications import worker

    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    client.post("/book-appointment", json=booking_json(slot))
    later(monkeypatch, now, 45)
    monkeypatch.setattr(worker, "_notifier", worker.Notifier(services(app).settings))
    worker.send_reminders({}, None)
    assert services(app).store.appointments.get(slot)["status"] == "EXPIRED"


def test_listing_and_booking_do_not_wait_for_the_sweep(confirming_app, now, monkeypatch):
    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    client.post("/book-appointment", json=booking_json(slot))
    assert client.get("/appointment-slot").json == []
    later(monkeypatch, now, 31)
    services(app).cache.invalidate()
    record = services(app).store.appointments.get(slot)
    listed = client.get("/appointment-slot").json
    assert [s["appointmentId"] for s in listed] == [replacement_id(record)]


def test_booking_an_expired_hold_books_its_time(confirming_app, now, monkeypatch):
    app, client = confirming_app, confirming_app.test_client()
    slot = put_slot(app)
    client.post("/book-appointment", json=booking_json(slot))
    later(monkeypatch, now, 31)
    # The old id (from a list read before the deadline): the same time is booked.
    answer = client.post("/book-appointment", json=booking_json(slot, patientEmail="bo@x.org"))
    assert answer.status_code == 200, answer.json
    record = services(app).store.appointments.get(slot)
    assert answer.json["appointmentId"] == replacement_id(record)
    # And the page for it leads to the replacement too.
    third = put_slot(app, time="10:00")
    client.post("/book-appointment", json=booking_json(third, patientEmail="cy@x.org"))
    later(monkeypatch, now, 70)
    page = client.get(f"/book/{third}")
    assert page.status_code == 307
    assert page.headers["Location"].endswith(
        replacement_id(services(app).store.appointments.get(third))
    )


def test_cap_counts_unconfirmed_until_their_deadline(make_app, now, monkeypatch):
    app = make_app(REQUIRE_EMAIL_CONFIRMATION="true", MAX_OPEN_REQUESTS_PER_EMAIL="1")
    client = app.test_client()
    first, second = put_slot(app, time="09:00"), put_slot(app, time="09:30")
    assert client.post("/book-appointment", json=booking_json(first)).status_code == 200
    assert client.post("/book-appointment", json=booking_json(second)).status_code == 409
    later(monkeypatch, now, 31)  # not swept: the cap checks the deadline itself
    assert client.post("/book-appointment", json=booking_json(second)).status_code == 200


# -- races (dynalite applies conditions atomically) -----------------------------------------


def test_confirm_against_expiry_exactly_one_wins(dynalite_app, monkeypatch):
    """At the deadline, a confirmation made just before it and the sweep just after it
    race; each thread has its own clock. Exactly one wins, and the time is offered again
    if and only if the request expired."""
    found = services(dynalite_app)
    settings = dataclasses.replace(found.settings, require_email_confirmation=True)
    found.bookings.settings = settings  # this app's bookings now require confirmation
    local = threading.local()
    base = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)
    monkeypatch.setattr(webapp.clock, "utcnow", lambda: getattr(local, "now", base))
    store = found.store.appointments
    outcomes = []
    for round_ in range(8):
        time = f"{9 + round_:02d}:00"
        slot = f"20300604-{time.replace(':', '')}"
        store.put_slot(slot, SLOT_DAY, time, "t")
        item = found.bookings.book(slot, PatientDetails("Ada", f"ada{round_}@example.com"))
        service = Confirmation(settings, found.store, found.cache)

        def confirm(service=service, slot=slot, item=item):
            local.now = base + timedelta(minutes=29, seconds=59)
            try:
                return service.confirm(slot, item["requestedAt"]).changed
            except ConflictingChange:
                return False

        def expire(service=service, item=item):
            local.now = base + timedelta(minutes=30)
            return service.expire(item) is not None

        confirmed, expired = burst(confirm, expire)
        final = store.get(slot)
        released = store.get(replacement_id(item)) is not None
        assert confirmed != expired, (confirmed, expired)
        assert final["status"] == ("PENDING" if confirmed else "EXPIRED")
        assert released == expired
        outcomes.append(final["status"])
    assert set(outcomes) <= {"PENDING", "EXPIRED"}
