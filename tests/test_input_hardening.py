"""Input and output details: deeply nested JSON, invisible characters, responses that must
not be stored, and where the client's address comes from."""

from __future__ import annotations

import pytest

from tests.helpers import STAFF_EMAIL, STAFF_PASSWORD, booking_json, csrf_token
from webapp.settings import ConfigError, load_settings

SLOT = "20300604-0900"
NESTED = "[" * 30000


@pytest.fixture
def slot(add_slot, now):
    return add_slot("2030-06-04", "09:00")


# -- deeply nested JSON --------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_on_booking(client, slot, caplog):
    response = client.post(
        "/book-appointment", data=NESTED, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.is_json and response.json["error"]
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_deeply_nested_json_is_a_400_on_the_staff_api(client, staff_account, slot, make_booking):
    import base64

    make_booking(slot)
    credentials = base64.b64encode(f"{STAFF_EMAIL}:{STAFF_PASSWORD}".encode()).decode()
    response = client.post(
        f"/api/staff/appointments/{slot}/accept",
        data=NESTED,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 400 and response.is_json


# -- invisible characters -------------------------------------------------------------------

INVISIBLE = {
    "NUL": "\x00",
    "right-to-left override": "\u202e",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "line separator": "\u2028",
    "escape": "\x1b",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_refused_in_names_and_notes(client, slot, char):
    for field in ("patientName", "notes"):
        body = booking_json(slot, **{field: f"Ada{char}Lovelace"})
        response = client.post("/book-appointment", json=body)
        assert response.status_code == 400, field
        assert "invisible" in response.json["fields"][field][0]


def test_the_form_refuses_them_too_with_a_field_error(client, slot):
    page = client.get(f"/book/{slot}")
    data = {
        "csrf_token": csrf_token(page.text),
        "patientName": "Ada \u202eecalevoL",
        "patientEmail": "ada@example.com",
        "notes": "",
    }
    response = client.post(f"/book/{slot}", data=data)
    assert response.status_code == 400
    assert "invisible or control characters" in response.text


def test_notes_keep_line_breaks_tabs_and_ordinary_text(client, slot, store):
    notes = "First line\r\nSecond\tline — café, 日本語, emoji 🙂"
    response = client.post(
        "/book-appointment", json=booking_json(slot, patientName="Zoë O'Brien", notes=notes)
    )
    assert response.status_code == 200
    assert store.appointments.get(slot)["notes"] == notes


# -- never stored ---------------------------------------------------------------------------


def test_the_json_booking_response_is_not_stored(client, slot):
    response = client.post("/book-appointment", json=booking_json(slot))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_form_reshown_with_errors_is_not_stored(client, slot):
    page = client.get(f"/book/{slot}")
    data = {
        "csrf_token": csrf_token(page.text),
        "patientName": "Ada Lovelace",
        "patientEmail": "not an address",
        "notes": "private",
    }
    response = client.post(f"/book/{slot}", data=data)
    assert response.status_code == 400 and "private" in response.text
    assert response.headers["Cache-Control"] == "no-store"


# -- the client's address ------------------------------------------------------------------


def booking_attempts(app, slot, headers, environ):
    client = app.test_client()
    return [
        client.post(
            "/book-appointment",
            json=booking_json(slot, patientEmail=f"p{n}@example.com"),
            headers=headers,
            environ_base=environ,
        ).status_code
        for n in range(3)
    ]


def test_x_forwarded_for_from_the_client_never_changes_its_address(make_app, now):
    app = make_app(BOOKING_RATE_LIMIT="2")
    environ = {"REMOTE_ADDR": "198.51.100.7"}
    statuses = [
        app.test_client()
        .post(
            "/book-appointment",
            json=booking_json("20300604-0900", patientEmail=f"p{n}@example.com"),
            headers={"X-Forwarded-For": f"10.0.0.{n}"},
            environ_base=environ,
        )
        .status_code
        for n in range(3)
    ]
    assert statuses[2] == 429  # three "different" forwarded addresses, one client


def test_a_configured_proxy_header_gives_each_viewer_its_own_limit(make_app, now):
    app = make_app(BOOKING_RATE_LIMIT="2", TRUSTED_CLIENT_IP_HEADER="CloudFront-Viewer-Address")
    proxy = {"REMOTE_ADDR": "130.176.0.1"}  # every request arrives from the proxy

    def attempt(viewer, n):
        return (
            app.test_client()
            .post(
                "/book-appointment",
                json=booking_json("20300604-0900", patientEmail=f"v{n}@example.com"),
                headers={"CloudFront-Viewer-Address": viewer, "X-Forwarded-For": "10.9.9.9"},
                environ_base=proxy,
            )
            .status_code
        )

    first = [attempt(f"198.51.100.7:{40000 + n}", n) for n in range(3)]
    assert first[2] == 429  # one viewer, whatever its source port
    assert attempt("203.0.113.5:5000", 9) != 429  # another viewer has its own budget
    assert attempt("[2001:db8::1]:443", 10) != 429
    assert attempt("2001:db8::2:443", 11) != 429


@pytest.mark.parametrize("name", ["X-Forwarded-For", "forwarded", "X-Real-IP", "bad header"])
def test_client_settable_headers_cannot_be_configured(name):
    with pytest.raises(ConfigError, match="TRUSTED_CLIENT_IP_HEADER"):
        load_settings({"APP_ENV": "test", "TRUSTED_CLIENT_IP_HEADER": name})
