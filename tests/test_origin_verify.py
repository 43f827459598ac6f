"""ORIGIN_VERIFY_SECRET (behind CloudFront + WAF): a request without the matching
X-Origin-Verify header is refused with 403, whatever the path; without it, nothing."""

from __future__ import annotations

import pytest

from tests.helpers import booking_json
from webapp.settings import ConfigError, load_settings

SECRET = "s3cr3tFromTheStack0123456789abcdefABCDEF0123"


@pytest.fixture
def guarded(make_app):
    return make_app(ORIGIN_VERIFY_SECRET=SECRET).test_client()


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Origin-Verify": "wrong"}, {"X-Origin-Verify": SECRET[:-1]}, {"X-Origin-Verify": ""}],
    ids=["missing", "wrong", "prefix", "empty"],
)
@pytest.mark.parametrize("path", ["/", "/appointment-slot", "/livez", "/staff/login"])
def test_requests_without_the_secret_are_refused(guarded, headers, path):
    response = guarded.get(path, headers=headers)
    assert response.status_code == 403


def test_a_refused_api_call_is_a_json_error(guarded, future_slot):
    response = guarded.post("/book-appointment", json=booking_json(future_slot))
    assert response.status_code == 403
    assert "error" in response.json


def test_requests_through_cloudfront_are_served(guarded, future_slot):
    headers = {"X-Origin-Verify": SECRET}
    assert guarded.get("/livez", headers=headers).status_code == 200
    assert guarded.get("/appointment-slot", headers=headers).status_code == 200
    booked = guarded.post("/book-appointment", json=booking_json(future_slot), headers=headers)
    assert booked.status_code == 200


def test_without_the_setting_nothing_is_checked(client):
    assert client.get("/livez").status_code == 200


@pytest.mark.parametrize("value", ["short", "has a space in it 0123456789", "é" * 20])
def test_a_malformed_secret_stops_the_app(value):
    with pytest.raises(ConfigError, match="ORIGIN_VERIFY_SECRET"):
        load_settings({"APP_ENV": "test", "ORIGIN_VERIFY_SECRET": value})
