"""What each email says and how it travels: content, calendar file, back-ends, settings."""

from __future__ import annotations

import email
import logging
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest

from tests.notification_helpers import (
    BASE_URL,
    MAIL_FROM,
    STAFF,
    book,
    calendar_attachment,
    decided,
    parts,
    sent_emails,
    slot_image,
    stream_event,
    stream_record,
    subject,
)
from webapp import manage_links
from webapp.extensions import services
from webapp.notifications import worker
from webapp.notifications.decide import decide
from webapp.settings import ConfigError, load_settings

MELBOURNE = ZoneInfo("Australia/Melbourne")


def by_recipient(messages):
    return {message["To"]: message for message in messages}


# -- which emails a change means ---------------------------------------------------------
PENDING_ITEM = {
    "appointmentId": "20300604-0900",
    "appointmentDate": "2030-06-04",
    "appointmentTime": "09:00",
    "slotStart": "2030-06-04T09:00",
    "status": "PENDING",
    "patientName": "Ada Lovelace",
    "patientEmail": "ada@example.com",
    "requestedAt": "2030-06-03T00:00:00Z",
}
SLOT = {key: PENDING_ITEM[key] for key in ("appointmentId", "slotStart")} | {
    "appointmentDate": "2030-06-04",
    "appointmentTime": "09:00",
    "status": "AVAILABLE",
}


def image(status: str, **extra):
    return {**PENDING_ITEM, "status": status, **extra}


@pytest.mark.parametrize(
    "old, new, kinds",
    [
        (None, image("PENDING"), ["request-received", "staff-new-request"]),
        (SLOT, image("PENDING"), ["request-received", "staff-new-request"]),
        (image("PENDING"), image("ACCEPTED"), ["accepted"]),
        (image("PENDING"), image("DECLINED"), ["declined"]),
        (image("PENDING"), image("CANCELLED"), ["cancelled"]),
        (image("ACCEPTED"), image("CANCELLED"), ["cancelled"]),
        (None, SLOT, []),  # a new AVAILABLE slot
        (SLOT, None, []),  # a slot removed
        (image("DECLINED"), None, []),  # a record removed
        (image("ACCEPTED"), image("ACCEPTED", notes="x"), []),  # no status change
        (image("PENDING"), image("PENDING", notes="x"), []),
        (image("ACCEPTED"), image("DECLINED"), []),  # not a transition the app makes
        (image("DECLINED"), image("ACCEPTED"), []),
        (image("CANCELLED"), image("CANCELLED"), []),
        # a different booking request of the same slot is not "this request accepted"
        (image("PENDING", requestedAt="2030-06-01T00:00:00Z"), image("ACCEPTED"), []),
        # de-duplication records (no status) and anything without a booking
        (None, {"appointmentId": "notification#x#y#accepted", "expiresAt": 1}, []),
    ],
)
def test_decide_maps_each_change_to_its_emails(old, new, kinds):
    assert [notice.kind for notice in decide(old, new)] == kinds


def test_accepted_is_never_decided_unless_the_new_image_is_accepted():
    statuses = ["AVAILABLE", "PENDING", "ACCEPTED", "DECLINED", "CANCELLED"]
    for old in statuses:
        for new in statuses:
            kinds = [n.kind for n in decide(image(old), image(new))]
            assert ("accepted" in kinds) == (old == "PENDING" and new == "ACCEPTED")


