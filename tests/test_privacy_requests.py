"""Patients' data requests: staff export (JSON, CSV) and erase everything held about one
email address; erasure leaves no trace of the patient in the table."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime

import pytest

from tests.helpers import STAFF_EMAIL, page_token
from tests.test_staff import basic
from webapp import clock
from webapp.extensions import services
from webapp.store.appointments import PatientDetails

NAME = "Ada Quintessa Lovelace"
NOTES = '=HYPERLINK("x") knee pain since March'
SECRET_BITS = ("ada.q", "quintessa", "knee pain")


@pytest.fixture
def ada(app, add_slot, monkeypatch, store):
    """Ada's history: a past accepted appointment (booked with a capitalised address), a
    future request (with a +tag) and a bounce; and another patient's booking."""
    service = services(app)
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2030, 5, 1, tzinfo=UTC))
    past = add_slot("2030-05-20", "09:00")
    future = add_slot("2030-06-10", "11:00")
    other = add_slot("2030-06-11", "11:00")
    service.bookings.book(past, PatientDetails(NAME, "Ada.Q@Example.com", NOTES, "sub"))
    service.bookings.accept(past, "doctor@clinic.example")
    service.bookings.book(future, PatientDetails(NAME, "ada.q+clinic@example.com", NOTES))
    service.bookings.book(other, PatientDetails("Grace Hopper", "grace@example.com", "hi"))
    store.suppressions.suppress("ada.q@example.com", "bounce", "2030-05-02T00:00:00Z")
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2030, 6, 3, tzinfo=UTC))
    return {"past": past, "future": future, "other": other}


def scan(store) -> str:
    """Every item of the table as text (a Scan: in tests only, never in the product)."""
    items = store.table.client.scan(TableName=store.table.name)["Items"]
    return json.dumps(items).lower()


def api_post(client, path, body):
    return client.post(path, json=body, headers=basic())


def test_the_json_export_holds_every_record_of_the_address(app, ada, staff_account, caplog):
    caplog.set_level(logging.INFO)
    response = api_post(
        app.test_client(), "/api/staff/privacy/export", {"email": "ada.q@example.com"}
    )
    assert response.status_code == 200
    document = response.get_json()
    assert [b["appointmentId"] for b in document["bookings"]] == [ada["past"], ada["future"]]
    assert {b["patientName"] for b in document["bookings"]} == {NAME}
    assert document["bookings"][0]["notes"] == NOTES
    assert document["suppressions"][0]["reason"] == "bounce"
    assert document["openRequestCounters"][0]["entries"]
    assert {e["email"] for e in document["emailsSent"]} >= {"request-received", "accepted"}
    assert "grace" not in json.dumps(document).lower()
    audit = [r for r in caplog.records if r.name == "webapp.audit"]
    assert len(audit) == 1 and STAFF_EMAIL in audit[0].getMessage()
    assert not any(bit in caplog.text.lower() for bit in (*SECRET_BITS, "example.com"))


