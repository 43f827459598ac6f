"""The staff sign-in throttle under simultaneous attempts, on the pages and the API.

Attempts are counted before the password is checked, so a burst gets at most the limit
of password checks; a correct password never clears failures made by others."""

from __future__ import annotations

import base64
from collections import Counter

import pytest

from localdev.services import free_port
from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD, burst, create_staff, csrf_token
from webapp.extensions import services
from webapp.limits import fingerprint

ATTACKER = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture(params=["redis", "in-process"])
def throttled_app(request, make_app):
    env = {"LOGIN_MAX_FAILURES_PER_ACCOUNT": "5", "LOGIN_MAX_FAILURES_PER_CLIENT": "20"}
    if request.param == "in-process":  # Redis down: counting falls back to this process
        env["REDIS_PORT"] = str(free_port())
    app = make_app(**env)
    create_staff(app)
    return app


def prepared_sign_in(app, password, environ=ATTACKER):
    """A sign-in form submission ready to send (its page already fetched)."""
    client = app.test_client()
    token = csrf_token(client.get("/staff/login", environ_base=environ).text)
    data = {"csrf_token": token, "email": STAFF_EMAIL, "password": password}
    return lambda: client.post("/staff/login", data=data, environ_base=environ)


def sign_in(app, password, environ=ATTACKER):
    return prepared_sign_in(app, password, environ)()


def statuses(responses) -> Counter:
    return Counter(response.status_code for response in responses)


def test_forty_simultaneous_wrong_passwords_get_only_the_limit_checked(throttled_app):
    attempts = [prepared_sign_in(throttled_app, f"wrong {n}") for n in range(40)]
    assert statuses(burst(*attempts)) == {401: 5, 429: 35}
    # Locked: even the right password is refused now, without a password check.
    assert sign_in(throttled_app, STAFF_PASSWORD).status_code == 429


def test_counters_hold_exactly_the_checked_attempts(make_app, redis_server):
    app = make_app(LOGIN_MAX_FAILURES_PER_ACCOUNT="5", LOGIN_MAX_FAILURES_PER_CLIENT="20")
    create_staff(app)
    burst(*[prepared_sign_in(app, "wrong") for _ in range(40)])
    settings = services(app).settings
    prefix = f"{settings.cache_key_prefix}:limits:login"
    account = fingerprint(settings, "email", STAFF_EMAIL)
    client = fingerprint(settings, "ip", ATTACKER["REMOTE_ADDR"])
    assert int(redis_server.get(f"{prefix}:acct:{account}")) == 5
    assert int(redis_server.get(f"{prefix}:ip:{client}")) == 5
    assert 0 < redis_server.ttl(f"{prefix}:acct:{account}") <= settings.login_lockout_seconds


def test_right_password_inside_a_burst_of_wrong_ones_is_no_way_in(throttled_app):
    attempts = [prepared_sign_in(throttled_app, "wrong") for _ in range(29)]
    attempts.insert(15, prepared_sign_in(throttled_app, STAFF_PASSWORD))
    counts = statuses(burst(*attempts))
    # Only 5 attempts were checked at all; the right one signs in only if it was one of
    # them, before the lock. Once locked, it is refused like any other.
    assert counts[429] == 25 and counts[401] + counts[303] == 5
    if counts[303]:  # it was: it gave its attempt back, 4 failures are counted
        assert sign_in(throttled_app, "wrong").status_code == 401
    assert sign_in(throttled_app, STAFF_PASSWORD).status_code == 429


def test_four_wrong_then_one_right_repeated_still_locks(throttled_app):
    outcomes = []
    for _ in range(3):
        outcomes += [sign_in(throttled_app, "wrong").status_code for _ in range(4)]
        outcomes.append(sign_in(throttled_app, STAFF_PASSWORD).status_code)
    assert outcomes[:5] == [401, 401, 401, 401, 303]
    assert outcomes[5] == 401 and outcomes[6:] == [429] * 9


def test_a_success_elsewhere_does_not_erase_an_attackers_failures(throttled_app):
    clinic = {"REMOTE_ADDR": "203.0.113.5"}
    for _ in range(4):
        assert sign_in(throttled_app, "wrong").status_code == 401
    assert sign_in(throttled_app, STAFF_PASSWORD, clinic).status_code == 303
    assert sign_in(throttled_app, "wrong").status_code == 401
    assert sign_in(throttled_app, "wrong").status_code == 429


def test_the_sign_in_page_says_how_long_the_pause_really_lasts(throttled_app):
    for _ in range(5):
        sign_in(throttled_app, "wrong")
    refused = sign_in(throttled_app, "wrong")
    assert refused.status_code == 429
    lockout = services(throttled_app).settings.login_lockout_seconds
    assert 60 < int(refused.headers["Retry-After"]) <= lockout


def test_staff_api_basic_auth_shares_the_burst_proof_throttle(throttled_app):
    client = throttled_app.test_client()
    wrong = base64.b64encode(f"{STAFF_EMAIL}:wrong".encode()).decode()
    right = base64.b64encode(f"{STAFF_EMAIL}:{STAFF_PASSWORD}".encode()).decode()

    def call(credentials):
        return lambda: client.get(
            "/api/staff/appointments",
            headers={"Authorization": f"Basic {credentials}"},
            environ_base=ATTACKER,
        )

    assert statuses(burst(*[call(wrong) for _ in range(40)])) == {401: 5, 429: 35}
    locked = call(right)()
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60


def test_successful_api_calls_do_not_use_up_the_budget(throttled_app):
    client = throttled_app.test_client()
    right = base64.b64encode(f"{STAFF_EMAIL}:{STAFF_PASSWORD}".encode()).decode()

    def call():
        return client.get("/api/staff/appointments", headers={"Authorization": f"Basic {right}"})

    # A success gives its attempt back: any number in a row, up to the limit at once.
    assert [call().status_code for _ in range(12)] == [200] * 12
    assert statuses(burst(*[call for _ in range(5)])) == {200: 5}
    assert sign_in(throttled_app, STAFF_PASSWORD).status_code == 303