# -- content (sent through the notifier Lambda and moto's SES) ---------------------------
def test_request_received_and_staff_emails(lambda_app, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    item = book(lambda_app, slot, patientName="Ada <b>Lovelace</b>", notes="Knee & back")
    result = worker.handle_stream(
        stream_event(stream_record("MODIFY", slot_image(item), item)), None
    )
    assert result == {"batchItemFailures": []}

    messages = by_recipient(sent_emails())
    assert set(messages) == {"ada@example.com", STAFF}

    patient = messages["ada@example.com"]
    assert subject(patient) == (
        "Test Clinic: we received your appointment request for Tuesday 4 June 2030 at 09:00"
    )
    assert patient["From"].addresses[0].addr_spec == MAIL_FROM
    assert patient["From"].addresses[0].display_name == "Test Clinic"
    assert patient["Reply-To"] == STAFF
    text, html = parts(patient)
    assert "Tuesday 4 June 2030 at 09:00 (Australia/Melbourne time)" in text
    # The first email to an unverified address holds nothing the requester typed.
    for typed in ("Ada", "Lovelace", "Knee"):
        assert typed not in text and typed not in html
    assert "If you did not ask for this, cancel it here" in text
    token = text.split(f"{BASE_URL}/manage/", 1)[1].split()[0]
    assert manage_links.read_token(services(lambda_app).settings, token) == (
        slot,
        item["requestedAt"],
    )
    assert f"{BASE_URL}/manage/{token}" in html
    assert f"{BASE_URL}/manage/{token}/cancel" in text and f"/manage/{token}/cancel" in html
    assert list(patient.iter_attachments()) == []

    staff = messages[STAFF]
    assert subject(staff) == "New appointment request waiting: Tuesday 4 June 2030 at 09:00"
    text, html = parts(staff)
    assert f"{BASE_URL}/staff/" in text and f"{BASE_URL}/staff/" in html
    assert "ada@example.com" in text and "Knee & back" in text
    assert "Knee &amp; back" in html
    assert "Ada <b>Lovelace</b>" in text  # plain text is not escaped
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html  # HTML is
    assert "/manage/" not in text  # the patient's private link is not the clinic's


def test_accepted_email_carries_a_calendar_invitation(lambda_app, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    item = book(lambda_app, slot)
    accepted = decided(item, "ACCEPTED")
    worker.handle_stream(stream_event(stream_record("MODIFY", item, accepted)), None)

    [message] = sent_emails()
    assert message["To"] == "ada@example.com"
    assert (
        subject(message)
        == "Test Clinic: your appointment on Tuesday 4 June 2030 at 09:00 is confirmed"
    )
    text, html = parts(message)
    assert "confirmed" in text and "confirmed" in html
    assert "Tuesday 4 June 2030 at 09:00" in text and "Tuesday 4 June 2030 at 09:00" in html
    assert f"{BASE_URL}/manage/" in text

    calendar, attachment = calendar_attachment(message)
    assert attachment.get_param("method") == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.events
    start = event.decoded("DTSTART")
    assert start == datetime(2030, 6, 4, 9, 0, tzinfo=MELBOURNE)
    assert start.tzinfo.key == "Australia/Melbourne"
    assert start.astimezone(UTC) == datetime(2030, 6, 3, 23, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - start == timedelta(minutes=30)
    assert str(event["UID"]) == f"{slot}-{item['requestedAt']}@clinic.example"
    assert event["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == f"mailto:{MAIL_FROM}"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Australia/Melbourne"]


def test_cancelling_an_accepted_appointment_withdraws_the_calendar_event(lambda_app, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    item = book(lambda_app, slot)
    accepted = decided(item, "ACCEPTED")
    cancelled = decided(accepted, "CANCELLED")
    worker.handle_stream(
        stream_event(
            stream_record("MODIFY", item, accepted), stream_record("MODIFY", accepted, cancelled)
        ),
        None,
    )
    invitation, cancellation = sent_emails()
    assert subject(cancellation) == (
        "Test Clinic: your appointment on Tuesday 4 June 2030 at 09:00 is cancelled"
    )
    text, html = parts(cancellation)
    assert "As you asked" in text and "As you asked" in html
    assert f"{BASE_URL}/" in text
    first, _ = calendar_attachment(invitation)
    second, attachment = calendar_attachment(cancellation)
    assert attachment.get_param("method") == "CANCEL"
    assert second["METHOD"] == "CANCEL"
    [before], [after] = first.events, second.events
    assert after["UID"] == before["UID"]  # the same event ...
    assert after["SEQUENCE"] > before["SEQUENCE"]  # ... in a newer version
    assert str(after["STATUS"]) == "CANCELLED"


def test_cancelled_pending_request_and_declined_request(lambda_app, now, add_slot):
    first = book(lambda_app, add_slot("2030-06-04", "09:00"))
    second = book(lambda_app, add_slot("2030-06-04", "09:30"), patientEmail="bob@example.com")
    worker.handle_stream(
        stream_event(
            stream_record("MODIFY", first, decided(first, "CANCELLED", cancelledBy="staff")),
            stream_record(
                "MODIFY",
                second,
                decided(second, "DECLINED", decisionReason="The doctor is <away> that day."),
            ),
        ),
        None,
    )
    messages = by_recipient(sent_emails())

    cancelled = messages["ada@example.com"]
    text, _ = parts(cancelled)
    assert "has been cancelled" in text and "As you asked" not in text
    assert list(cancelled.iter_attachments()) == []  # never accepted: no calendar entry

    declined = messages["bob@example.com"]
    assert subject(declined) == (
        "Test Clinic: we could not confirm your appointment request for "
        "Tuesday 4 June 2030 at 09:30"
    )
    text, html = parts(declined)
    assert "The doctor is <away> that day." in text
    assert "The doctor is &lt;away&gt; that day." in html
    assert f"{BASE_URL}/\n" in text  # book another time
    assert f'href="{BASE_URL}/"' in html
    assert "/manage/" not in text


def test_times_are_in_the_clinics_zone_across_daylight_saving(make_app, monkeypatch, now):
    # New York, a slot on the first day of summer time: 09:00 EDT is 13:00 UTC.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setattr(worker, "_notifier", None)
    settings = load_settings(
        {"APP_ENV": "test", "CLINIC_TIMEZONE": "America/New_York", "PUBLIC_BASE_URL": BASE_URL}
    )
    from webapp.notifications.decide import Notice
    from webapp.notifications.render import render

    item = image("ACCEPTED", appointmentDate="2031-03-09", slotStart="2031-03-09T09:00")
    message = render(settings, Notice("accepted", item))
    message = email.message_from_bytes(message.as_bytes(), policy=default_policy)
    calendar, _ = calendar_attachment(message)
    [event] = calendar.events
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2031, 3, 9, 13, 0, tzinfo=UTC)
    assert "America/New_York" in parts(message)[0]


# -- back-ends ---------------------------------------------------------------------------
def test_outbox_writes_a_readable_eml_and_logs_no_patient_data(
    make_app, now, add_slot, tmp_path, caplog
):
    outbox = tmp_path / "mail"
    app = make_app(OUTBOX_DIR=str(outbox), STAFF_NOTIFY_EMAIL=STAFF)
    settings = services(app).settings
    assert settings.email_backend == "outbox" and settings.notify_inline
    slot_id = "20300604-0900"
    services(app).store.appointments.put_slot(slot_id, "2030-06-04", "09:00", "t")
    item = book(app, slot_id, patientName="Ada Lovelace")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="webapp"):
        worker.process_change(settings, item, decided(item, "ACCEPTED"))

    [path] = sorted(outbox.glob("*-accepted-*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["To"] == "ada@example.com"
    text, html = parts(message)
    assert "Dear Ada Lovelace" in text and "Dear Ada Lovelace" in html
    calendar_attachment(message)

    [line] = [r.getMessage() for r in caplog.records if "outbox" in r.getMessage()]
    assert "accepted" in line and slot_id in line and path.name in line
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ada@example.com" not in logged and "Lovelace" not in logged


def test_console_backend_logs_the_message(make_settings, now, caplog):
    from webapp.notifications.decide import Notice
    from webapp.notifications.render import render
    from webapp.notifications.send import send

    settings = make_settings(EMAIL_BACKEND="console")
    notice = Notice("reminder", image("ACCEPTED"))
    with caplog.at_level(logging.INFO, logger="webapp"):
        send(settings, render(settings, notice), notice)
    assert "Reminder: your appointment at Test Clinic" in caplog.text


def test_no_staff_email_without_a_staff_address(make_app, now, tmp_path):
    app = make_app(OUTBOX_DIR=str(tmp_path / "box"))
    assert services(app).settings.staff_notify_email is None
    services(app).store.appointments.put_slot("s1", "2030-06-04", "09:00", "t")
    book(app, "s1")
    files = [path.name for path in (tmp_path / "box").iterdir()]
    assert len(files) == 1 and "request-received" in files[0]


# -- settings ----------------------------------------------------------------------------
def test_notification_settings_defaults():
    local = load_settings({"APP_ENV": "local"})
    assert local.email_backend == "outbox"
    assert local.notify_inline is True
    assert local.mail_from == "bookings@clinic.localhost"
    assert local.public_base_url == "http://127.0.0.1:5000"
    assert (local.reminder_hours_before, local.appointment_minutes) == (24, 30)
    assert local.outbox_dir == ".local/outbox"
    assert local.staff_notify_email is None

    production = load_settings(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 40,
            "MAIL_FROM": MAIL_FROM,
            "PUBLIC_BASE_URL": "https://clinic.example/",
        }
    )
    assert production.email_backend == "ses"
    assert production.notify_inline is False
    assert production.public_base_url == "https://clinic.example"


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"EMAIL_BACKEND": "ses"}, "MAIL_FROM"),
        ({"EMAIL_BACKEND": "smtp"}, "EMAIL_BACKEND"),
        ({"EMAIL_BACKEND": "outbox", "MAIL_FROM": "not an address"}, "MAIL_FROM"),
        ({"STAFF_NOTIFY_EMAIL": "desk@"}, "STAFF_NOTIFY_EMAIL"),
        ({"PUBLIC_BASE_URL": "clinic.example"}, "PUBLIC_BASE_URL"),
        ({"REMINDER_HOURS_BEFORE": "soon"}, "REMINDER_HOURS_BEFORE"),
        ({"REMINDER_HOURS_BEFORE": "0"}, "REMINDER_HOURS_BEFORE"),
        ({"APPOINTMENT_MINUTES": "2000"}, "APPOINTMENT_MINUTES"),
        ({"NOTIFY_INLINE": "maybe"}, "NOTIFY_INLINE"),
    ],
)
def test_bad_notification_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings({"APP_ENV": "local", **env})


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"MAIL_FROM": MAIL_FROM}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": BASE_URL}, "MAIL_FROM"),
        (
            {"MAIL_FROM": MAIL_FROM, "PUBLIC_BASE_URL": BASE_URL, "EMAIL_BACKEND": "console"},
            "EMAIL_BACKEND",
        ),
    ],
)
def test_production_requires_a_sender_and_a_public_address(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings({"APP_ENV": "production", "SECRET_KEY": "x" * 40, **env})
