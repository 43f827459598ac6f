"""Patient-data retention: bookings older than PATIENT_DATA_RETENTION_DAYS lose their
patient fields (daily function and CLI), everything younger is left alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp import clock, retention
from webapp.extensions import services
from webapp.store.appointments import PatientDetails
from webapp.store.erasure import PATIENT_FIELDS
from webapp.store.open_requests import OpenRequests


def set_clock(monkeypatch, *args):
    moment = datetime(*args, tzinfo=UTC)
    monkeypatch.setattr(clock, "utcnow", lambda: moment)


@pytest.fixture
def history(app, add_slot, monkeypatch):
    """Bookings made in 2029 for three appointments: one long past at the frozen "now"
    (2030-06-03), one just inside the 365 days, one still ahead."""
    service = services(app)
    set_clock(monkeypatch, 2029, 1, 1)
    made = {}
    for name, day in (("old", "2029-02-01"), ("recent", "2029-06-10"), ("future", "2030-07-01")):
        slot = add_slot(day, "09:00")
        patient = PatientDetails(f"Pat {name}", f"{name}@example.com", f"notes {name}", "sub")
        made[name] = service.bookings.book(slot, patient)
    service.bookings.accept(made["old"]["appointmentId"], "doctor@clinic.example")
    return made


def test_the_cli_clears_only_bookings_older_than_the_retention_period(app, history, now, store):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge-patient-data"])
    assert result.exit_code == 0, result.output
    assert "Cleared the patient details of 1 booking(s)" in result.output
    assert "before 2029-06-03 10:00 (365 days' retention)" in result.output

    old = store.table.get(history["old"]["appointmentId"])
    assert not set(PATIENT_FIELDS) & set(old)
    # The clinic's non-personal record stays.
    assert old["status"] == "ACCEPTED"
    assert old["appointmentDate"] == "2029-02-01" and old["appointmentTime"] == "09:00"
    assert old["decidedBy"] == "doctor@clinic.example" and old["decidedAt"]
    assert old["patientDataErasedAt"] == "2030-06-03T00:00:00Z"
    for name in ("recent", "future"):
        kept = store.table.get(history[name]["appointmentId"])
        assert kept["patientName"] == f"Pat {name}" and kept["notes"] == f"notes {name}"

    # Idempotent: a second run clears nothing, with or without the watermark.
    assert "of 0 booking(s)" in runner.invoke(args=["purge-patient-data"]).output
    assert "of 0 booking(s)" in runner.invoke(args=["purge-patient-data", "--all"]).output


def test_the_open_request_counter_entry_goes_with_the_booking(app, history, now, store):
    old_key = OpenRequests.key("old@example.com")
    assert store.table.get(old_key)["entries"]
    recent_key = OpenRequests.key("recent@example.com")
    with app.app_context():
        assert retention.current().purge() == 1
    assert store.table.get(old_key) is None  # its only entry: the counter is gone
    assert history["recent"]["appointmentId"] in store.table.get(recent_key)["entries"]


def test_old_suppressions_go_with_old_bookings_and_new_ones_expire(app, history, now, store):
    store.suppressions.suppress("old@example.com", "bounce", "2029-01-05T00:00:00Z")
    store.suppressions.suppress("recent@example.com", "bounce", "2029-12-01T00:00:00Z")
    with app.app_context():
        retention.current().purge()
    assert store.suppressions.get("old@example.com") is None
    assert store.suppressions.get("recent@example.com") is not None


def test_moving_the_clock_clears_each_booking_in_its_turn(app, history, monkeypatch, store):
    with app.app_context():
        service = retention.current()
        set_clock(monkeypatch, 2030, 6, 3)
        assert service.purge() == 1
        set_clock(monkeypatch, 2030, 6, 20)  # 2029-06-10 is now more than 365 days ago
        assert service.purge() == 1
        set_clock(monkeypatch, 2031, 7, 2)
        assert service.purge() == 1
    for item in history.values():
        assert "patientEmail" not in store.table.get(item["appointmentId"])


def test_a_longer_retention_keeps_more(make_app, add_slot, monkeypatch):
    app = make_app(PATIENT_DATA_RETENTION_DAYS="730")
    set_clock(monkeypatch, 2029, 1, 1)
    slot = add_slot("2029-02-01", "09:00")
    services(app).bookings.book(slot, PatientDetails("Pat", "pat@example.com"))
    set_clock(monkeypatch, 2030, 6, 3)
    result = app.test_cli_runner().invoke(args=["purge-patient-data"])
    assert "of 0 booking(s)" in result.output


def test_the_scheduled_handler_runs_the_purge(app, history, now, store, monkeypatch):
    service = services(app)
    purge = retention.PatientData(service.settings, service.store, service.bookings, service.cache)
    monkeypatch.setattr(retention, "_service", purge)
    assert retention.handle_purge({}, None) == {"cleared": 1}
    assert retention.handle_purge({}, None) == {"cleared": 0}
    assert "patientName" not in store.table.get(history["old"]["appointmentId"])


def test_the_purge_logs_no_patient_data(app, history, now, caplog):
    caplog.set_level("DEBUG")
    with app.app_context():
        retention.current().purge()
    assert "1 booking(s) cleared" in caplog.text
    assert "example.com" not in caplog.text and "Pat " not in caplog.text
