"""The SES call itself: the configuration set on every message, one attempt per message
with a short timeout inside the invocation's time, against a stand-in SES on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.fake_ses import FakeSes
from tests.notification_helpers import (
    FakeContext,
    book,
    decided,
    stream_event,
    stream_record,
)
from webapp.extensions import services
from webapp.notifications import worker
from webapp.settings import ConfigError, load_settings


@pytest.fixture
def fake_ses(lambda_app, monkeypatch):
    """The notifier's SES client pointed at a stand-in; `.delay_seconds` makes it slow."""
    with FakeSes() as ses:
        monkeypatch.setenv("SES_ENDPOINT_URL", ses.url)
        monkeypatch.setenv("SES_CONFIGURATION_SET", "clinic-appointments-test")
        monkeypatch.setenv("SES_TIMEOUT_SECONDS", "0.5")
        monkeypatch.setattr(worker, "_notifier", None)
        yield ses


def claim(app, item, kind):
    store = services(app).store
    return store.table.get(f"notification#{item['appointmentId']}#{item['requestedAt']}#{kind}")


def test_every_message_carries_the_configuration_set(lambda_app, fake_ses, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    record = stream_record("MODIFY", item, decided(item, "ACCEPTED"))
    assert worker.handle_stream(stream_event(record), FakeContext()) == {"batchItemFailures": []}
    assert fake_ses.sent_actions() == ["SendRawEmail"]
    assert fake_ses.calls[0]["ConfigurationSetName"] == "clinic-appointments-test"


def test_a_slow_ses_is_tried_once_and_the_message_handed_back(lambda_app, fake_ses, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    record = stream_record("MODIFY", item, decided(item, "ACCEPTED"))
    fake_ses.delay_seconds = 2  # answers, but only after the client's 0.5 s read timeout
    result = worker.handle_stream(stream_event(record), FakeContext())
    sequence = record["dynamodb"]["SequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    assert fake_ses.sent_actions() == ["SendRawEmail"]  # one attempt, not four
    assert claim(lambda_app, item, "accepted") is None  # released: the retry may send it

    fake_ses.delay_seconds = 0  # SES recovers; the event source retries the record
    assert worker.handle_stream(stream_event(record), FakeContext()) == {"batchItemFailures": []}
    assert fake_ses.sent_actions() == ["SendRawEmail", "SendRawEmail"]
    assert claim(lambda_app, item, "accepted") is not None


class RunningOutContext(FakeContext):
    """A Lambda context whose remaining time drops to `then` after `reads` readings."""

    def __init__(self, reads: int, first: int, then: int):
        super().__init__(first)
        self.reads, self.then = reads, then

    def get_remaining_time_in_millis(self) -> int:
        self.reads -= 1
        return self.remaining_millis if self.reads >= 0 else self.then


def test_no_send_starts_that_could_outlast_the_invocation(lambda_app, fake_ses, now, add_slot):
    item = book(lambda_app, add_slot("2030-06-04", "09:00"))
    booked = stream_record("MODIFY", {**item, "status": "AVAILABLE"}, item)
    # Time for the record and its first email (two readings), then 1.5 s left: less than
    # one SES call may take (0.5 s connect + 0.5 s read + margin), so the staff email
    # must not start.
    result = worker.handle_stream(stream_event(booked), RunningOutContext(2, 20_000, 1_500))
    assert result["batchItemFailures"]  # handed back
    assert len(fake_ses.calls) == 1  # the patient's email went; the staff one did not start
    assert claim(lambda_app, item, "request-received") is not None
    assert claim(lambda_app, item, "staff-new-request") is None
    # The retry sends only what is missing.
    assert worker.handle_stream(stream_event(booked), FakeContext()) == {"batchItemFailures": []}
    assert len(fake_ses.calls) == 2


@pytest.mark.parametrize(
    "env",
    [
        {"SES_CONFIGURATION_SET": "has spaces"},
        {"SES_CONFIGURATION_SET": "x" * 65},
        {"SES_ENDPOINT_URL": "localhost:9999"},
        {"SES_TIMEOUT_SECONDS": "0"},
        {"SES_TIMEOUT_SECONDS": "60"},
    ],
)
def test_malformed_ses_settings_fail_naming_the_variable(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        load_settings({"APP_ENV": "test", **env})
