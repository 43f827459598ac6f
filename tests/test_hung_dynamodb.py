"""A DynamoDB that accepts connections and never answers: every request still ends with
the documented 503 (JSON or page, with Retry-After) well inside the web function's
10-second timeout, never API Gateway's bare 502."""

from __future__ import annotations

import pytest

from tests.helpers import booking_json
from tests.tcp_proxy import TcpProxy
from webapp import aws, create_app
from webapp.aws import reset_clients
from webapp.extensions import services

LAMBDA_TIMEOUT_SECONDS = 10  # serverless.yml, the web function
SLOT = "20300604-0900"


@pytest.fixture
def hung_app(make_settings):
    listener = TcpProxy("127.0.0.1", 9, silent=True)  # accepts, then never says a word
    reset_clients()
    app = create_app(make_settings(DYNAMODB_ENDPOINT_URL=f"http://127.0.0.1:{listener.port}"))
    app.hung_listener = listener
    yield app
    reset_clients()
    listener.close()


def assert_json_503(response):
    assert response.status_code == 503
    assert response.is_json and response.json["error"]
    assert int(response.headers["Retry-After"]) > 0


def assert_page_503(response):
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "try again" in response.get_data(as_text=True).lower()
    assert int(response.headers["Retry-After"]) > 0


def test_the_client_budget_fits_inside_the_function_timeout(hung_app):
    with hung_app.app_context():
        config = services(hung_app).store.table.client.meta.config
    assert config.connect_timeout == aws.DYNAMODB_CONNECT_TIMEOUT
    assert config.read_timeout == aws.DYNAMODB_READ_TIMEOUT
    assert config.retries["total_max_attempts"] == aws.DYNAMODB_ATTEMPTS
    per_call = aws.DYNAMODB_ATTEMPTS * (config.connect_timeout + config.read_timeout)
    assert per_call <= aws.worst_case_seconds() <= LAMBDA_TIMEOUT_SECONDS / 1.25


def test_listing_answers_503_when_dynamodb_hangs(hung_app):
    client = hung_app.test_client()
    assert_json_503(client.get("/appointment-slot?from=2030-06-04"))
    assert_page_503(client.get("/?from=2030-06-04"))


def test_booking_answers_503_when_dynamodb_hangs(hung_app):
    client = hung_app.test_client()
    assert_json_503(client.post("/book-appointment", json=booking_json(SLOT)))
    assert_page_503(client.get(f"/book/{SLOT}"))


def test_a_spent_budget_sends_no_further_attempt(hung_app, monkeypatch):
    monkeypatch.setattr(aws, "REQUEST_BUDGET_SECONDS", 0.0)
    assert_json_503(hung_app.test_client().get("/appointment-slot?from=2030-06-04"))
    assert hung_app.hung_listener.accepted == 0
