"""Every absolute link the app makes is on PUBLIC_BASE_URL, whatever Host the request
claims: the JSON manageUrl, the manage page, the emails and calendar UIDs."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.helpers import booking_json, csrf_token
from tests.notification_helpers import calendar_attachment, parts
from webapp import links
from webapp.settings import load_settings

BASE = "https://book.clinic.example"
SPOOFED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


def test_links_ignore_a_spoofed_host_header(make_app, now, add_slot, tmp_path):
    import email
    from email.policy import default

    app = make_app(PUBLIC_BASE_URL=BASE, STAFF_NOTIFY_EMAIL="desk@clinic.example")
    client = app.test_client()
    slot = add_slot("2030-06-04", "09:00")

    booked = client.post("/book-appointment", json=booking_json(slot), headers=SPOOFED)
    assert booked.status_code == 200, booked.json
    manage = booked.json["manageUrl"]
    assert manage.startswith(f"{BASE}/manage/")

    page = client.get(urlsplit(manage).path, headers=SPOOFED)
    assert page.status_code == 200
    assert manage in page.text and "evil.example" not in page.text

    # The request-received email (outbox) carries the same link.
    outbox = sorted((tmp_path / "outbox").glob("*.eml"))
    assert outbox
    for path in outbox:
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        text, html = parts(message)
        assert "evil.example" not in text + html
    received = [p for p in outbox if "request-received" in p.name]
    text, _ = parts(email.message_from_bytes(received[0].read_bytes(), policy=default))
    assert manage in text


def test_the_form_booking_shows_the_configured_link(make_app, now, add_slot):
    app = make_app(PUBLIC_BASE_URL=BASE)
    client = app.test_client()
    slot = add_slot("2030-06-04", "09:00")
    form = client.get(f"/book/{slot}", headers=SPOOFED)
    data = {
        "csrf_token": csrf_token(form.text),
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
    }
    response = client.post(f"/book/{slot}", data=data, headers=SPOOFED)
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=SPOOFED)
    assert f'href="{BASE}/manage/' in page.text and "evil.example" not in page.text


def test_calendar_uids_use_the_configured_host(lambda_app, now, add_slot):
    from tests.notification_helpers import (
        FakeContext,
        book,
        decided,
        sent_emails,
        stream_event,
        stream_record,
    )
    from webapp.notifications import worker

    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    worker.handle_stream(
        stream_event(stream_record("MODIFY", item, decided(item, "ACCEPTED"))), FakeContext()
    )
    (message,) = sent_emails()
    calendar, _ = calendar_attachment(message)
    (event,) = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert str(event["uid"]).endswith("@clinic.example")  # PUBLIC_BASE_URL's host
    assert str(event["url"]).startswith("https://clinic.example/manage/")


def test_the_manage_path_is_the_manage_route(app):
    settings = load_settings({"APP_ENV": "test", "PUBLIC_BASE_URL": BASE})
    adapter = app.url_map.bind("x")
    path = urlsplit(links.manage_url(settings, "tok.en-1")).path
    assert adapter.match(path) == ("pages.manage", {"token": "tok.en-1"})
