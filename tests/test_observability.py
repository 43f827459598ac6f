"""Structured logs, request ids, the access line, no patient data in logs, /healthz."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
import serverless_wsgi
from botocore.exceptions import ClientError

from localdev.services import free_port
from tests.helpers import booking_json
from webapp import observability
from webapp.extensions import services
from webapp.settings import ConfigError, load_settings

PATIENT = {"patientName": "Zelda Quintessa Fairweather", "patientEmail": "zelda.q@example.org"}


@pytest.fixture(autouse=True)
def _restore_root_level():
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def log_lines(capsys) -> tuple[str, list[dict]]:
    """Everything written to stderr, and the lines parsed as JSON (all must be)."""
    raw = capsys.readouterr().err
    entries = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return raw, entries


def access_lines(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["logger"] == "webapp.access"]


def test_every_line_is_json_with_a_request_id_and_one_access_line(client, capsys, future_slot):
    capsys.readouterr()
    response = client.get("/appointment-slot", headers={"X-Request-Id": "trace-123"})
    assert response.headers["X-Request-Id"] == "trace-123"
    _, entries = log_lines(capsys)
    assert entries, "the request wrote no log line"
    assert all(entry["request_id"] == "trace-123" for entry in entries)
    [line] = access_lines(entries)
    assert line["method"] == "GET"
    assert line["path"] == "/appointment-slot"
    assert line["status"] == 200
    assert line["cache"] in ("HIT", "MISS", "BYPASS")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"]


def test_booking_never_logs_patient_data_even_at_debug(make_app, capsys, now):
    app = make_app(LOG_LEVEL="DEBUG")
    service = services(app)
    service.store.appointments.put_slot("20300604-0900", "2030-06-04", "09:00", "t")
    client = app.test_client()
    capsys.readouterr()

    body = booking_json("20300604-0900", **PATIENT, notes="allergic to penicillin")
    assert client.post("/book-appointment", json=body).status_code == 200
    assert client.post("/book-appointment", json=body).status_code == 409  # the 409 path too
    bad = client.post("/book-appointment", json={**body, "patientEmail": PATIENT["patientName"]})
    assert bad.status_code == 400

    raw, entries = log_lines(capsys)
    assert len(access_lines(entries)) == 3
    for secret in (*PATIENT.values(), "penicillin", "zelda"):
        assert secret.lower() not in raw.lower()


def test_booking_page_never_logs_patient_data(make_app, capsys, now):
    app = make_app()
    services(app).store.appointments.put_slot("20300604-0900", "2030-06-04", "09:00", "t")
    client = app.test_client()
    from tests.helpers import csrf_token

    token = csrf_token(client.get("/book/20300604-0900").get_data(as_text=True))
    capsys.readouterr()
    response = client.post("/book/20300604-0900", data={**PATIENT, "csrf_token": token})
    assert response.status_code == 303
    raw, entries = log_lines(capsys)
    assert access_lines(entries)[0]["status"] == 303
    assert PATIENT["patientName"] not in raw and PATIENT["patientEmail"] not in raw


def test_query_string_is_never_logged(client, capsys):
    capsys.readouterr()
    client.get("/appointment-slot?from=2030-06-04&token=s3cr3t-value")
    raw, entries = log_lines(capsys)
    assert "s3cr3t-value" not in raw
    assert access_lines(entries)[0]["path"] == "/appointment-slot"


def test_manage_links_are_logged_by_their_rule_never_the_token(client, capsys, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    manage_url = client.post("/book-appointment", json=booking_json(slot)).json["manageUrl"]
    token = manage_url.rsplit("/", 1)[1]
    capsys.readouterr()
    assert client.get(manage_url).status_code == 200
    assert client.get("/manage/not-a-real-token").status_code == 404
    raw, entries = log_lines(capsys)
    assert token not in raw and "not-a-real-token" not in raw
    assert [e["path"] for e in access_lines(entries)] == ["/manage/<token>"] * 2


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "x" * 129, "../../etc", "-leading-dash", "semi;colon", "ünïcode"],
)
def test_malformed_request_id_is_replaced(client, incoming):
    response = client.get("/livez", headers={"X-Request-Id": incoming})
    generated = response.headers["X-Request-Id"]
    assert generated != incoming
    assert len(generated) == 32 and generated.isalnum()


def test_each_request_gets_its_own_id(client):
    first = client.get("/livez").headers["X-Request-Id"]
    second = client.get("/livez").headers["X-Request-Id"]
    assert first != second


def test_errors_carry_the_request_id_too(client, capsys):
    capsys.readouterr()
    response = client.get("/no-such-page", headers={"X-Request-Id": "req-404"})
    assert response.status_code == 404
    assert response.headers["X-Request-Id"] == "req-404"
    _, entries = log_lines(capsys)
    assert access_lines(entries)[0]["status"] == 404


def _api_gateway_v1_event(path: str, request_id: str = "apigw-req-1") -> dict:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"},
        "multiValueHeaders": {
            "Host": ["abc.execute-api.us-east-1.amazonaws.com"],
            "Accept": ["*/*"],
        },
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "GET",
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "curl/8"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_lambda_request_id_is_on_every_line(app, capsys):
    context = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    capsys.readouterr()
    response = serverless_wsgi.handle_request(app, _api_gateway_v1_event("/livez"), context)
    assert response["statusCode"] == 200
    _, entries = log_lines(capsys)
    [line] = access_lines(entries)
    assert line["aws_request_id"] == context.aws_request_id
    assert line["path"] == "/livez"
    headers = {k.lower(): v for k, v in response["multiValueHeaders"].items()}
    assert headers["x-request-id"] == [line["request_id"]]


def test_logging_is_configured_once_per_process(make_app):
    make_app()
    make_app()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_clinic_json_logging", False)]
    assert len(ours) == 1


def test_on_lambda_the_runtime_handler_gets_our_format(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "clinic-api")
    root = logging.Logger("lambda-root-probe")
    runtime_handler = logging.StreamHandler()
    root.addHandler(runtime_handler)
    observability.configure_logging("INFO", root=root)
    observability.configure_logging("INFO", root=root)
    assert root.handlers == [runtime_handler]
    assert isinstance(runtime_handler.formatter, observability.JsonFormatter)


def test_log_level_is_respected_and_validated(make_app, capsys):
    client = make_app(LOG_LEVEL="warning").test_client()
    capsys.readouterr()
    client.get("/livez")
    assert capsys.readouterr().err == ""
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings({"APP_ENV": "test", "LOG_LEVEL": "chatty"})


def test_exceptions_are_logged_as_one_json_line(make_app, capsys):
    app = make_app()

    def boom():
        raise RuntimeError("kaboom")

    app.add_url_rule("/boom", "boom", boom)
    capsys.readouterr()
    assert app.test_client().get("/boom").status_code == 500
    _, entries = log_lines(capsys)
    [error] = [e for e in entries if e["level"] == "ERROR"]
    assert "kaboom" in error["exception"] and error["request_id"]


# -- /healthz and /livez ---------------------------------------------------------------------


def test_healthz_reports_both_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"dynamodb": "ok", "redis": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_with_redis_down_is_degraded_but_200(make_app):
    client = make_app(REDIS_PORT=str(free_port())).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "degraded",
        "checks": {"dynamodb": "ok", "redis": "unavailable"},
    }


def test_healthz_without_redis_configured_says_disabled(make_app):
    response = make_app(REDIS_HOST=None).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"] == "disabled"


def test_healthz_with_dynamodb_down_is_503(app, store):
    client_ = store.table.client

    def throttle(**_):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "GetItem")

    client_.meta.events.register("before-call.dynamodb", throttle)
    try:
        response = app.test_client().get("/healthz")
    finally:
        client_.meta.events.unregister("before-call.dynamodb", throttle)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["dynamodb"] == "unavailable"


def test_healthz_reveals_no_configuration(make_app):
    app = make_app(SECRET_KEY="a-very-long-secret-key-for-this-test-only-xx")
    body = app.test_client().get("/healthz").get_data(as_text=True)
    for leak in ("secret", "127.0.0.1", "6379", "Appointments", "amazonaws"):
        assert leak not in body


def test_livez_touches_nothing(app, store):
    client_ = store.table.client
    calls = []
    client_.meta.events.register("before-call.dynamodb", lambda **kw: calls.append(kw))
    assert app.test_client().get("/livez").json == {"status": "ok"}
    assert calls == []


def test_the_development_servers_access_line_is_dropped():
    # werkzeug's own line (`flask run`) would log the query string; ours replaces it.
    werkzeug = logging.getLogger("werkzeug")
    assert any(isinstance(f, observability.DropDevServerAccessLines) for f in werkzeug.filters)
    line = '127.0.0.1 - - [25/Nov/2026 09:29:18] "GET /livez?token=abc HTTP/1.1" 200 -'
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, line, None, None)
    assert not werkzeug.filter(record)
    banner = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, " * Running on", None, None)
    assert werkzeug.filter(banner)


def test_stream_handler_lines_carry_the_lambda_request_id(monkeypatch, capsys, aws):
    from webapp.notifications import worker

    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setattr(worker, "_notifier", None)
    context = SimpleNamespace(aws_request_id="stream-invocation-1")
    capsys.readouterr()
    result = worker.handle_stream({"Records": [{"eventName": "MODIFY"}]}, context)
    assert result == {"batchItemFailures": []}
    _, entries = log_lines(capsys)
    [line] = [e for e in entries if e["logger"] == "webapp.notifications.worker"]
    assert line["aws_request_id"] == "stream-invocation-1"
    assert line["level"] == "ERROR"


def test_local_logs_are_one_readable_line_per_request(make_app, capsys):
    app = make_app(APP_ENV="local")
    try:
        app.test_client().get("/appointment-slot?from=not-a-date")
        err = capsys.readouterr().err
    finally:
        observability.configure_logging("INFO")  # the rest of the suite reads JSON
    [line] = [line for line in err.splitlines() if "/appointment-slot" in line]
    assert not line.startswith("{") and "\x1b" not in line
    assert "GET /appointment-slot 400" in line
    assert "not-a-date" not in line  # never the query string


def test_coloured_development_server_lines_are_dropped_too():
    # Werkzeug colours the lines of non-200 answers; the manage token must go all the same.
    coloured = (
        '127.0.0.1 - - [26/Nov/2026 10:00:00] "\x1b[33mPOST /manage/abc.def/cancel HTTP/1.1'
        '\x1b[0m" 303 -'
    )
    record = logging.LogRecord("werkzeug", logging.INFO, "", 0, coloured, None, None)
    assert observability.DropDevServerAccessLines().filter(record) is False
