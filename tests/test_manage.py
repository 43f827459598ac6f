"""Patient self-service: the private link, cancelling, tampering, anti-abuse on booking."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

import webapp.clock
from tests.helpers import booking_json, csrf_token
from webapp import manage_links
from webapp.bookings import replacement_id
from webapp.extensions import services


def book_page(client, slot: str, **fields):
    page = client.get(f"/book/{slot}")
    data = {
        "csrf_token": csrf_token(page.text),
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "notes": "",
        "website": "",
    }
    data.update(fields)
    return client.post(f"/book/{slot}", data=data)


def path_of(url: str) -> str:
    return url.replace("http://127.0.0.1:5000", "")  # PUBLIC_BASE_URL outside production


# -- the private link --------------------------------------------------------------------


def test_booking_page_redirects_to_the_private_link(app, client, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    response = book_page(client, slot)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/manage/") and slot not in location
    page = client.get(location)
    assert page.status_code == 200
    assert "Thank you, your request has been received" in page.text
    for text in (
        "Tuesday 4 June 2030",
        "09:00",
        slot,
        "PENDING",
        f"http://127.0.0.1:5000{location}",
    ):
        assert text in page.text
    assert page.headers["Cache-Control"] == "no-store"
    # The thank-you is shown once; the link keeps working.
    again = client.get(location)
    assert "Thank you" not in again.text and "PENDING" in again.text
    assert app.test_client().get(location).status_code == 200


def test_declined_request_shows_the_reason(app, client, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    manage = client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"]
    services(app).bookings.decline(slot, "staff@clinic.example", "Doctor <b>away</b>")
    page = client.get(path_of(manage))
    assert "DECLINED" in page.text
    assert "Doctor &lt;b&gt;away&lt;/b&gt;" in page.text
    assert "Cancel this appointment" not in page.text


def test_patient_cancels_with_confirmation(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    manage = path_of(client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"])
    assert client.get("/appointment-slot").json == []
    confirm = client.get(f"{manage}/cancel")
    assert confirm.status_code == 200
    assert store.appointments.get(slot)["status"] == "PENDING"  # GET changes nothing
    no_token = client.post(f"{manage}/cancel")
    assert no_token.status_code == 400
    response = client.post(f"{manage}/cancel", data={"csrf_token": csrf_token(confirm.text)})
    assert response.status_code == 303 and response.headers["Location"] == manage
    record = store.appointments.get(slot)
    assert record["status"] == "CANCELLED" and record["cancelledBy"] == "patient"
    assert record["cancelledAt"] == record["updatedAt"]
    assert record["patientName"] == "Ada Lovelace"  # the clinic keeps the record
    assert "You cancelled this appointment" in client.get(manage).text
    # The time is listed again at once.
    assert [s["appointmentId"] for s in client.get("/appointment-slot").json] == [
        replacement_id(record)
    ]
    # Cancelling again is harmless and creates nothing new.
    assert client.post(f"{manage}/cancel", data={"csrf_token": csrf_token(confirm.text)})
    assert len(client.get("/appointment-slot").json) == 1


def test_accepted_appointment_can_be_cancelled_until_it_starts(app, client, now, add_slot, store):
    import webapp.clock

    slot = add_slot("2030-06-03", "11:00")
    manage = path_of(client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"])
    services(app).bookings.accept(slot, "staff@clinic.example")
    token = csrf_token(client.get(f"{manage}/cancel").text)
    webapp.clock.utcnow = lambda: now.replace(hour=1, minute=5)  # 11:05 in Melbourne
    response = client.post(f"{manage}/cancel", data={"csrf_token": token})
    assert response.status_code == 303  # back to the page, which offers no cancel
    assert store.appointments.get(slot)["status"] == "ACCEPTED"
    assert "Cancel this appointment" not in client.get(manage).text


def test_cancel_that_lost_a_race_is_409(app, client, now, add_slot, monkeypatch, store):
    slot = add_slot("2030-06-04", "09:00")
    manage = path_of(client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"])
    token = csrf_token(client.get(f"{manage}/cancel").text)
    bookings = services(app).bookings
    real_cancel = bookings.cancel_by_patient

    def staff_declines_first(appointment_id, requested_at):
        bookings.decline(appointment_id, "staff@clinic.example", "Closed")
        return real_cancel(appointment_id, requested_at)

    monkeypatch.setattr(bookings, "cancel_by_patient", staff_declines_first)
    response = client.post(f"{manage}/cancel", data={"csrf_token": token})
    assert response.status_code == 409
    assert "already declined" in response.text
    assert store.appointments.get(slot)["status"] == "DECLINED"


# -- tampering -----------------------------------------------------------------------------


@pytest.fixture
def booked(app, client, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    url = client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"]
    return slot, path_of(url).removeprefix("/manage/")


def test_altered_token_is_404(client, booked):
    _, token = booked
    for bad in (token[:-2] + ("xy" if token[-2:] != "xy" else "zz"), token + "a", "a" * 600, "x"):
        assert client.get(f"/manage/{bad}").status_code == 404
        assert client.post(f"/manage/{bad}/cancel").status_code in (400, 404)


def test_another_patients_token_opens_only_their_booking(app, client, booked, add_slot, store):
    slot, _token = booked
    other_slot = add_slot("2030-06-04", "10:00")
    body = booking_json(other_slot, patientName="Grace", patientEmail="grace@example.com")
    other = path_of(client.post("/book-appointment", json=body).json["manageUrl"])
    page = client.get(other)
    assert other_slot in page.text and slot not in page.text
    # A token signed with another key, or naming another request, is refused.
    settings = services(app).settings
    forged = manage_links.make_token(
        type(settings)(**{**settings.__dict__, "secret_key": "another-key-" * 4}),
        store.appointments.get(slot),
    )
    assert client.get(f"/manage/{forged}").status_code == 404
    wrong_request = manage_links.make_token(
        settings, {"appointmentId": slot, "requestedAt": "2030-01-01T00:00:00Z"}
    )
    assert client.get(f"/manage/{wrong_request}").status_code == 404
    not_booked = manage_links.make_token(
        settings, {"appointmentId": "20300604-1000x", "requestedAt": "x"}
    )
    assert client.get(f"/manage/{not_booked}").status_code == 404


def test_expired_token_is_404(client, booked, monkeypatch, now):
    _, token = booked
    later = now + timedelta(seconds=manage_links.MAX_AGE_SECONDS + 60)
    monkeypatch.setattr(webapp.clock, "utcnow", lambda: later)
    assert client.get(f"/manage/{token}").status_code == 404


def test_links_issued_by_earlier_versions_still_open_until_they_expire(
    app, client, booked, store, monkeypatch
):
    from itsdangerous import URLSafeTimedSerializer

    slot, _ = booked
    item = store.appointments.get(slot)
    settings = services(app).settings
    earlier = URLSafeTimedSerializer(settings.secret_key, salt=manage_links.SALT).dumps(
        [item["appointmentId"], item["requestedAt"]]
    )
    assert client.get(f"/manage/{earlier}").status_code == 200
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(
        TimestampSigner,
        "get_timestamp",
        lambda self: real(self) + manage_links.MAX_AGE_SECONDS + 60,
    )
    assert client.get(f"/manage/{earlier}").status_code == 404


def test_one_booking_has_one_link(app, booked, store):
    slot, token = booked
    item = store.appointments.get(slot)
    assert manage_links.make_token(services(app).settings, item) == token


def test_old_link_never_touches_the_next_booking_of_the_freed_time(app, client, booked, store):
    _slot, token = booked
    form = csrf_token(client.get(f"/manage/{token}/cancel").text)
    assert client.post(f"/manage/{token}/cancel", data={"csrf_token": form}).status_code == 303
    freed = client.get("/appointment-slot").json[0]["appointmentId"]
    body = booking_json(freed, patientName="Grace", patientEmail="grace@example.com")
    assert client.post("/book-appointment", json=body).status_code == 200
    # The old link still shows its own, cancelled request, and cannot cancel Grace's.
    page = client.get(f"/manage/{token}")
    assert "CANCELLED" in page.text and "Grace" not in page.text
    client.post(f"/manage/{token}/cancel", data={"csrf_token": form})
    assert store.appointments.get(freed)["status"] == "PENDING"


# -- anti-abuse ----------------------------------------------------------------------------


def test_honeypot_refuses_page_and_api_neutrally(app, client, now, add_slot, caplog, store):
    slot = add_slot("2030-06-04", "09:00")
    caplog.set_level(logging.WARNING)
    page = book_page(client, slot, website="http://spam.example")
    assert page.status_code == 400
    assert "could not process this request" in page.text
    api = client.post("/book-appointment", json=booking_json(slot, website="spam"))
    assert api.status_code == 400 and api.json["error"]
    assert store.appointments.get(slot)["status"] == "AVAILABLE"
    refusals = [r.getMessage() for r in caplog.records if "reason=honeypot" in r.getMessage()]
    assert len(refusals) == 2
    assert all("127.0.0.1" not in line and "ada@" not in line for line in refusals)
    # The page hides the field from people; JSON clients need not send it.
    form = client.get(f"/book/{slot}").text
    assert 'class="hp-field" aria-hidden="true"' in form
    assert 'tabindex="-1" autocomplete="off"' in form
    assert client.post("/book-appointment", json=booking_json(slot)).status_code == 200


@pytest.mark.parametrize("redis_down", [False, True])
def test_booking_rate_limit_per_client(make_app, make_booking, now, redis_down, caplog):
    env = {"BOOKING_RATE_LIMIT": "3"}
    if redis_down:
        from localdev.services import free_port

        env["REDIS_PORT"] = str(free_port())
    app = make_app(**env)
    store = services(app).store
    slots = []
    for minute in range(10, 16):
        store.appointments.put_slot(f"s{minute}", "2030-06-04", f"09:{minute}", "t")
        slots.append(f"s{minute}")
    client = app.test_client()
    for number, slot in enumerate(slots[:3]):
        body = booking_json(slot, patientEmail=f"p{number}@example.com")
        assert client.post("/book-appointment", json=body).status_code == 200
    caplog.set_level(logging.WARNING)
    limited = client.post("/book-appointment", json=booking_json(slots[3]))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0 and limited.json["error"]
    page = book_page(client, slots[4])
    assert page.status_code == 429 and "Please wait" in page.text
    assert store.appointments.get(slots[3])["status"] == "AVAILABLE"
    assert any("reason=rate_limit" in r.getMessage() for r in caplog.records)
    # Another client is unaffected.
    other = app.test_client().post(
        "/book-appointment",
        json=booking_json(slots[5]),
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert other.status_code == 200


def test_open_requests_per_email_are_capped(app, client, now, add_slot, make_booking, caplog):
    slots = [add_slot("2030-06-04", f"0{hour}:00") for hour in range(4, 9)]
    for slot in slots[:3]:
        make_booking(slot, email="ada@example.com")
    caplog.set_level(logging.WARNING)
    body = booking_json(slots[3], patientEmail="ADA@example.com")  # case does not matter
    response = client.post("/book-appointment", json=body)
    assert response.status_code == 409
    assert "already has 3 appointment requests" in response.json["error"]
    page = book_page(client, slots[3], patientEmail="ada@example.com")
    assert page.status_code == 409
    assert any("reason=open_request_cap" in r.getMessage() for r in caplog.records)
    assert all("ada@" not in r.getMessage().lower() for r in caplog.records)
    # A declined request no longer counts.
    services(app).bookings.decline(slots[0], "staff@clinic.example", "No")
    assert client.post("/book-appointment", json=body).status_code == 200
