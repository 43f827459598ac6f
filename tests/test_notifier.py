"""The notification pipeline: stream records in, each email out exactly once.

Stream events are built from real item images (booked through the API) in the shape
the DynamoDB stream hands to Lambda; SES is moto's.
"""

from __future__ import annotations

import email
import logging
from email.policy import default as default_policy

import pytest
from botocore.exceptions import ClientError

from tests.helpers import booking_json
from tests.notification_helpers import (
    STAFF,
    FakeContext,
    book,
    decided,
    sent_emails,
    slot_image,
    store_item,
    stream_event,
    stream_record,
    subject,
)
from webapp.extensions import services
from webapp.notifications import send, worker
from webapp.store.table import STATUS_INDEX


def kinds_sent() -> list[tuple[str, str]]:
    """(recipient, first words of the subject) of every email SES accepted, in order."""
    return [(message["To"], subject(message)) for message in sent_emails()]


def dedup_record(app, item, kind):
    store = services(app).store
    return store.table.get(f"notification#{item['appointmentId']}#{item['requestedAt']}#{kind}")


def fail_sends_to(address: str):
    """Make SES refuse messages to one address (as it does e.g. in the sandbox)."""
    client = send.ses_client(worker._current_notifier().settings)

    def refuse(params, **_):
        if address.encode() in params["RawMessage"]["Data"]:
            raise ClientError(
                {"Error": {"Code": "MessageRejected", "Message": f"not verified: {address}"}},
                "SendRawEmail",
            )

    client.meta.events.register("before-parameter-build.ses.SendRawEmail", refuse)
    return lambda: client.meta.events.unregister("before-parameter-build.ses.SendRawEmail", refuse)