def test_the_csv_export_is_one_row_per_field_with_formulas_defused(app, ada, staff_account):
    response = api_post(
        app.test_client(), "/api/staff/privacy/export.csv", {"email": "ADA.Q@example.com"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["record", "id", "field", "value"]
    assert ["bookings", ada["past"], "patientName", NAME] in rows
    assert ["bookings", ada["past"], "notes", "'" + NOTES] in rows
    assert any(row[0] == "suppressions" and row[2] == "reason" for row in rows)


def test_erasure_needs_confirmation_then_leaves_no_trace(app, ada, staff_client, store, caplog):
    caplog.set_level(logging.INFO)
    found = staff_client.post(
        "/staff/privacy",
        data={
            "csrf_token": page_token(staff_client, "/staff/privacy"),
            "email": "ada.q@example.com",
        },
    )
    assert found.status_code == 200
    assert "Erase" in found.text and "(accepted)" in found.text
    token = page_token(staff_client, "/staff/privacy")
    confirm = staff_client.post(
        "/staff/privacy/erase", data={"csrf_token": token, "email": "ada.q@example.com"}
    )
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert "quintessa" in scan(store)  # nothing erased before confirming
    done = staff_client.post(
        "/staff/privacy/erase",
        data={"csrf_token": token, "email": "ada.q@example.com", "confirm": "yes"},
    )
    assert done.status_code == 303
    page = staff_client.get(done.headers["Location"])
    assert "Erased: 2 booking(s) (1 future one(s) cancelled" in page.text

    table = scan(store)
    assert not any(bit in table for bit in SECRET_BITS)
    assert "grace" in table  # another patient's booking is untouched
    past = store.table.get(ada["past"])
    assert past["status"] == "ACCEPTED" and past["decidedBy"] == "doctor@clinic.example"
    future = store.table.get(ada["future"])
    assert future["status"] == "CANCELLED" and future["cancelledByStaff"] == STAFF_EMAIL
    # The freed time is offered again.
    listed = app.test_client().get("/appointment-slot?from=2030-06-10&to=2030-06-10").get_json()
    assert [slot["appointmentTime"] for slot in listed] == ["11:00"]

    audit = [r.getMessage() for r in caplog.records if r.name == "webapp.audit"]
    assert audit == [
        f"patient data erased on request by {STAFF_EMAIL}: 2 booking(s) (1 future cancelled), "
        "2 other record(s)"
    ]
    assert not any(bit in caplog.text.lower() for bit in (*SECRET_BITS, "ada"))


def test_erasure_sends_the_patient_no_email(app, ada, staff_account, tmp_path):
    outbox = tmp_path / "outbox"
    before = sorted(p.name for p in outbox.glob("*.eml"))
    assert before  # the bookings were emailed about; the erasure must add nothing
    response = api_post(
        app.test_client(),
        "/api/staff/privacy/erase",
        {"email": "ada.q@example.com", "confirm": True},
    )
    assert response.get_json() == {"erased": {"bookings": 2, "cancelled": 1, "otherRecords": 2}}
    assert sorted(p.name for p in outbox.glob("*.eml")) == before
    # Repeating it finds nothing more.
    again = api_post(
        app.test_client(),
        "/api/staff/privacy/erase",
        {"email": "ada.q@example.com", "confirm": True},
    )
    assert again.get_json() == {"erased": {"bookings": 0, "cancelled": 0, "otherRecords": 0}}


def test_bookings_stored_under_the_earlier_lower_case_key_are_found(app, ada, store, staff_account):
    # Earlier versions keyed bookings by the lower-cased address (no +tag folding).
    store.table.client.update_item(
        TableName=store.table.name,
        Key=store.table.key(ada["future"]),
        UpdateExpression="SET emailKey = :old",
        ExpressionAttributeValues={":old": {"S": "ada.q+clinic@example.com"}},
    )
    body = {"email": "ada.q+clinic@example.com", "confirm": True}
    response = api_post(app.test_client(), "/api/staff/privacy/erase", body)
    assert response.get_json()["erased"]["bookings"] == 2
    assert "quintessa" not in scan(store)


def test_the_api_refuses_without_confirmation_or_with_a_bad_address(app, ada, staff_account, store):
    client = app.test_client()
    unconfirmed = api_post(client, "/api/staff/privacy/erase", {"email": "ada.q@example.com"})
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.get_json()["fields"]
    for body in ({"email": "not an address"}, {"email": 5}, {}, []):
        response = api_post(client, "/api/staff/privacy/export", body)
        assert response.status_code == 400, body
    assert "quintessa" in scan(store)


def test_the_erase_form_needs_its_csrf_token(app, ada, staff_client, store):
    body = {"email": "ada.q@example.com", "confirm": "yes"}
    assert staff_client.post("/staff/privacy/erase", data=body).status_code == 400
    assert staff_client.post("/staff/privacy/export.json", data=body).status_code == 400
    assert "quintessa" in scan(store)


def test_a_bad_address_on_the_page_is_a_400_with_the_form(staff_client):
    token = page_token(staff_client, "/staff/privacy")
    response = staff_client.post("/staff/privacy", data={"csrf_token": token, "email": "nope"})
    assert response.status_code == 400 and "Enter the patient" in response.text


def test_only_staff_reach_it(app, ada):
    anonymous = app.test_client()
    for path in ("/staff/privacy", "/staff/privacy/erase", "/staff/privacy/export.csv"):
        response = anonymous.post(path, data={"email": "ada.q@example.com", "confirm": "yes"})
        assert response.status_code in (303, 400), path  # CSRF refuses before the redirect
    assert anonymous.get("/staff/privacy").status_code == 303
    assert "/staff/login" in anonymous.get("/staff/privacy").headers["Location"]
    for path in ("/api/staff/privacy/export", "/api/staff/privacy/erase"):
        response = anonymous.post(path, json={"email": "ada.q@example.com", "confirm": True})
        assert response.status_code == 401
    assert "quintessa" in scan(services(app).store)


def test_the_page_downloads_json_and_csv(ada, staff_client):
    token = page_token(staff_client, "/staff/privacy")
    as_json = staff_client.post(
        "/staff/privacy/export.json", data={"csrf_token": token, "email": "ada.q@example.com"}
    )
    assert as_json.status_code == 200 and "attachment" in as_json.headers["Content-Disposition"]
    assert len(json.loads(as_json.data)["bookings"]) == 2
    as_csv = staff_client.post(
        "/staff/privacy/export.csv", data={"csrf_token": token, "email": "ada.q@example.com"}
    )
    assert as_csv.status_code == 200 and NAME in as_csv.text


def test_staff_pages_show_an_erased_booking_without_its_patient(app, ada, staff_client):
    api_post(
        app.test_client(),
        "/api/staff/privacy/erase",
        {"email": "ada.q@example.com", "confirm": True},
    )
    page = staff_client.get(f"/staff/appointments/{ada['past']}")
    assert page.status_code == 200 and "Quintessa" not in page.text
    listing = staff_client.get("/staff/?status=ACCEPTED&from=2030-05-01&to=2030-06-30")
    assert listing.status_code == 200 and "Quintessa" not in listing.text
    api = app.test_client().get(f"/api/staff/appointments/{ada['future']}", headers=basic())
    assert api.status_code == 200 and "patientEmail" not in api.get_json()["appointment"]
