"""The Lambda entry point: serverless-wsgi with real API Gateway event shapes."""

from __future__ import annotations

import json

import pytest
import serverless_wsgi

from tests.helpers import booking_json
from tests.lambda_events import FakeContext, header, http_event, json_body, rest_event

EVENTS = {"rest-v1": rest_event, "http-v2": http_event}


@pytest.fixture(params=sorted(EVENTS))
def event(request):
    return EVENTS[request.param]


def invoke(app, event):
    return serverless_wsgi.handle_request(app, event, FakeContext())


def test_listing_through_lambda(app, now, add_slot, event):
    add_slot("2030-06-04", "09:00")
    result = invoke(app, event("GET", "/appointment-slot"))
    assert result["statusCode"] == 200
    assert [s["appointmentId"] for s in json_body(result)] == ["20300604-0900"]
    assert header(result, "X-Cache") == "MISS"
    assert invoke(app, event("GET", "/appointment-slot"))["statusCode"] == 200
    assert header(invoke(app, event("GET", "/appointment-slot")), "X-Cache") == "HIT"


def test_window_query_through_lambda(app, now, add_slot, event):
    add_slot("2030-06-04", "09:00")
    add_slot("2030-06-05", "09:00")
    result = invoke(app, event("GET", "/appointment-slot", query="from=2030-06-05"))
    assert [s["appointmentId"] for s in json_body(result)] == ["20300605-0900"]
    bad = invoke(app, event("GET", "/appointment-slot", query="from=soon"))
    assert bad["statusCode"] == 400 and "from" in json_body(bad)["fields"]


def test_booking_through_lambda(app, now, add_slot, event, store):
    slot = add_slot("2030-06-04", "09:00")
    body = json.dumps(booking_json(slot))
    result = invoke(
        app, event("POST", "/book-appointment", body, {"Content-Type": "application/json"})
    )
    assert result["statusCode"] == 200
    assert json_body(result)["status"] == "PENDING"
    again = invoke(
        app, event("POST", "/book-appointment", body, {"Content-Type": "application/json"})
    )
    assert again["statusCode"] == 409
    assert store.appointments.get(slot)["status"] == "PENDING"


def test_base64_body_through_rest_api(app, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    event = rest_event(
        "POST",
        "/book-appointment",
        json.dumps(booking_json(slot)),
        {"Content-Type": "application/json"},
        binary=True,
    )
    assert invoke(app, event)["statusCode"] == 200


def test_preflight_and_errors_through_lambda(app, event):
    preflight = invoke(
        app,
        event(
            "OPTIONS",
            "/book-appointment",
            headers={
                "Origin": "https://site.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        ),
    )
    assert preflight["statusCode"] == 200
    assert header(preflight, "Access-Control-Allow-Origin") in ("https://site.example", "*")
    missing = invoke(app, event("GET", "/appointment-slot/nope"))
    assert missing["statusCode"] == 404 and json_body(missing)["error"]
    bad = invoke(app, event("POST", "/book-appointment", "{", {"Content-Type": "application/json"}))
    assert bad["statusCode"] == 400 and json_body(bad)["error"]


def test_pages_link_under_the_rest_api_stage(app, now, add_slot):
    add_slot("2030-06-04", "09:00")
    result = invoke(app, rest_event("GET", "/"))
    assert result["statusCode"] == 200
    html = result["body"]
    assert 'href="/prod/book/20300604-0900"' in html
    assert "/prod/static/styles.css?v=" in html
