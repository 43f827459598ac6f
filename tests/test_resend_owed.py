"""Nothing lost after a day: `flask --app webapp resend-owed` recomputes from the table
what recent bookings owe and sends what was never sent, once."""

from __future__ import annotations

import base64
import email
from email.policy import default

import pytest

from tests.fake_ses import FakeSes
from tests.helpers import booking_json
from tests.notification_helpers import (
    LAMBDA_ENV,
    FakeContext,
    decided,
    slot_image,
    stream_event,
    stream_record,
)
from webapp.extensions import services
from webapp.notifications import worker
from webapp.notifications.decide import STAFF_NEW_REQUEST, Notice, decide, owed
from webapp.store.moves import moved_booking


@pytest.fixture
def ses_app(make_app, monkeypatch):
    """The notifier's environment with a stand-in SES, and a web app on the same table."""
    with FakeSes() as ses:
        env = {**LAMBDA_ENV, "SES_ENDPOINT_URL": ses.url, "SES_TIMEOUT_SECONDS": "0.5"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(worker, "_notifier", None)
        app = make_app(**env)
        app.fake_ses = ses
        yield app


def subjects(ses: FakeSes) -> list[str]:
    found = []
    for call in ses.calls:
        raw = base64.b64decode(call["RawMessage.Data"])
        found.append(
            " ".join(str(email.message_from_bytes(raw, policy=default)["Subject"]).split())
        )
    return found


def resend(app, *args):
    result = app.test_cli_runner().invoke(args=["resend-owed", *args])
    assert result.exit_code == 0, result.output
    return result.output


def no_scans(app):
    """Fail any Scan of the table while the command runs (it must use the indexes)."""
    client = services(app).store.table.client

    def refuse(**_):
        raise AssertionError("resend-owed must not Scan the table")

    client.meta.events.register("before-call.dynamodb.Scan", refuse)
    return lambda: client.meta.events.unregister("before-call.dynamodb.Scan", refuse)


def test_a_lost_email_is_sent_once_from_the_table(ses_app, now, add_slot):
    ses = ses_app.fake_ses
    slot = add_slot("2030-06-04", "09:00")
    assert (
        ses_app.test_client().post("/book-appointment", json=booking_json(slot)).status_code == 200
    )
    store = services(ses_app).store
    item = store.appointments.get(slot)
    # The booking's record reaches the notifier: request received + staff notice.
    worker.handle_stream(
        stream_event(stream_record("MODIFY", slot_image(item), item)), FakeContext()
    )
    assert len(ses.calls) == 2

    # Staff accept; SES is slow, the notifier gives the record back ... and the record
    # is never seen again (retries exhausted, 24 hours later the stream forgot it).
    services(ses_app).bookings.accept(slot, "doctor@clinic.example")
    accepted = store.appointments.get(slot)
    ses.delay_seconds = 2
    result = worker.handle_stream(
        stream_event(stream_record("MODIFY", item, accepted)), FakeContext()
    )
    assert result["batchItemFailures"]
    # The fake records a call when it arrives, before its delay: SES got the message,
    # but its answer came after the notifier's timeout, so the claim was released.
    assert len(ses.calls) == 3
    ses.delay_seconds = 0

    stop = no_scans(ses_app)
    try:
        output = resend(ses_app, "--since-hours", "72")
        assert "1 sent" in output
        # A second SES call for the same email: had SES accepted the one that timed out,
        # the patient gets "confirmed" twice (what the README says a timeout can mean).
        assert len(ses.calls) == 4
        assert subjects(ses)[-2:] == [subjects(ses)[-1]] * 2
        assert "is confirmed" in subjects(ses)[-1]
        # Again: everything owed has been sent.
        output = resend(ses_app)
        assert "0 sent" in output
        assert len(ses.calls) == 4
    finally:
        stop()


def test_only_the_window_and_only_what_is_unsent(ses_app, now, add_slot, monkeypatch):
    from datetime import timedelta

    from webapp import clock

    ses = ses_app.fake_ses
    old_slot = add_slot("2030-06-20", "09:00")
    # Requested four days ago; its emails were lost too, but it is outside a 72 h window.
    monkeypatch.setattr(clock, "utcnow", lambda: now - timedelta(days=4))
    ses_app.test_client().post("/book-appointment", json=booking_json(old_slot))
    monkeypatch.setattr(clock, "utcnow", lambda: now)
    new_slot = add_slot("2030-06-21", "09:00")
    ses_app.test_client().post("/book-appointment", json=booking_json(new_slot))

    assert "2 sent" in resend(ses_app, "--since-hours", "72")  # received + staff, new only
    assert len(ses.calls) == 2
    assert "2 sent" in resend(ses_app, "--since-hours", "120")  # now the older one too
    assert "0 sent" in resend(ses_app, "--since-hours", "120")


def test_the_window_is_validated(ses_app):
    result = ses_app.test_cli_runner().invoke(args=["resend-owed", "--since-hours", "0"])
    assert result.exit_code == 2
    result = ses_app.test_cli_runner().invoke(args=["resend-owed", "--since-hours", "9999"])
    assert result.exit_code == 2


def test_what_each_state_owes():
    base = {
        "appointmentId": "20300604-0900",
        "requestedAt": "2030-06-03T00:00:00Z",
        "patientEmail": "ada@example.com",
        "slotStart": "2030-06-04T09:00",
    }
    kinds = lambda item: [(n.kind, n.withdraws_event) for n in owed(item)]  # noqa: E731
    assert kinds({**base, "status": "PENDING"}) == [
        ("request-received", False),
        ("staff-new-request", False),
    ]
    assert kinds(decided({**base, "status": "PENDING"}, "ACCEPTED")) == [("accepted", False)]
    assert kinds(decided({**base, "status": "PENDING"}, "DECLINED")) == [("declined", False)]
    accepted = decided({**base, "status": "PENDING"}, "ACCEPTED")
    assert kinds(decided(accepted, "CANCELLED")) == [("cancelled", True)]
    assert kinds(decided({**base, "status": "PENDING"}, "CANCELLED")) == [("cancelled", False)]
    assert owed({**base, "status": "AVAILABLE"}) == []


def move_delivered_by_the_stream(ses_app, add_slot, *, deliver_move: bool):
    """Book, then move through the JSON self-service; the stream delivers the booking's
    emails, and the move's change (old item -> RESCHEDULED) only if `deliver_move`.
    Returns the old item after the move."""
    first = add_slot("2030-06-04", "09:00")
    second = add_slot("2030-06-05", "10:00")
    client = ses_app.test_client()
    booked = client.post("/book-appointment", json=booking_json(first))
    assert booked.status_code == 200, booked.json
    store = services(ses_app).store
    item = store.appointments.get(first)
    available = store.appointments.get(second)
    token = booked.json["manageUrl"].rsplit("/", 1)[1]
    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": second})
    assert moved.status_code == 200, moved.json
    left, claimed = store.appointments.get(first), store.appointments.get(second)
    assert left["status"] == "RESCHEDULED" and claimed["rescheduledFrom"] == first

    records = [
        stream_record("MODIFY", slot_image(item), item),
        stream_record("MODIFY", available, claimed),  # the claim: no email of its own
    ]
    if deliver_move:
        records.append(stream_record("MODIFY", item, left))
    worker.handle_stream(stream_event(*records), FakeContext())
    return left


def test_after_a_delivered_move_nothing_is_owed(ses_app, now, add_slot):
    ses = ses_app.fake_ses
    move_delivered_by_the_stream(ses_app, add_slot, deliver_move=True)
    # Received + staff notice for the booking; "moved" + staff notice for the move.
    assert len(ses.calls) == 4
    assert "moved to" in subjects(ses)[2]

    output = resend(ses_app, "--since-hours", "72")
    assert "0 sent" in output
    assert len(ses.calls) == 4  # no "request received" for the new time


def test_a_lost_move_email_is_sent_once_and_only_it(ses_app, now, add_slot):
    ses = ses_app.fake_ses
    left = move_delivered_by_the_stream(ses_app, add_slot, deliver_move=False)
    assert len(ses.calls) == 2
    # The move's staff notice did go out (as the stream would have sent it); the
    # patient's "moved" email was lost.
    notifier = worker._current_notifier()
    assert notifier.deliver(Notice(STAFF_NEW_REQUEST, moved_booking(left)))
    assert len(ses.calls) == 3

    output = resend(ses_app, "--since-hours", "72")
    assert "1 sent" in output
    assert len(ses.calls) == 4
    raw = base64.b64decode(ses.calls[-1]["RawMessage.Data"])
    message = email.message_from_bytes(raw, policy=default)
    assert "moved to Wednesday 5 June 2030 at 10:00" in subjects(ses)[-1]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "from Tuesday 4 June 2030 at 09:00" in text  # as the move's own email says
    assert message["To"] == "ada@example.com"
    assert "0 sent" in resend(ses_app, "--since-hours", "72")
    assert len(ses.calls) == 4


def test_a_moved_booking_owes_what_its_move_meant(ses_app, now, add_slot):
    left = move_delivered_by_the_stream(ses_app, add_slot, deliver_move=False)
    claimed = services(ses_app).store.appointments.get(left["rescheduledTo"])
    # What the stream decides for the move: the old item's change to RESCHEDULED.
    from_the_move = decide({**left, "status": "PENDING"}, left)
    owes = owed(claimed)
    assert [n.kind for n in owes] == ["rescheduled", "staff-new-request"]
    assert [n.dedup_key for n in owes] == [n.dedup_key for n in from_the_move]
    # ... and the same email: moved from the old time, into the same calendar state.
    for name in ("previousDate", "previousTime", "inCalendar", "appointmentId"):
        assert owes[0].item[name] == from_the_move[0].item[name]
