"""The staff area: sign-in, authorisation, decisions, dashboard, availability, JSON API."""

from __future__ import annotations

import base64
import re

import pytest

from tests.helpers import (
    STAFF_EMAIL,
    STAFF_PASSWORD,
    create_staff,
    csrf_token,
    page_token,
    staff_login,
)
from webapp.bookings import replacement_id
from webapp.extensions import services
from webapp.limits import SIGN_IN_THROTTLED
from webapp.staff import auth
from webapp.staff.views import PUBLIC_ENDPOINTS

STAFF_PREFIXES = ("/staff", "/api/staff")


def basic(email=STAFF_EMAIL, password=STAFF_PASSWORD) -> dict:
    raw = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def staff_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(STAFF_PREFIXES)]


def build(app, rule) -> str:
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, {arg: "20300604-0900" for arg in rule.arguments})


# -- authorisation matrix ------------------------------------------------------------


def test_every_staff_route_refuses_anonymous_clients(app, staff_account):
    """Walks the URL map: a new staff route cannot slip through unprotected."""
    client = app.test_client()
    # A valid CSRF token for this anonymous session, so that sign-in, not CSRF, refuses.
    token = csrf_token(client.get("/staff/login").text)
    checked = 0
    for rule in staff_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = build(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule.startswith("/api/staff"):
                response = client.open(url, method=method, json={} if method == "POST" else None)
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
            label = f"{method} {rule.rule}"
            if rule.rule.startswith("/api/staff"):
                assert response.status_code == 401, label
                assert response.headers["WWW-Authenticate"].startswith("Basic"), label
                assert response.is_json, label
            else:
                assert response.status_code == 303, label
                assert response.headers["Location"].startswith("/staff/login"), label
            checked += 1
    assert checked >= 15
    # Every staff endpoint lives under a staff prefix, and only sign-in is public.
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("staff.", "staff_api.")):
            assert rule.rule.startswith(STAFF_PREFIXES), rule.rule
    assert {"staff.login"} == PUBLIC_ENDPOINTS


def test_staff_api_ignores_the_session_cookie_and_bad_credentials(app, staff_client):
    assert staff_client.get("/api/staff/appointments").status_code == 401
    assert staff_client.get("/api/staff/appointments", headers=basic()).status_code == 200
    wrong = app.test_client().get("/api/staff/appointments", headers=basic(password="nope"))
    assert wrong.status_code == 401
    bearer = app.test_client().get(
        "/api/staff/appointments", headers={"Authorization": "Bearer abc"}
    )
    assert bearer.status_code == 401


