"""Browser fixtures: the app behind a real WSGI server, Debian's chromium through Playwright.

Session-scoped and started once: dynalite (in memory) as DynamoDB, the real Redis with a
key prefix of its own, gunicorn serving `webapp.wsgi:app` on a free port of 127.0.0.1, a static
site on two other origins (one allowed by CORS, one not) and one chromium. Each test gets
fresh browser contexts (no shared cookies) and creates the slots it needs on days of its own.
Notifications run in-process into an outbox folder (`live.email(kind, id)` reads them).

Screenshots of every page still open when a test fails land in test-artifacts/failures/.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import functools
import itertools
import os
import secrets
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from localdev.services import ROOT, free_port, start_dynalite, wait_for_port
from tests.helpers import REDIS_HOST, REDIS_PORT
from webapp import clock
from webapp.extensions import Services, build_services
from webapp.settings import load_settings

ARTIFACTS = ROOT / "test-artifacts"
CROSS_ORIGIN_SITE = Path(__file__).parent / "cross_origin_site"
CLINIC_TIMEZONE = "Australia/Melbourne"
# Flags Debian's chromium needs here: no sandbox (root, containers) and no background
# traffic (the closed network refuses it and the browser would stall on retries).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_NOTIFY_EMAIL = "staff@clinic.localhost"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(found, os.X_OK):
        pytest.fail(
            "chromium is required for the browser tests: `apt-get install chromium` "
            "(scripts/test.sh does it via scripts/browser.sh)",
            pytrace=False,
        )
    return found


# -- the app under test ------------------------------------------------------------------


@dataclass
class LiveApp:
    """The running site, plus direct access to its table and cache for set-up and checks."""

    url: str
    env: dict[str, str]
    services: Services
    outbox_dir: Path
    _days: Iterator[int] = field(default_factory=lambda: itertools.count(40))

    def new_day(self) -> date:
        """A future day no other test uses (populate-slots fills only the next week)."""
        return self.services.availability.today() + timedelta(days=next(self._days))

    def add_slot(self, day: date, time: str) -> str:
        appointment_id = f"browser-{day:%Y%m%d}-{time.replace(':', '')}"
        assert self.services.store.appointments.put_slot(
            appointment_id, day.isoformat(), time, clock.iso_timestamp()
        ), f"slot {appointment_id} already exists"
        self.services.cache.invalidate()
        return appointment_id

    def flask(self, *args: str, input: str | None = None) -> str:
        """Run a `flask --app webapp` command against the live table; returns its output."""
        return flask_command(self.env, *args, input=input)

    def item(self, appointment_id: str) -> dict:
        item = self.services.store.appointments.get(appointment_id)
        assert item is not None, f"no item {appointment_id}"
        return item

    def create_staff(self, email: str) -> str:
        """A new staff account made with the CLI, as an operator would; returns its password."""
        password = secrets.token_urlsafe(18)
        output = self.flask("create-staff", email, "--password-stdin", input=f"{password}\n")
        assert f"Created staff account {email}" in output, output
        return password

    @functools.cached_property
    def staff(self) -> tuple[str, str]:
        """(email, password) of one staff account shared by the tests that only need one."""
        email = "reception@clinic.example.com"
        return email, self.create_staff(email)

    @functools.cached_property
    def bookings(self):
        """The booking lifecycle (decide, cancel) against the live table, for set-up."""
        return self.services.bookings

    def manage_url(self, appointment_id: str) -> str:
        """The patient's private link to a booking, as the app makes it."""
        from webapp.notifications.render import manage_url

        return manage_url(self.services.settings, self.item(appointment_id))

    def emails(self, kind: str, appointment_id: str) -> list[EmailMessage]:
        """The outbox's emails of one kind (e.g. "accepted") about one booking."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.outbox_dir.glob(f"*-{kind}-{appointment_id}.eml"))
        ]

    def email(self, kind: str, appointment_id: str) -> EmailMessage:
        """The one email of `kind` about a booking (each change sends exactly one)."""
        found = self.emails(kind, appointment_id)
        written = sorted(path.name for path in self.outbox_dir.glob("*.eml"))
        assert len(found) == 1, f"{len(found)} {kind} email(s) for {appointment_id}: {written}"
        return found[0]


def flask_command(env: dict[str, str], *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", *args],
        env=env,
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode:
        pytest.fail(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def static_site() -> Iterator[Callable[[], str]]:
    """Start servers of the static cross-origin page; each call returns a new origin."""
    servers: list[ThreadingHTTPServer] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    def start() -> str:
        handler = partial(Quiet, directory=str(CROSS_ORIGIN_SITE))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def partner_origin(static_site) -> str:
    """The origin of the static page that CORS_ALLOWED_ORIGINS lets in."""
    return static_site()


@contextlib.contextmanager
def live_stack(
    tmp: Path,
    redis_server,
    partner_origin: str,
    name: str = "browser",
    populate_days: int | None = 7,
) -> Iterator[LiveApp]:
    """Start one site: its own dynalite (so its own table), its own Redis key prefix,
    gunicorn on a free port, notifications into `tmp`/outbox; stopped and cleaned up on
    exit. `live` is one for the whole session; a test module that changes what every
    page shows (a second practitioner, say) starts its own with a fixture of its own."""
    dynalite_port, app_port = free_port(), free_port()
    url = f"http://127.0.0.1:{app_port}"
    dynalite = start_dynalite(dynalite_port)
    prefix = f"{name}-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "APP_ENV": "local",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{dynalite_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "TABLE_NAME": "Appointments",
        "REDIS_HOST": REDIS_HOST,
        "REDIS_PORT": str(REDIS_PORT),
        "CACHE_KEY_PREFIX": prefix,
        "CLINIC_TIMEZONE": CLINIC_TIMEZONE,
        "CLINIC_NAME": "Riverside Clinic",
        "CORS_ALLOWED_ORIGINS": partner_origin,
        # Notifications as a developer sees them: the same notifier code runs in-process
        # after each write and leaves one .eml per email in the outbox folder.
        "EMAIL_BACKEND": "outbox",
        "NOTIFY_INLINE": "true",
        "OUTBOX_DIR": str(tmp / "outbox"),
        "STAFF_NOTIFY_EMAIL": STAFF_NOTIFY_EMAIL,
        "PUBLIC_BASE_URL": url,
        # Every browser here is the one client 127.0.0.1: the per-client booking limit
        # (5 per 10 minutes by default) would refuse the suite's own bookings. Its own
        # tests cover it; the per-email cap stays at its default (tests use their own
        # addresses, see pages.patient_email).
        "BOOKING_RATE_LIMIT": "100000",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    server = None
    log_path = ARTIFACTS / f"{name}-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        flask_command(env, "create-table")
        if populate_days:
            flask_command(env, "populate-slots", "--days", str(populate_days))
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{app_port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    # No gunicorn access log: it would write raw paths (manage-link tokens);
                    # the app's own JSON access line logs routes by their rule.
                    "webapp.wsgi:app",
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port("127.0.0.1", app_port, timeout=30)
        except RuntimeError:
            server.kill()
            pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
        settings = load_settings(env)
        services = build_services(settings)
        yield LiveApp(url=url, env=env, services=services, outbox_dir=tmp / "outbox")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        dynalite.terminate()
        dynalite.wait(timeout=15)
        for key in redis_server.scan_iter(f"{prefix}:*"):
            redis_server.delete(key)


@pytest.fixture(scope="session")
def live(tmp_path_factory, redis_server, partner_origin) -> Iterator[LiveApp]:
    with live_stack(tmp_path_factory.mktemp("live"), redis_server, partner_origin) as app:
        yield app


# -- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture
def new_context(browser, request):
    """Open browser contexts (separate cookie jars); all closed after the test.

    Options as for Playwright's `browser.new_context`; the viewport defaults to desktop.
    """
    contexts = []

    def open_context(**options):
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "en-AU")
        options.setdefault("timezone_id", CLINIC_TIMEZONE)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    if getattr(request.node, "browser_call_failed", False):
        failures = ARTIFACTS / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages):
            page.screenshot(path=failures / f"{name}-{number}.png", full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()
