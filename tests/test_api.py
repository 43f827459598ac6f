"""The seed's JSON API through the Flask test client."""

from __future__ import annotations

import pytest

from tests.helpers import booking_json
from webapp.extensions import services

MELBOURNE_TODAY = "2030-06-03"  # the `now` fixture: 10:00 local


def test_listing_returns_future_available_slots_sorted(client, now, add_slot):
    add_slot("2030-06-04", "14:00")
    add_slot("2030-06-04", "09:00")
    add_slot("2030-06-05", "08:30")
    response = client.get("/appointment-slot")
    assert response.status_code == 200
    assert response.json == [
        {
            "appointmentId": "20300604-0900",
            "appointmentDate": "2030-06-04",
            "appointmentTime": "09:00",
            "status": "AVAILABLE",
        },
        {
            "appointmentId": "20300604-1400",
            "appointmentDate": "2030-06-04",
            "appointmentTime": "14:00",
            "status": "AVAILABLE",
        },
        {
            "appointmentId": "20300605-0830",
            "appointmentDate": "2030-06-05",
            "appointmentTime": "08:30",
            "status": "AVAILABLE",
        },
    ]


def test_listing_hides_past_and_now_keeps_later_today(client, now, add_slot):
    add_slot("2030-06-02", "15:00")  # yesterday
    add_slot(MELBOURNE_TODAY, "09:30")  # earlier today
    add_slot(MELBOURNE_TODAY, "10:00")  # starting this minute
    later = add_slot(MELBOURNE_TODAY, "10:30")  # later today
    ids = [slot["appointmentId"] for slot in client.get("/appointment-slot").json]
    assert ids == [later]


def test_time_zone_decides_what_today_is(make_app, now, monkeypatch):
    # 00:00 UTC is 10:00 in Melbourne but 20:00 the day before in New York.
    app = make_app(CLINIC_TIMEZONE="America/New_York")
    service = services(app)
    service.store.appointments.put_slot("a", "2030-06-02", "19:30", "t")
    service.store.appointments.put_slot("b", "2030-06-02", "20:30", "t")
    ids = [s["appointmentId"] for s in app.test_client().get("/appointment-slot").json]
    assert ids == ["b"]


def test_listing_excludes_booked_slots(client, now, add_slot):
    taken = add_slot("2030-06-04", "09:00")
    free = add_slot("2030-06-04", "09:30")
    assert client.post("/book-appointment", json=booking_json(taken)).status_code == 200
    ids = [slot["appointmentId"] for slot in client.get("/appointment-slot").json]
    assert ids == [free]


def test_from_and_to_narrow_the_window(client, now, add_slot):
    add_slot("2030-06-04", "09:00")
    inside = add_slot("2030-06-05", "09:00")
    add_slot("2030-06-06", "09:00")
    response = client.get("/appointment-slot?from=2030-06-05&to=2030-06-05")
    assert [s["appointmentId"] for s in response.json] == [inside]


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2030-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2030-6-5", "to"),
        ("from=2030-06-06&to=2030-06-05", "to"),
        ("from=2030-01-01&to=2032-01-01", "to"),
    ],
)
def test_malformed_window_is_400_with_field_error(client, query, field):
    response = client.get(f"/appointment-slot?{query}")
    assert response.status_code == 400
    assert response.is_json
    assert field in response.json["fields"]
    assert response.json["error"]