def test_staff_api_post_requires_a_json_body(
    app, staff_account, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    form_post = app.test_client().post(
        f"/api/staff/appointments/{slot}/accept", data={"a": "b"}, headers=basic()
    )
    assert form_post.status_code == 415
    assert store.appointments.get(slot)["status"] == "PENDING"


# -- sign-in -----------------------------------------------------------------------------


def test_login_redirects_back_and_logout_ends_the_session(app, staff_account):
    client = app.test_client()
    first = client.get("/staff/slots")
    assert first.headers["Location"] == "/staff/login?next=/staff/slots"
    page = client.get(first.headers["Location"])
    response = client.post(
        first.headers["Location"],
        data={
            "csrf_token": csrf_token(page.text),
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/slots"
    assert client.get("/staff/").status_code == 200
    token = page_token(client, "/staff/slots")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/staff/").status_code == 303


def test_login_never_redirects_off_site(app, staff_account):
    client = app.test_client()
    page = client.get("/staff/login")
    data = {"csrf_token": csrf_token(page.text), "email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    for target in ("https://evil.example/", "//evil.example/staff/", "/staff//evil.example"):
        response = client.post(f"/staff/login?next={target}", data=data)
        assert response.headers["Location"] == "/staff/"
        client.post("/staff/logout", data={"csrf_token": page_token(client, "/staff/slots")})
        page = client.get("/staff/login")
        data["csrf_token"] = csrf_token(page.text)


def test_login_clears_the_previous_session(app, staff_account):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    assert staff_login(client).status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["staff"]["email"] == STAFF_EMAIL


def test_session_cookie_flags_in_production(make_app, monkeypatch):
    app = make_app(
        APP_ENV="production",
        SECRET_KEY="s" * 40,
        MAIL_FROM="bookings@clinic.example",
        PUBLIC_BASE_URL="https://clinic.example",
    )
    create_staff(app)
    response = staff_login(
        app.test_client(),
        base_url="https://clinic.example",
        headers={"Referer": "https://clinic.example/staff/login"},
    )
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_user_and_wrong_password_look_the_same(app, staff_account, monkeypatch):
    checks = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: checks.append(1) or real_check(*a))
    wrong = staff_login(app.test_client(), password="not the password")
    unknown = staff_login(app.test_client(), email="nobody@clinic.example")
    assert wrong.status_code == unknown.status_code == 401
    assert auth.FAILED_MESSAGE in wrong.text and auth.FAILED_MESSAGE in unknown.text

    def scrub(html: str) -> str:
        html = re.sub(r'value="[^"]*"', "", html)
        return html

    assert scrub(wrong.text) == scrub(unknown.text)
    assert len(checks) == 2  # the unknown address paid for a hash too


def test_failed_logins_are_throttled_per_account(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_ACCOUNT="3")
    create_staff(app)
    for number in range(3):
        client = app.test_client()
        ip = {"REMOTE_ADDR": f"10.0.0.{number}"}
        assert staff_login(client, password="wrong", environ_base=ip).status_code == 401
    blocked = staff_login(app.test_client(), environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert blocked.status_code == 429
    assert SIGN_IN_THROTTLED in blocked.text
    # An unknown address is throttled the same way (no enumeration through throttling).
    for _ in range(3):
        staff_login(app.test_client(), email="nobody@clinic.example", password="x")
    unknown = staff_login(app.test_client(), email="nobody@clinic.example", password="x")
    assert unknown.status_code == 429


@pytest.mark.parametrize("redis_port", [None, "closed"])
def test_failed_logins_are_throttled_per_client(make_app, redis_port):
    env = {"LOGIN_MAX_FAILURES_PER_CLIENT": "4"}
    if redis_port:  # Redis down: counting falls back to this process
        from localdev.services import free_port

        env["REDIS_PORT"] = str(free_port())
    app = make_app(**env)
    create_staff(app)
    attacker = {"REMOTE_ADDR": "198.51.100.7"}
    for number in range(4):
        response = staff_login(
            app.test_client(), email=f"guess{number}@clinic.example", environ_base=attacker
        )
        assert response.status_code == 401
    assert staff_login(app.test_client(), environ_base=attacker).status_code == 429
    # Another client is not affected.
    other = {"REMOTE_ADDR": "203.0.113.5"}
    assert staff_login(app.test_client(), environ_base=other).status_code == 303
    # The API shares the throttle.
    api = app.test_client().get("/api/staff/appointments", headers=basic(), environ_base=attacker)
    assert api.status_code == 429 and api.headers["Retry-After"]


def test_password_change_signs_out_existing_sessions(app, staff_client):
    assert staff_client.get("/staff/").status_code == 200
    result = create_staff(app, password="a brand new passphrase")
    assert "Updated" in result.output
    assert staff_client.get("/staff/").status_code == 303


def test_create_staff_rejects_short_password_and_bad_email(app, store):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["create-staff", STAFF_EMAIL, "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "12" in short.output
    bad = runner.invoke(args=["create-staff", "not-an-email", "--password-stdin"], input="x" * 20)
    assert bad.exit_code != 0
    prompted = runner.invoke(
        args=["create-staff", STAFF_EMAIL], input="p" * 14 + "\n" + "p" * 14 + "\n"
    )
    assert prompted.exit_code == 0, prompted.output
    stored = store.staff.get(STAFF_EMAIL)
    assert stored["passwordHash"].startswith("scrypt:") and "p" * 14 not in stored["passwordHash"]


def test_staff_accounts_are_not_slots(app, client, staff_account, now):
    assert client.get("/book/staff%23reception@clinic.example").status_code == 404
    body = {
        "appointmentId": f"staff#{STAFF_EMAIL}",
        "patientName": "Eve",
        "patientEmail": "eve@example.com",
    }
    assert client.post("/book-appointment", json=body).status_code == 404
    assert client.get("/appointment-slot").json == []


# -- CSRF --------------------------------------------------------------------------------


def test_staff_forms_refuse_a_missing_csrf_token(
    app, staff_client, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    posts = [r for r in staff_rules(app) if r.rule.startswith("/staff") and "POST" in r.methods]
    assert len(posts) >= 7
    for rule in posts:
        if rule.endpoint == "staff.logout":
            continue
        url = build(app, rule)
        response = staff_client.post(url, data={"decisionReason": "x", "start": "2030-06-05"})
        assert response.status_code == 400, rule.rule
    assert store.appointments.get(slot)["status"] == "PENDING"
    # Logout without a token does not sign out.
    staff_client.post("/staff/logout")
    assert staff_client.get("/staff/").status_code == 200
    login = app.test_client().post(
        "/staff/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    assert login.status_code == 400


# -- decisions ---------------------------------------------------------------------------


def test_accept_records_who_and_when(app, staff_client, now, add_slot, make_booking, store):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    token = page_token(staff_client, f"/staff/appointments/{slot}")
    response = staff_client.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": token})
    assert response.status_code == 303
    item = store.appointments.get(slot)
    assert item["status"] == "ACCEPTED"
    assert item["decidedBy"] == STAFF_EMAIL
    assert item["decidedAt"] == item["updatedAt"] == "2030-06-03T00:00:00Z"
    assert item["patientName"] == "Ada Lovelace"
    page = staff_client.get(response.headers["Location"])
    assert "Accepted" in page.text


def test_decline_needs_a_reason_and_gives_the_time_back(
    app, client, staff_client, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot, email="ada@example.com")
    assert client.get("/appointment-slot").json == []  # cached: nothing listed
    token = page_token(staff_client, f"/staff/appointments/{slot}")
    empty = staff_client.post(
        f"/staff/appointments/{slot}/decline", data={"csrf_token": token, "decisionReason": "  "}
    )
    assert empty.status_code == 400
    assert "Please give a reason" in empty.text
    long = staff_client.post(
        f"/staff/appointments/{slot}/decline",
        data={"csrf_token": token, "decisionReason": "x" * 501},
    )
    assert long.status_code == 400
    assert store.appointments.get(slot)["status"] == "PENDING"

    response = staff_client.post(
        f"/staff/appointments/{slot}/decline",
        data={"csrf_token": token, "decisionReason": "The doctor is away that day."},
    )
    assert response.status_code == 303
    record = store.appointments.get(slot)
    assert record["status"] == "DECLINED"
    assert record["decisionReason"] == "The doctor is away that day."
    assert record["decidedBy"] == STAFF_EMAIL
    assert record["patientEmail"] == "ada@example.com" and record["requestedAt"]
    # Listed again at once, under a new id, same time.
    listed = client.get("/appointment-slot").json
    assert listed == [
        {
            "appointmentId": replacement_id(record),
            "appointmentDate": "2030-06-04",
            "appointmentTime": "09:00",
            "status": "AVAILABLE",
        }
    ]


def test_deciding_twice_is_409_and_changes_nothing(
    app, staff_client, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    token = page_token(staff_client, f"/staff/appointments/{slot}")
    staff_client.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": token})
    declined = staff_client.post(
        f"/staff/appointments/{slot}/decline",
        data={"csrf_token": token, "decisionReason": "Changed my mind"},
    )
    assert declined.status_code == 409
    assert "already accepted" in declined.text
    item = store.appointments.get(slot)
    assert item["status"] == "ACCEPTED" and "decisionReason" not in item


def test_accepting_a_cancelled_request_is_409(app, client, staff_client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    body = {"appointmentId": slot, "patientName": "Ada", "patientEmail": "ada@example.com"}
    manage_url = client.post("/book-appointment", json=body).json["manageUrl"]
    path = manage_url.replace("http://127.0.0.1:5000", "")
    patient_token = page_token(client, f"{path}/cancel")
    assert client.post(f"{path}/cancel", data={"csrf_token": patient_token}).status_code == 303

    token = page_token(staff_client, "/staff/slots")
    response = staff_client.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": token})
    assert response.status_code == 409
    assert "cancelled by the patient" in response.text
    api = staff_client.post(f"/api/staff/appointments/{slot}/accept", json={}, headers=basic())
    assert api.status_code == 409
    assert api.json["status"] == "CANCELLED" and "cancelled" in api.json["error"]
    assert store.appointments.get(slot)["status"] == "CANCELLED"


def test_accepting_a_started_appointment_is_409(app, staff_client, now, add_slot, make_booking):
    slot = add_slot("2030-06-03", "10:30")
    make_booking(slot)
    later = now.replace(minute=45)
    import webapp.clock

    webapp.clock.utcnow = lambda: later  # restored by the `now` fixture's monkeypatch
    token = page_token(staff_client, "/staff/slots")
    response = staff_client.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": token})
    assert response.status_code == 409
    assert "already started" in response.text


def test_staff_cancel_keeps_who_accepted_and_frees_the_time(
    app, client, staff_client, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    token = page_token(staff_client, f"/staff/appointments/{slot}")
    staff_client.post(f"/staff/appointments/{slot}/accept", data={"csrf_token": token})
    response = staff_client.post(f"/staff/appointments/{slot}/cancel", data={"csrf_token": token})
    assert response.status_code == 303
    item = store.appointments.get(slot)
    assert item["status"] == "CANCELLED" and item["cancelledBy"] == "staff"
    assert item["decidedBy"] == STAFF_EMAIL and item["cancelledByStaff"] == STAFF_EMAIL
    assert [s["appointmentTime"] for s in client.get("/appointment-slot").json] == ["09:00"]


def test_unknown_or_overlong_ids_are_404(staff_client):
    assert staff_client.get("/staff/appointments/nope").status_code == 404
    assert staff_client.get("/staff/appointments/" + "x" * 80).status_code == 404
    assert staff_client.get("/api/staff/appointments/nope", headers=basic()).status_code == 404


def test_a_failed_release_is_reported_and_converges_on_retry(
    app, client, staff_client, now, add_slot, make_booking, monkeypatch, store
):
    from webapp.store.errors import StoreUnavailable

    slot = add_slot("2030-06-04", "09:00")
    make_booking(slot)
    real_put = store.appointments.put_slot

    def failing_put(*args):
        raise StoreUnavailable("ThrottlingException")

    monkeypatch.setattr(store.appointments, "put_slot", failing_put)
    token = page_token(staff_client, f"/staff/appointments/{slot}")
    response = staff_client.post(
        f"/staff/appointments/{slot}/decline",
        data={"csrf_token": token, "decisionReason": "Closed"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "could not be offered again" in response.text
    assert "Offer this time again" in response.text
    assert store.appointments.get(slot)["status"] == "DECLINED"
    assert client.get("/appointment-slot").json == []

    monkeypatch.setattr(store.appointments, "put_slot", real_put)
    # Repeating the decline converges (409: nothing to decide, but the time is released).
    again = staff_client.post(
        f"/staff/appointments/{slot}/decline",
        data={"csrf_token": token, "decisionReason": "Closed"},
    )
    assert again.status_code == 409
    listed = client.get("/appointment-slot").json
    assert [s["appointmentTime"] for s in listed] == ["09:00"]
    # Re-offering again never creates a second slot.
    for _ in range(2):
        staff_client.post(f"/staff/appointments/{slot}/reoffer", data={"csrf_token": token})
    assert len(client.get("/appointment-slot").json) == 1


# -- dashboard ---------------------------------------------------------------------------


def _seed(app, add_slot, make_booking, monkeypatch, now):
    """Six bookings: four PENDING requested at different times, one ACCEPTED, one DECLINED."""
    import webapp.clock
    from webapp.bookings import Bookings

    service: Bookings = services(app).bookings
    ids = {}
    # Requested in this order; appointment dates deliberately in another order.
    plan = [("p1", "2030-06-09"), ("p2", "2030-06-05"), ("p3", "2030-06-07"), ("p4", "2030-06-06")]
    for minute, (name, day) in enumerate(plan):
        moment = now.replace(minute=minute)
        monkeypatch.setattr(webapp.clock, "utcnow", lambda moment=moment: moment)
        ids[name] = add_slot(day, "09:00")
        make_booking(ids[name], name=name)
    ids["a"] = add_slot("2030-06-08", "09:00")
    make_booking(ids["a"], name="a")
    service.accept(ids["a"], STAFF_EMAIL)
    ids["d"] = add_slot("2030-06-04", "09:00")
    make_booking(ids["d"], name="d")
    service.decline(ids["d"], STAFF_EMAIL, "No")
    monkeypatch.setattr(webapp.clock, "utcnow", lambda: now)
    return ids


def test_dashboard_orders_pending_first_oldest_request_first_and_paginates(
    make_app, monkeypatch, now
):
    app = make_app(STAFF_PAGE_SIZE="4")
    create_staff(app)

    service = services(app)
    from webapp.clock import iso_timestamp
    from webapp.store.appointments import PatientDetails

    def add_slot(day, time):
        slot = f"{day.replace('-', '')}-{time.replace(':', '')}"
        service.store.appointments.put_slot(slot, day, time, iso_timestamp())
        return slot

    def book(slot, name):
        service.bookings.book(slot, PatientDetails(name, f"{name}@example.com"))

    ids = _seed(app, add_slot, book, monkeypatch, now)
    client = app.test_client()
    staff_login(client)
    first = client.get("/staff/")
    assert first.status_code == 200
    names = re.findall(r"<td>(\w+)<br>", first.text)
    assert names == ["p1", "p2", "p3", "p4"]  # PENDING, oldest request first
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1)
    second = client.get(next_url.replace("&amp;", "&"))
    # Then the other statuses in order (ACCEPTED, DECLINED, ...), each by appointment time.
    assert re.findall(r"<td>(\w+)<br>", second.text) == ["a", "d"]
    assert 'rel="next"' not in second.text

    # The JSON flavour, with a filter and a tampered cursor.
    api = client.get("/api/staff/appointments?status=PENDING&limit=3", headers=basic())
    assert [i["patientName"] for i in api.json["appointments"]] == ["p1", "p2", "p3"]
    assert "emailKey" not in api.json["appointments"][0]
    cursor = api.json["nextCursor"]
    rest = client.get(f"/api/staff/appointments?status=PENDING&cursor={cursor}", headers=basic())
    assert [i["patientName"] for i in rest.json["appointments"]] == ["p4"]
    assert rest.json["nextCursor"] is None
    tampered = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    bad = client.get(f"/api/staff/appointments?status=PENDING&cursor={tampered}", headers=basic())
    assert bad.status_code == 400
    other_filter = client.get(
        f"/api/staff/appointments?status=ACCEPTED&cursor={cursor}", headers=basic()
    )
    assert other_filter.status_code == 400

    window = client.get(
        "/api/staff/appointments?from=2030-06-05&to=2030-06-07", headers=basic()
    ).json["appointments"]
    assert [i["patientName"] for i in window] == ["p2", "p3", "p4"]
    assert ids  # all seeded


def test_dashboard_rejects_bad_filters(staff_client):
    assert staff_client.get("/staff/?status=BOGUS").status_code == 400
    assert staff_client.get("/staff/?from=yesterday").status_code == 400
    api = staff_client.get("/api/staff/appointments?limit=0", headers=basic())
    assert api.status_code == 400 and "limit" in api.json["fields"]


def test_the_store_never_scans(app, client, staff_client, now, add_slot, store):
    calls: list[str] = []

    class Recorder:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            calls.append(name)
            assert name not in ("scan", "execute_statement"), f"{name} must never be used"
            return getattr(self._inner, name)

    store.table.client = Recorder(store.table.client)
    slot = add_slot("2030-06-04", "09:00")
    other = add_slot("2030-06-04", "09:30")
    body = {"appointmentId": slot, "patientName": "Ada", "patientEmail": "ada@example.com"}
    client.post("/book-appointment", json=body)
    token = page_token(staff_client, "/staff/slots")
    staff_client.get("/staff/")
    staff_client.get("/staff/?status=PENDING&from=2030-06-01&to=2030-06-30")
    staff_client.get("/api/staff/appointments", headers=basic())
    staff_client.post(
        f"/staff/appointments/{slot}/decline", data={"csrf_token": token, "decisionReason": "No"}
    )
    staff_client.post(f"/staff/slots/{other}/remove", data={"csrf_token": token})
    client.get("/appointment-slot")
    assert "query" in calls and "update_item" in calls
    assert "scan" not in calls


# -- availability ------------------------------------------------------------------------


def test_add_slots_for_a_range_and_remove_one(app, client, staff_client, now):
    token = page_token(staff_client, "/staff/slots")
    response = staff_client.post(
        "/staff/slots",
        data={
            "csrf_token": token,
            "start": "2030-06-03",
            "end": "2030-06-09",
            "times": "09:00,11:00",
            "skip_weekends": "y",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    # Mon 3rd to Sun 9th, weekdays only; 09:00 on the 3rd had already started.
    assert "Added 9 new slot(s)" in response.text
    listed = client.get("/appointment-slot").json
    assert len(listed) == 9 and listed[0]["appointmentId"] == "20300603-1100"
    again = staff_client.post(
        "/staff/slots",
        data={"csrf_token": token, "start": "2030-06-04", "times": "09:00"},
        follow_redirects=True,
    )
    assert "Added 0 new slot(s); 1 already existed" in again.text

    removed = staff_client.post("/staff/slots/20300604-0900/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert "20300604-0900" not in [s["appointmentId"] for s in client.get("/appointment-slot").json]


def test_add_slots_validates_input(staff_client):
    token = page_token(staff_client, "/staff/slots")
    for data in (
        {"start": "2030-06-04", "times": "9am"},
        {"start": "2030-06-04", "end": "2030-06-01", "times": "09:00"},
        {"start": "2030-06-04", "end": "2031-06-01", "times": "09:00"},
        {"start": "", "times": "09:00"},
    ):
        response = staff_client.post("/staff/slots", data={"csrf_token": token, **data})
        assert response.status_code == 400, data
        assert "error-summary" in response.text


def test_removing_a_booked_slot_is_409_and_keeps_the_booking(
    app, staff_client, now, add_slot, make_booking, store
):
    slot = add_slot("2030-06-04", "09:00")
    token = page_token(staff_client, "/staff/slots")
    make_booking(slot)  # booked between the page load and the click
    response = staff_client.post(f"/staff/slots/{slot}/remove", data={"csrf_token": token})
    assert response.status_code == 409
    assert "booked a moment ago" in response.text
    assert store.appointments.get(slot)["status"] == "PENDING"


# -- JSON API ------------------------------------------------------------------------------


def test_api_accept_decline_cancel(app, staff_account, now, add_slot, make_booking):
    api = app.test_client()
    first, second = add_slot("2030-06-04", "09:00"), add_slot("2030-06-04", "09:30")
    make_booking(first)
    make_booking(second)
    accepted = api.post(f"/api/staff/appointments/{first}/accept", json={}, headers=basic())
    assert accepted.status_code == 200
    assert accepted.json["appointment"]["status"] == "ACCEPTED"
    assert accepted.json["appointment"]["decidedBy"] == STAFF_EMAIL

    missing = api.post(f"/api/staff/appointments/{second}/decline", json={}, headers=basic())
    assert missing.status_code == 400 and "decisionReason" in missing.json["fields"]
    declined = api.post(
        f"/api/staff/appointments/{second}/decline",
        json={"decisionReason": "Fully booked"},
        headers=basic(),
    )
    assert declined.status_code == 200
    assert declined.json["appointment"]["decisionReason"] == "Fully booked"
    assert declined.json["timeReleased"] is True

    cancelled = api.post(f"/api/staff/appointments/{first}/cancel", json={}, headers=basic())
    assert cancelled.status_code == 200
    assert cancelled.json["appointment"]["cancelledBy"] == "staff"
    twice = api.post(f"/api/staff/appointments/{first}/cancel", json={}, headers=basic())
    assert twice.status_code == 409
    assert "Cache-Control" in twice.headers and twice.headers["Cache-Control"] == "no-store"


def test_staff_pages_show_request_times_in_the_clinic_zone(
    app, staff_client, now, add_slot, make_booking
):
    slot = add_slot("2030-06-05", "09:00")
    make_booking(slot)  # requested at 2030-06-03T00:00:00Z, 10:00 in Melbourne
    shown = '<time datetime="2030-06-03T00:00:00Z">Mon 3 Jun 2030, 10:00</time>'
    assert shown in staff_client.get("/staff/").text
    assert shown in staff_client.get(f"/staff/appointments/{slot}").text
