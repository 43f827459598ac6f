"""Slot population and table creation commands."""

from __future__ import annotations

import runpy
import sys

import pytest

from webapp.extensions import services
from webapp.store.table import GLOBAL_SECONDARY_INDEXES


def _available(app):
    return services(app).availability.list_open()[0]


def test_create_table_is_idempotent(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-table"])
    assert result.exit_code == 0 and "already exists" in result.output


def test_create_table_creates_table_and_index(make_app):
    app = make_app(TABLE_NAME="FreshTable")
    client = services(app).store.table.client
    client.delete_table(TableName="FreshTable")
    result = app.test_cli_runner().invoke(args=["create-table"])
    assert result.exit_code == 0 and "Created table FreshTable" in result.output
    table = client.describe_table(TableName="FreshTable")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "appointmentId", "KeyType": "HASH"}]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
        index["IndexName"] for index in GLOBAL_SECONDARY_INDEXES
    }


def test_populate_creates_future_slots_and_is_idempotent(app, now):
    runner = app.test_cli_runner()
    args = ["populate-slots", "--days", "7", "--times", "09:00,14:00,09:30"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    # Monday 2030-06-03 10:00: today's 09:00 and 09:30 have started; 5 weekdays x 3 times.
    assert "Created 13 new slot(s); 0 already existed; 2 skipped" in first.output
    slots = _available(app)
    assert len(slots) == 13
    assert slots[0] == {
        "appointmentId": "20300603-1400",
        "appointmentDate": "2030-06-03",
        "appointmentTime": "14:00",
        "status": "AVAILABLE",
    }
    assert {s["appointmentDate"] for s in slots}.isdisjoint({"2030-06-08", "2030-06-09"})

    second = runner.invoke(args=args)
    assert "Created 0 new slot(s); 13 already existed" in second.output
    assert len(_available(app)) == 13


def test_populate_can_include_weekends_and_start_later(app, now):
    result = app.test_cli_runner().invoke(
        args=[
            "populate-slots",
            "--days",
            "2",
            "--times",
            "10:00",
            "--start",
            "2030-06-08",
            "--include-weekends",
        ]
    )
    assert result.exit_code == 0
    assert [s["appointmentDate"] for s in _available(app)] == ["2030-06-08", "2030-06-09"]


def test_populate_does_not_touch_booked_slots(app, client, now, store):
    runner = app.test_cli_runner()
    runner.invoke(args=["populate-slots", "--days", "2", "--times", "11:00"])
    booked = {
        "appointmentId": "20300603-1100",
        "patientName": "Ada",
        "patientEmail": "ada@example.com",
    }
    assert client.post("/book-appointment", json=booked).status_code == 200
    runner.invoke(args=["populate-slots", "--days", "2", "--times", "11:00"])
    assert store.appointments.get("20300603-1100")["status"] == "PENDING"


def test_populate_invalidates_the_cache(app, client, now):
    assert client.get("/appointment-slot").json == []
    app.test_cli_runner().invoke(args=["populate-slots", "--days", "1", "--times", "11:00"])
    response = client.get("/appointment-slot")
    assert response.headers["X-Cache"] == "MISS" and len(response.json) == 1


@pytest.mark.parametrize("times", ["9am", "25:00", "09:60", ""])
def test_populate_rejects_bad_times(app, times):
    result = app.test_cli_runner().invoke(args=["populate-slots", "--times", times])
    assert result.exit_code != 0 and "HH:MM" in result.output


def test_populate_db_script_runs_the_same_command(aws, now, monkeypatch, capsys, cache_prefix):
    from webapp import create_app
    from webapp.settings import load_settings

    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("CLINIC_TIMEZONE", "Australia/Melbourne")
    monkeypatch.setenv("CACHE_KEY_PREFIX", cache_prefix)
    app = create_app(load_settings())
    services(app).store.table.create()
    monkeypatch.setattr(sys, "argv", ["populate_db.py", "--days", "1", "--times", "15:00"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path("populate_db.py", run_name="__main__")
    assert exit_info.value.code == 0
    assert "Created 1 new slot(s)" in capsys.readouterr().out
    assert [s["appointmentId"] for s in _available(app)] == ["20300603-1500"]
