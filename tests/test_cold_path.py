"""The Lambda entry's cold path stays light: what a fresh process loads to list slots.

Checked in a fresh interpreter (a module, once imported, stays in sys.modules), through
serverless-wsgi with an API Gateway REST (v1) event, as on Lambda.

- A cache hit loads the web framework, redis and the app's own modules, and nothing else:
  an allow-list of top-level packages (so a new import on the hit path fails here until
  it is added on purpose), and none of the app's modules that only other requests need
  (forms, emails, calendar files). DynamoDB points at a closed port, so a listing that
  reached it could not succeed.
- A cache miss reads DynamoDB through botocore's client, without importing boto3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from localdev.services import free_port
from tests.helpers import REDIS_HOST, REDIS_PORT
from tests.lambda_events import rest_event
from webapp import clock, create_app
from webapp.aws import reset_clients
from webapp.extensions import services

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys
at_start = set(sys.modules)
import serverless_wsgi
from webapp.wsgi import app

response = serverless_wsgi.handle_request(app, json.loads(sys.argv[1]), None)
headers = dict(response.get("headers") or {})
headers.update((k, v[0]) for k, v in (response.get("multiValueHeaders") or {}).items())
print(json.dumps({
    "status": response["statusCode"],
    "x_cache": headers.get("X-Cache"),
    "body": json.loads(response["body"]),
    "loaded": sorted(set(sys.modules) - at_start),
}))
"""

# Top-level packages beyond the standard library a cached listing may load: Flask and its
# own dependencies (it imports click, jinja2, itsdangerous and blinker itself), CORS, the
# Lambda adapter, redis, and the app.
HIT_ALLOWED = {
    "blinker",
    "click",
    "flask",
    "flask_cors",
    "itsdangerous",
    "jinja2",
    "markupsafe",
    "redis",
    "serverless_wsgi",
    "webapp",
    "werkzeug",
}
# Optional accelerators redis-py imports by itself when they are installed.
REDIS_OPTIONAL = {"cryptography", "hiredis", "xxhash", "opentelemetry"}
# What only other requests need; named so a failure says what went wrong.
HIT_FORBIDDEN = {
    "boto3",
    "botocore",
    "wtforms",
    "flask_wtf",
    "email_validator",
    "dns",
    "icalendar",
    # Translations: Flask-Babel loads Babel's dates and numbers and pytz when imported; it
    # is set up on the first translated page (webapp/i18n.py), never for a listing.
    "babel",
    "flask_babel",
    "pytz",
}
# The app's modules a listing never needs (notifications.events, which bookings hand their
# changes to, is allowed: it imports the rest of the package only when it publishes).
APP_FORBIDDEN = {
    "webapp.booking_form",
    "webapp.staff.forms",
    "webapp.notifications.decide",
    "webapp.notifications.render",
    "webapp.notifications.send",
    "webapp.notifications.worker",
}


def serve_in_fresh_process(env: dict[str, str], path: str) -> dict:
    process = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(rest_event("GET", path))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout.strip().splitlines()[-1])


def child_env(env: dict[str, str], dynamodb_endpoint: str) -> dict[str, str]:
    return {
        **env,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DYNAMODB_ENDPOINT_URL": dynamodb_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }


def third_party(modules: list[str]) -> set[str]:
    """Top-level packages of `modules` that are not part of the standard library."""
    tops = {name.split(".")[0] for name in modules}
    return {
        top
        for top in tops
        if top not in sys.stdlib_module_names and not top.startswith("_sysconfigdata")
    }


def test_cache_hit_listing_loads_only_what_it_needs(make_app, cache_prefix, future_slot):
    env = {
        "APP_ENV": "test",
        "REDIS_HOST": REDIS_HOST,
        "REDIS_PORT": str(REDIS_PORT),
        "CACHE_KEY_PREFIX": cache_prefix,
        "CLINIC_TIMEZONE": "Australia/Melbourne",
    }
    # This process (moto) lists once, which fills the shared Redis cache.
    warm = make_app(**env).test_client().get("/appointment-slot")
    assert warm.headers["X-Cache"] == "MISS"
    assert [slot["appointmentId"] for slot in warm.json] == [future_slot]

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens
    result = serve_in_fresh_process(child_env(env, closed), "/appointment-slot")

    assert result["status"] == 200
    assert result["x_cache"] == "HIT"
    assert result["body"] == warm.json
    packages = third_party(result["loaded"])
    assert packages & HIT_FORBIDDEN == set()
    assert packages - HIT_ALLOWED - REDIS_OPTIONAL == set()
    assert set(result["loaded"]) & APP_FORBIDDEN == set()


def test_cache_miss_listing_reads_dynamodb_without_boto3(
    dynalite_endpoint, make_settings, cache_prefix
):
    table = f"Appointments-{uuid.uuid4().hex[:8]}"
    env = {
        "APP_ENV": "test",
        "REDIS_HOST": REDIS_HOST,
        "REDIS_PORT": str(REDIS_PORT),
        "CACHE_KEY_PREFIX": cache_prefix,
        "CLINIC_TIMEZONE": "Australia/Melbourne",
        "TABLE_NAME": table,
    }
    reset_clients()
    try:
        app = create_app(make_settings(DYNAMODB_ENDPOINT_URL=dynalite_endpoint, **env))
        service = services(app)
        service.store.table.create()
        day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        slot = f"{day.replace('-', '')}-1000"
        service.store.appointments.put_slot(slot, day, "10:00", clock.iso_timestamp())
        service.cache.invalidate()
    finally:
        reset_clients()

    result = serve_in_fresh_process(child_env(env, dynalite_endpoint), "/appointment-slot")

    assert result["status"] == 200
    assert result["x_cache"] == "MISS"
    assert [s["appointmentId"] for s in result["body"]] == [slot]
    packages = third_party(result["loaded"])
    assert "botocore" in packages
    assert "boto3" not in packages
    assert packages & {"wtforms", "flask_wtf", "email_validator", "icalendar"} == set()
