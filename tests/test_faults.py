"""Faults and malformed input: DynamoDB throttled or gone, hostile requests. Never a 500."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError

from localdev.services import free_port
from tests.helpers import booking_json, csrf_token
from webapp import create_app
from webapp.extensions import services

SLOT = "20300604-0900"


@pytest.fixture
def slot(app, now):
    services(app).store.appointments.put_slot(SLOT, "2030-06-04", "09:00", "t")
    return SLOT


@contextmanager
def dynamodb_fails(app, code="ProvisionedThroughputExceededException", operations=None):
    """Every DynamoDB call (or those named) fails as the service would after its retries."""
    client = services(app).store.table.client

    def fail(model, **_):
        if operations is None or model.name in operations:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, model.name)

    client.meta.events.register("before-call.dynamodb", fail)
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb", fail)


def assert_json_503(response):
    assert response.status_code == 503
    assert response.is_json
    assert response.json["error"]
    assert int(response.headers["Retry-After"]) > 0


def assert_page_503(response):
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "try again" in response.get_data(as_text=True).lower()
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "ServiceUnavailable"]
)
def test_api_answers_503_when_dynamodb_throttles(app, client, slot, code):
    with dynamodb_fails(app, code):
        assert_json_503(client.get("/appointment-slot?from=2030-06-04"))
        assert_json_503(client.post("/book-appointment", json=booking_json(slot)))


def test_pages_show_a_friendly_503_when_dynamodb_throttles(app, client, slot):
    with dynamodb_fails(app):
        assert_page_503(client.get("/?from=2030-06-04"))
        assert_page_503(client.get(f"/book/{slot}"))


def test_failed_booking_leaves_nothing_half_written(app, client, slot, store):
    with dynamodb_fails(app, operations={"UpdateItem"}):
        assert_json_503(client.post("/book-appointment", json=booking_json(slot)))
    item = store.appointments.get(slot)
    assert item["status"] == "AVAILABLE"
    assert not {"patientName", "patientEmail", "notes", "requestedAt"} & set(item)
    # The listing still offers the slot, and the patient's retry goes through.
    assert slot in [s["appointmentId"] for s in client.get("/appointment-slot").json]
    assert client.post("/book-appointment", json=booking_json(slot)).status_code == 200
    assert store.appointments.get(slot)["status"] == "PENDING"


def test_failed_form_booking_shows_a_page_and_writes_nothing(app, client, slot, store):
    token = csrf_token(client.get(f"/book/{slot}").get_data(as_text=True))
    form = {"patientName": "Ada", "patientEmail": "ada@example.com", "csrf_token": token}
    with dynamodb_fails(app, operations={"UpdateItem"}):
        assert_page_503(client.post(f"/book/{slot}", data=form))
    assert store.appointments.get(slot)["status"] == "AVAILABLE"
    assert client.post(f"/book/{slot}", data=form).status_code == 303


def test_cached_listing_survives_a_dynamodb_outage(app, client, slot):
    assert client.get("/appointment-slot").headers["X-Cache"] == "MISS"
    with dynamodb_fails(app):
        cached = client.get("/appointment-slot")
    assert cached.status_code == 200 and cached.headers["X-Cache"] == "HIT"
    assert [s["appointmentId"] for s in cached.json] == [slot]


def test_unreachable_dynamodb_endpoint_is_503(make_settings, monkeypatch):
    # Nothing listens on this port: connection refused, after botocore's own retries
    # (which still happen; only their back-off pauses are skipped to keep the test fast).
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _seconds: None)
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(make_settings(DYNAMODB_ENDPOINT_URL=closed))
    client = app.test_client()
    assert_json_503(client.post("/book-appointment", json=booking_json("x")))
    assert_page_503(client.get("/book/x"))
    assert client.get("/healthz").status_code == 503


# -- malformed input --------------------------------------------------------------------------

BIG = 100 * 1024
API = ("/appointment-slot", "/book-appointment")


def _is_api(path: str) -> bool:
    return path.startswith(API)


MALFORMED = [
    # oversized bodies
    ("POST", f"/book/{SLOT}", {"data": {"patientName": "x" * BIG}}, 413),
    ("POST", f"/book/{SLOT}", {"data": "x" * BIG, "content_type": "text/plain"}, 413),
    ("POST", "/book-appointment", {"data": "x" * BIG, "content_type": "application/json"}, 413),
    ("POST", "/book-appointment", {"data": {"f": "x" * BIG}}, 413),
    # wrong content types
    # (a JSON client gets its errors in JSON, even from a page's URL)
    ("POST", f"/book/{SLOT}", {"json": {"patientName": "Ada"}}, 400),
    ("POST", f"/book/{SLOT}", {"data": "<xml/>", "content_type": "application/xml"}, 400),
    (
        "POST",
        f"/book/{SLOT}",
        {"data": b"--x\r\ngarbage", "content_type": "multipart/form-data; boundary=x"},
        400,
    ),
    ("POST", f"/book/{SLOT}", {"data": b"a=b", "content_type": "multipart/form-data"}, 400),
    ("POST", "/book-appointment", {"data": "<xml/>", "content_type": "application/xml"}, 400),
    (
        "POST",
        "/book-appointment",
        {"data": b"--x\r\ngarbage", "content_type": "multipart/form-data; boundary=x"},
        400,
    ),
    # invalid UTF-8 in bodies, query strings and paths
    (
        "POST",
        f"/book/{SLOT}",
        {
            "data": b"patientName=%FF%FE&patientEmail=\xff\xfe",
            "content_type": "application/x-www-form-urlencoded",
        },
        400,
    ),
    (
        "POST",
        "/book-appointment",
        {"data": b'{"appointmentId": "\xff\xfe"}', "content_type": "application/json"},
        400,
    ),
    ("GET", "/", {"environ_overrides": {"QUERY_STRING": "from=%FF%FE&to=\xff"}}, 400),
    ("GET", "/appointment-slot", {"environ_overrides": {"QUERY_STRING": "from=%C3%28"}}, 400),
    ("GET", "/appointment-slot", {"environ_overrides": {"QUERY_STRING": "to=\xff\xfe"}}, 400),
    ("GET", f"/book/{SLOT}", {"environ_overrides": {"QUERY_STRING": "x=%FF&\xfe"}}, 200),
    ("GET", "/book/%FF%FE", {}, 404),
    # huge query strings
    ("GET", "/", {"query_string": "from=" + "9" * BIG}, 400),
    ("GET", "/", {"query_string": "&".join(f"k{i}=v" for i in range(20_000))}, 200),
    ("GET", "/appointment-slot", {"query_string": "to=" + "x" * BIG}, 400),
    ("GET", "/appointment-slot", {"query_string": "from=2030-06-04&" + "a=b&" * 20_000}, 200),
    # unknown and unsupported methods
    ("FOO", "/", {}, 405),
    ("PROPFIND", f"/book/{SLOT}", {}, 405),
    ("DELETE", f"/book/{SLOT}", {}, 405),
    ("PUT", "/", {"data": "x"}, 405),
    ("BREW", "/appointment-slot", {}, 405),
    ("DELETE", "/book-appointment", {}, 405),
    ("PATCH", "/healthz", {}, 405),
]


@pytest.mark.parametrize("method, path, kwargs, expected", MALFORMED)
def test_malformed_requests_get_a_clear_answer(client, slot, method, path, kwargs, expected):
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == expected
    if _is_api(path) or path == "/healthz" or "json" in kwargs:
        assert response.is_json
        assert expected == 200 or response.json["error"]
    else:
        assert response.mimetype == "text/html"
        assert "<!doctype html>" in response.get_data(as_text=True).lower()


def test_invalid_utf8_in_a_form_body_is_refused_not_a_crash(app, client, slot, store):
    token = csrf_token(client.get(f"/book/{slot}").get_data(as_text=True))
    body = b"csrf_token=" + token.encode() + b"&patientName=Ada%FF%FE&patientEmail=%FF\xfe"
    response = client.post(
        f"/book/{slot}", data=body, content_type="application/x-www-form-urlencoded"
    )
    # Werkzeug drops a form body that is not UTF-8, so the CSRF check refuses it.
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert store.appointments.get(slot)["status"] == "AVAILABLE"


def test_invalid_utf8_in_form_fields_is_a_form_error_not_a_crash(client, slot):
    token = csrf_token(client.get(f"/book/{slot}").get_data(as_text=True))
    body = b"csrf_token=" + token.encode() + b"&patientName=Ada%FF%FE&patientEmail=%FF%FE"
    response = client.post(
        f"/book/{slot}", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "valid email" in response.get_data(as_text=True)


def test_unencodable_text_in_json_is_a_400(app, client, slot, store):
    # A lone surrogate is valid JSON but cannot be stored as UTF-8.
    body = '{"appointmentId": "%s", "patientName": "\\ud800", "patientEmail": "a@example.com"}'
    response = client.post("/book-appointment", data=body % slot, content_type="application/json")
    assert response.status_code == 400
    assert "patientName" in response.json["fields"]
    assert store.appointments.get(slot)["status"] == "AVAILABLE"