# -- stream records ----------------------------------------------------------------------
def test_insert_modify_and_remove_records(lambda_app, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    available = services(lambda_app).store.appointments.get(slot)
    item = book(lambda_app, slot)
    declined = decided(item, "DECLINED", decisionReason="Closed")
    result = worker.handle_stream(
        stream_event(
            stream_record("INSERT", None, available),  # a new slot: nothing to say
            stream_record("MODIFY", available, item),  # booked: patient + staff
            stream_record("MODIFY", item, declined),  # declined: patient
            stream_record("REMOVE", declined, None),  # a record removed: nothing
        ),
        FakeContext(),
    )
    assert result == {"batchItemFailures": []}
    assert [(to, text.split(":")[0]) for to, text in kinds_sent()] == [
        ("ada@example.com", "Test Clinic"),
        (STAFF, "New appointment request waiting"),
        ("ada@example.com", "Test Clinic"),
    ]
    assert "received" in kinds_sent()[0][1] and "could not confirm" in kinds_sent()[2][1]


def test_an_insert_of_a_pending_item_is_a_new_request(lambda_app, now):
    item = {
        "appointmentId": "walk-in-1",
        "appointmentDate": "2030-06-04",
        "appointmentTime": "11:00",
        "slotStart": "2030-06-04T11:00",
        "status": "PENDING",
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "requestedAt": "2030-06-03T00:00:00Z",
    }
    worker.handle_stream(stream_event(stream_record("INSERT", None, item)), FakeContext())
    assert [to for to, _ in kinds_sent()] == ["ada@example.com", STAFF]


def test_the_same_record_twice_sends_one_email(lambda_app, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    record = stream_record("MODIFY", item, decided(item, "ACCEPTED"))
    assert worker.handle_stream(stream_event(record, record), FakeContext()) == {
        "batchItemFailures": []
    }
    # ... and again in a later invocation (the event source redelivers a batch)
    assert worker.handle_stream(stream_event(record), FakeContext()) == {"batchItemFailures": []}
    assert len(sent_emails()) == 1

    claim = dedup_record(lambda_app, item, "accepted")
    assert "status" not in claim  # never in the status index
    assert claim["expiresAt"] == int(now.timestamp()) + 30 * 86400


def test_dedup_records_stay_out_of_the_status_index(lambda_app, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    worker.handle_stream(
        stream_event(stream_record("MODIFY", item, decided(item, "ACCEPTED"))), FakeContext()
    )
    store = services(lambda_app).store
    indexed = store.table.client.scan(TableName=store.table.name, IndexName=STATUS_INDEX)["Items"]
    assert all(not i["appointmentId"]["S"].startswith("notification#") for i in indexed)
    assert lambda_app.test_client().get("/appointment-slot").json == []


def test_out_of_order_and_stale_records_decide_from_their_own_images(lambda_app, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    accepted = decided(item, "ACCEPTED")
    cancelled = decided(accepted, "CANCELLED")
    accept_record = stream_record("MODIFY", item, accepted)
    cancel_record = stream_record("MODIFY", accepted, cancelled)

    # The cancellation arrives first, then the acceptance, then the acceptance again.
    worker.handle_stream(stream_event(cancel_record), FakeContext())
    worker.handle_stream(stream_event(accept_record), FakeContext())
    worker.handle_stream(stream_event(accept_record), FakeContext())
    assert [text.rsplit(" ", 1)[-1] for _, text in kinds_sent()] == ["cancelled", "confirmed"]

    # A record whose new image is not ACCEPTED never sends "accepted", whatever its old one.
    later = decided(cancelled, "CANCELLED", updatedAt="2030-06-03T00:09:00Z")
    touched = decided(accepted, "ACCEPTED", notes="Parking?")
    worker.handle_stream(
        stream_event(
            stream_record("MODIFY", cancelled, later),
            stream_record("MODIFY", accepted, touched),
            stream_record("REMOVE", accepted, None),
        ),
        FakeContext(),
    )
    assert len(sent_emails()) == 2


def test_a_failed_send_is_retried_alone_and_in_order(lambda_app, now, add_slot, caplog):
    ada = book(lambda_app, add_slot("2030-06-04", "09:00"))
    bob = book(lambda_app, add_slot("2030-06-04", "09:30"), patientEmail="bob@example.com")
    ada_accepted = decided(ada, "ACCEPTED")
    records = [
        stream_record("MODIFY", ada, ada_accepted),  # fails
        stream_record("MODIFY", bob, decided(bob, "ACCEPTED")),  # another item: goes on
        stream_record("MODIFY", ada_accepted, decided(ada_accepted, "CANCELLED")),  # held back
    ]
    restore = fail_sends_to("ada@example.com")
    with caplog.at_level(logging.INFO):
        result = worker.handle_stream(stream_event(*records), FakeContext())

    failed = [entry["itemIdentifier"] for entry in result["batchItemFailures"]]
    assert failed == [
        records[0]["dynamodb"]["SequenceNumber"],
        records[2]["dynamodb"]["SequenceNumber"],
    ]
    assert [to for to, _ in kinds_sent()] == ["bob@example.com"]
    assert dedup_record(lambda_app, ada, "accepted") is None  # the claim was released
    assert dedup_record(lambda_app, bob, "accepted") is not None
    assert "MessageRejected" in caplog.text
    assert "ada@example.com" not in caplog.text  # the error's message is not logged

    # The event source retries from the failed record: everything is sent, once.
    restore()
    retry = stream_event(*records)
    assert worker.handle_stream(retry, FakeContext()) == {"batchItemFailures": []}
    assert [(to, text.rsplit(" ", 1)[-1]) for to, text in kinds_sent()] == [
        ("bob@example.com", "confirmed"),
        ("ada@example.com", "confirmed"),
        ("ada@example.com", "cancelled"),
    ]


def test_a_failure_that_persists_goes_to_the_dead_letter_path(lambda_app, now, add_slot):
    # After its retries, the event source sends the failed records' batch to the on-failure
    # destination (SQS); every attempt reports the record and leaves no claim behind.
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    record = stream_record("MODIFY", item, decided(item, "DECLINED", decisionReason="x"))
    fail_sends_to("ada@example.com")
    for _attempt in range(3):
        result = worker.handle_stream(stream_event(record), FakeContext())
        assert result == {
            "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
        }
        assert dedup_record(lambda_app, item, "declined") is None
    assert sent_emails() == []


def test_near_the_time_limit_records_are_handed_back_unsent(lambda_app, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    record = stream_record("MODIFY", item, decided(item, "ACCEPTED"))
    result = worker.handle_stream(stream_event(record), FakeContext(remaining_millis=2_000))
    assert result == {
        "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
    }
    assert sent_emails() == []
    assert dedup_record(lambda_app, item, "accepted") is None


def test_no_staff_address_means_no_staff_email(lambda_app, now, add_slot, monkeypatch):
    monkeypatch.delenv("STAFF_NOTIFY_EMAIL")
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    worker.handle_stream(
        stream_event(stream_record("MODIFY", slot_image(item), item)), FakeContext()
    )
    assert [to for to, _ in kinds_sent()] == ["ada@example.com"]


# -- in-process path ---------------------------------------------------------------------
def test_booking_with_inline_notifications_fills_the_outbox(make_app, now, tmp_path):
    outbox = tmp_path / "outbox"
    app = make_app(OUTBOX_DIR=str(outbox), STAFF_NOTIFY_EMAIL=STAFF, NOTIFY_INLINE="true")
    services(app).store.appointments.put_slot("20300604-0900", "2030-06-04", "09:00", "t")
    response = app.test_client().post("/book-appointment", json=booking_json("20300604-0900"))
    assert response.status_code == 200

    messages = [
        email.message_from_bytes(path.read_bytes(), policy=default_policy)
        for path in sorted(outbox.glob("*.eml"))
    ]
    assert sorted(message["To"] for message in messages) == sorted(["ada@example.com", STAFF])
    subjects = " | ".join(subject(message) for message in messages)
    assert "we received your appointment request" in subjects
    assert "New appointment request waiting" in subjects


def test_a_failing_email_never_breaks_the_booking(make_app, now, tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    app = make_app(OUTBOX_DIR=str(blocked))
    services(app).store.appointments.put_slot("s1", "2030-06-04", "09:00", "t")
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post("/book-appointment", json=booking_json("s1"))
    assert response.status_code == 200
    assert services(app).store.appointments.get("s1")["status"] == "PENDING"
    assert "in-process notification failed" in caplog.text


def test_inline_notifications_can_be_switched_off(make_app, now, tmp_path):
    app = make_app(OUTBOX_DIR=str(tmp_path / "box"), NOTIFY_INLINE="false")
    services(app).store.appointments.put_slot("s1", "2030-06-04", "09:00", "t")
    assert app.test_client().post("/book-appointment", json=booking_json("s1")).status_code == 200
    assert not (tmp_path / "box").exists()


# -- reminders ---------------------------------------------------------------------------
@pytest.fixture
def appointments(lambda_app, now, add_slot):
    """Now is 2030-06-03 10:00 in Melbourne; reminders cover the next 24 hours."""

    def make(day, time, status, email):
        item = book(lambda_app, add_slot(day, time), patientEmail=email)
        if status != "PENDING":
            item = decided(item, status)
            store_item(lambda_app, item)
        return item

    return {
        "tomorrow": make("2030-06-04", "09:00", "ACCEPTED", "soon@example.com"),
        "edge": make("2030-06-04", "10:00", "ACCEPTED", "edge@example.com"),
        "pending": make("2030-06-04", "09:30", "PENDING", "pending@example.com"),
        "later": make("2030-06-04", "10:30", "ACCEPTED", "later@example.com"),
        "far": make("2030-06-20", "09:00", "ACCEPTED", "far@example.com"),
        "declined": make("2030-06-03", "15:00", "DECLINED", "declined@example.com"),
    }


def test_reminders_go_once_to_accepted_appointments_in_the_window(appointments, monkeypatch):
    first = worker.send_reminders({"source": "aws.events"}, FakeContext())
    second = worker.send_reminders({"source": "aws.events"}, FakeContext())
    assert first == {"sent": 2, "skipped": 0, "failed": 0}
    assert second == {"sent": 0, "skipped": 2, "failed": 0}
    messages = sent_emails()
    assert sorted(m["To"] for m in messages) == ["edge@example.com", "soon@example.com"]
    soon = next(m for m in messages if m["To"] == "soon@example.com")
    assert subject(soon) == (
        "Reminder: your appointment at Test Clinic on Tuesday 4 June 2030 at 09:00"
    )
    text = soon.get_body(preferencelist=("plain",)).get_content()
    assert "/manage/" in text and soon.get_body(preferencelist=("html",)) is not None


def test_a_missed_run_is_made_up_by_the_next(appointments, monkeypatch, now):
    from datetime import timedelta

    from webapp import clock

    assert worker.send_reminders({}, FakeContext())["sent"] == 2  # tomorrow 09:00 and 10:00
    # "later" (tomorrow 10:30) entered the window half an hour later, but the job did not
    # run again for five hours: that run still reminds it, and nobody twice.
    monkeypatch.setattr(clock, "utcnow", lambda: now + timedelta(hours=5))
    assert worker.send_reminders({}, FakeContext()) == {"sent": 1, "skipped": 2, "failed": 0}
    assert sorted(m["To"] for m in sent_emails()) == [
        "edge@example.com",
        "later@example.com",
        "soon@example.com",
    ]


def test_a_failed_reminder_fails_the_run_and_is_sent_by_the_next(appointments):
    restore = fail_sends_to("soon@example.com")
    with pytest.raises(RuntimeError, match="1 reminder"):
        worker.send_reminders({}, FakeContext())
    assert [m["To"] for m in sent_emails()] == ["edge@example.com"]
    restore()
    assert worker.send_reminders({}, FakeContext()) == {"sent": 1, "skipped": 1, "failed": 0}


def test_send_reminders_command(make_app, now, tmp_path):
    outbox = tmp_path / "outbox"
    app = make_app(OUTBOX_DIR=str(outbox), NOTIFY_INLINE="false")
    store = services(app).store
    store.appointments.put_slot("s1", "2030-06-04", "09:00", "t")
    item = book(app, "s1")
    store_item(app, decided(item, "ACCEPTED"))

    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-reminders"])
    assert first.exit_code == 0, first.output
    assert "1 sent" in first.output
    second = runner.invoke(args=["send-reminders"])
    assert "0 sent" in second.output
    [path] = outbox.glob("*-reminder-*.eml")
    assert "ada@example.com" in path.read_text()
