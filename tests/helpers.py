"""Helpers shared by the tests: request bodies, CSRF tokens, staff accounts, services.

Fixtures live in conftest.py; plain functions and constants live here, imported by name.
"""

from __future__ import annotations

import os
import re

REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
STAFF_EMAIL = "reception@clinic.example"
STAFF_PASSWORD = "correct horse battery staple"


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def booking_json(appointment_id: str, **overrides):
    body = {
        "appointmentId": appointment_id,
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "notes": "First visit",
    }
    body.update(overrides)
    return body


def create_staff(app, email=STAFF_EMAIL, password=STAFF_PASSWORD):
    result = app.test_cli_runner().invoke(
        args=["create-staff", email, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 0, result.output
    return result


def staff_login(client, email=STAFF_EMAIL, password=STAFF_PASSWORD, **kwargs):
    page = client.get("/staff/login", **kwargs)
    data = {"csrf_token": csrf_token(page.text), "email": email, "password": password}
    return client.post("/staff/login", data=data, **kwargs)


def page_token(client, path: str) -> str:
    """The CSRF token of the session behind `client`, from any page with a form."""
    response = client.get(path)
    return csrf_token(response.text)


def burst(*actions):
    """Run every action at the same moment (one thread each, released by a barrier);
    returns their results in order."""
    import threading

    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def runner(index, action):
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=runner, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
