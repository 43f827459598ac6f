"""Shared fixtures: moto for DynamoDB, a real Redis for the cache, the app and its clients.

Fixtures that need a running service mark every test that uses them, directly or through
another fixture: `redis` (a Redis server, see REDIS_HOST) and `dynalite` (dynalite, run
with Node.js). `-m "not redis and not dynalite"` selects the tests that need neither.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

# Tests must never reach real AWS: fake credentials before boto3 is imported anywhere.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
for _name in ("AWS_PROFILE", "DYNAMODB_ENDPOINT_URL", "REDIS_HOST", "SECRET_KEY"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
import redis  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.helpers import (  # noqa: E402
    REDIS_HOST,
    REDIS_PORT,
    STAFF_EMAIL,
    create_staff,
    staff_login,
)
from webapp import clock, create_app  # noqa: E402
from webapp.aws import reset_clients  # noqa: E402
from webapp.extensions import services  # noqa: E402
from webapp.settings import load_settings  # noqa: E402

_skipped: list[str] = []
# Fixture -> the marker of the service it needs (applied to every test that uses it).
SERVICE_FIXTURES = {"redis_server": "redis", "dynalite_endpoint": "dynalite"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in SERVICE_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    # A skipped test is not a passed test: missing services must fail the run.
    if _skipped and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) were skipped; every test must run.", red=True
        )


@pytest.fixture(scope="session")
def redis_server():
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis is required at {REDIS_HOST}:{REDIS_PORT} ({error}); scripts/test.sh starts one."
        )
    return client


@pytest.fixture
def cache_prefix(redis_server):
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in redis_server.scan_iter(f"{prefix}:*"):
        redis_server.delete(key)


@pytest.fixture
def aws():
    with mock_aws():
        reset_clients()
        yield
    reset_clients()


@pytest.fixture
def make_settings(cache_prefix, tmp_path):
    def build(**env):
        values = {
            "APP_ENV": "test",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "REDIS_HOST": REDIS_HOST,
            "REDIS_PORT": str(REDIS_PORT),
            "CACHE_KEY_PREFIX": cache_prefix,
            "CLINIC_TIMEZONE": "Australia/Melbourne",
            "CLINIC_NAME": "Test Clinic",
        }
        values.update({k: v for k, v in env.items() if v is not None})
        for key in [k for k, v in env.items() if v is None]:
            values.pop(key, None)
        return load_settings(values)

    return build


@pytest.fixture
def make_app(aws, make_settings):
    def build(**env):
        app = create_app(make_settings(**env))
        services(app).store.table.create()
        return app

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    """The app's data layer (webapp.store.Store): set-up and checks behind the app's back."""
    return services(app).store


@pytest.fixture
def now(monkeypatch):
    """Freeze the clock at a fixed instant: 2030-06-03 10:00 in Melbourne (a Monday)."""
    frozen = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # 10:00 AEST (UTC+10)
    monkeypatch.setattr(clock, "utcnow", lambda: frozen)
    return frozen


@pytest.fixture
def add_slot(app):
    """Create an AVAILABLE slot; returns its id."""
    service = services(app)

    def create(day: str, time: str) -> str:
        appointment_id = f"{day.replace('-', '')}-{time.replace(':', '')}"
        service.store.appointments.put_slot(appointment_id, day, time, clock.iso_timestamp())
        service.cache.invalidate()
        return appointment_id

    return create


@pytest.fixture
def future_slot(add_slot):
    """A slot tomorrow (real clock), for tests that don't care about time."""
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    return add_slot(tomorrow, "10:00")


@pytest.fixture(scope="session")
def dynalite_endpoint():
    """A real DynamoDB-compatible server (atomic conditional writes, unlike moto)."""
    from localdev.services import free_port, start_dynalite

    port = free_port()
    process = start_dynalite(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def make_dynalite_app(dynalite_endpoint, make_settings):
    """Builds the app against dynalite, each with a table of its own; settings as
    `make_settings` takes them (REDIS_HOST=None: rate counters in the table)."""
    reset_clients()

    def build(**env):
        settings = make_settings(
            DYNAMODB_ENDPOINT_URL=dynalite_endpoint,
            TABLE_NAME=f"Appointments-{uuid.uuid4().hex[:8]}",
            **env,
        )
        app = create_app(settings)
        services(app).store.table.create()
        return app

    yield build
    reset_clients()


@pytest.fixture
def dynalite_app(make_dynalite_app):
    """The app against dynalite, with a table of its own."""
    # Races fire many requests from one client on purpose.
    return make_dynalite_app(BOOKING_RATE_LIMIT="1000")


@pytest.fixture
def lambda_app(monkeypatch, make_app):
    """The notifier Lambda's environment (SES via moto) plus a web app sharing its table.

    The web app itself does not notify in-process here: the stream handler does it.
    """
    import boto3

    from tests.notification_helpers import LAMBDA_ENV, MAIL_FROM
    from webapp.notifications import worker

    for name, value in LAMBDA_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(worker, "_notifier", None)  # a fresh "cold start" per test
    reset_clients()
    app = make_app(**LAMBDA_ENV)
    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=MAIL_FROM)
    yield app
    reset_clients()


# -- staff --------------------------------------------------------------------------------


@pytest.fixture
def staff_account(app):
    create_staff(app)
    return STAFF_EMAIL


@pytest.fixture
def staff_client(app, staff_account):
    staff = app.test_client()
    assert staff_login(staff).status_code == 303
    return staff


@pytest.fixture
def make_booking(app):
    """Book a slot through the service (no HTTP limits); returns the stored item."""
    from webapp.store.appointments import PatientDetails

    bookings = services(app).bookings
    counter = iter(range(10_000))

    def book(appointment_id: str, email: str | None = None, name: str = "Ada Lovelace"):
        email = email or f"patient{next(counter)}@example.com"
        return bookings.book(appointment_id, PatientDetails(name, email, "notes"))

    return book