def test_booking_succeeds_and_records_the_patient(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    response = client.post("/book-appointment", json=booking_json(slot))
    assert response.status_code == 200
    assert response.json == {
        "message": response.json["message"],
        "appointmentId": slot,
        "status": "PENDING",
        "manageUrl": response.json["manageUrl"],
    }
    assert response.json["manageUrl"].startswith("http://127.0.0.1:5000/manage/")
    assert slot not in response.json["manageUrl"]
    item = store.appointments.get(slot)
    assert item["status"] == "PENDING"
    assert item["patientName"] == "Ada Lovelace"
    assert item["patientEmail"] == "ada@example.com"
    assert item["notes"] == "First visit"
    assert item["updatedAt"] and item["requestedAt"]


def test_booking_trims_input_and_omits_empty_notes(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    body = booking_json(slot, patientName="  Ada  ", patientEmail=" ada@example.com ", notes="  ")
    assert client.post("/book-appointment", json=body).status_code == 200
    item = store.appointments.get(slot)
    assert item["patientName"] == "Ada"
    assert item["patientEmail"] == "ada@example.com"
    assert "notes" not in item


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"patientName": ""}, "patientName"),
        ({"patientName": "   "}, "patientName"),
        ({"patientName": None}, "patientName"),
        ({"patientName": "x" * 101}, "patientName"),
        ({"patientName": 42}, "patientName"),
        ({"patientEmail": "not-an-email"}, "patientEmail"),
        ({"patientEmail": "a@b"}, "patientEmail"),
        ({"patientEmail": ["ada@example.com"]}, "patientEmail"),
        ({"patientEmail": None}, "patientEmail"),
        ({"notes": "x" * 1001}, "notes"),
        ({"notes": {"a": 1}}, "notes"),
        ({"appointmentId": None}, "appointmentId"),
        ({"appointmentId": ""}, "appointmentId"),
        ({"appointmentId": 7}, "appointmentId"),
        ({"appointmentId": "x" * 65}, "appointmentId"),
    ],
)
def test_invalid_booking_fields_are_400(app, client, now, add_slot, changes, field, store):
    slot = add_slot("2030-06-04", "09:00")
    body = {k: v for k, v in booking_json(slot, **changes).items() if v is not None}
    response = client.post("/book-appointment", json=body)
    assert response.status_code == 400
    assert field in response.json["fields"]
    assert store.appointments.get(slot)["status"] == "AVAILABLE"


@pytest.mark.parametrize(
    "data, content_type",
    [
        ("not json", "application/json"),
        ('["a list"]', "application/json"),
        ("null", "application/json"),
        ('"text"', "application/json"),
        (b"\xff\xfe{", "application/json"),
        ('{"appointmentId": "x"}', "text/plain"),
        ("appointmentId=x", "application/x-www-form-urlencoded"),
        ("", None),
    ],
)
def test_body_that_is_not_a_json_object_is_400(client, data, content_type):
    response = client.post("/book-appointment", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.is_json
    assert response.json["error"]


def test_unknown_appointment_is_404(client, now):
    response = client.post("/book-appointment", json=booking_json("does-not-exist"))
    assert response.status_code == 404
    assert response.json["error"]


def test_second_booking_is_409_and_keeps_the_first(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    assert client.post("/book-appointment", json=booking_json(slot)).status_code == 200
    second = booking_json(slot, patientName="Grace Hopper", patientEmail="grace@example.com")
    response = client.post("/book-appointment", json=second)
    assert response.status_code == 409
    assert store.appointments.get(slot)["patientName"] == "Ada Lovelace"


def test_past_slot_is_409(app, client, now, add_slot, store):
    slot = add_slot(MELBOURNE_TODAY, "09:30")
    response = client.post("/book-appointment", json=booking_json(slot))
    assert response.status_code == 409
    assert "started" in response.json["error"]
    assert store.appointments.get(slot)["status"] == "AVAILABLE"


def test_unknown_route_and_wrong_method_are_json(client):
    missing = client.get("/appointment-slot/extra")
    assert missing.status_code == 404 and missing.is_json
    assert set(missing.json) == {"error", "fields"}
    wrong = client.delete("/book-appointment")
    assert wrong.status_code == 405 and wrong.is_json
    assert "POST" in wrong.headers["Allow"]
    json_client = client.get("/nowhere", headers={"Accept": "application/json"})
    assert json_client.status_code == 404 and json_client.is_json


def test_oversized_body_is_413_json(client):
    response = client.post(
        "/book-appointment", data="x" * (100 * 1024), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.is_json


def test_cors_preflight_and_simple_requests(client, future_slot):
    origin = "https://clinic-site.example"
    preflight = client.options(
        "/book-appointment",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in (origin, "*")
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()

    listing = client.get("/appointment-slot", headers={"Origin": origin})
    assert listing.headers["Access-Control-Allow-Origin"] in (origin, "*")
    assert "X-Cache" in listing.headers["Access-Control-Expose-Headers"]

    booked = client.post(
        "/book-appointment", json=booking_json(future_slot), headers={"Origin": origin}
    )
    assert booked.status_code == 200
    assert booked.headers["Access-Control-Allow-Origin"] in (origin, "*")


def test_cors_origins_are_configurable(make_app):
    client = make_app(CORS_ALLOWED_ORIGINS="https://allowed.example").test_client()
    allowed = client.get("/appointment-slot", headers={"Origin": "https://allowed.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    other = client.get("/appointment-slot", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_pages_are_not_cross_origin(client):
    response = client.get("/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_security_headers_on_api_and_pages(client):
    for path in ("/appointment-slot", "/", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"]
