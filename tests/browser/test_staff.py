"""Clinic staff in a real browser: sign in, review new requests, decline one, accept one."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from tests.browser.conftest import CLINIC_TIMEZONE, STAFF_NOTIFY_EMAIL
from tests.browser.pages import (
    BookingForm,
    ManagePage,
    SlotList,
    StaffLogin,
    long_date,
    patient_email,
)

pytestmark = pytest.mark.browser

REASON = "The doctor is away that morning. Sorry for the trouble!"


def test_staff_decline_and_accept_requests(new_context, live):
    day = live.new_day()
    declined_slot = live.add_slot(day, "09:00")
    accepted_slot = live.add_slot(day, "10:00")
    ada, grace = patient_email("ada"), patient_email("grace")

    # Two patients ask for a time each.
    patient = new_context().new_page()
    BookingForm(patient, live.url).open(declined_slot).book("Ada Lovelace", ada, "Knee pain")
    BookingForm(patient, live.url).open(accepted_slot).book("Grace Hopper", grace, "")
    assert live.email("staff-new-request", accepted_slot)["To"] == STAFF_NOTIFY_EMAIL

    # A staff account made with the CLI; a staff page sends the visitor to sign in first.
    email = f"doctor-{day:%Y%m%d}@clinic.example.com"
    password = live.create_staff(email)
    staff = new_context().new_page()
    staff.goto(f"{live.url}/staff/")
    dashboard = StaffLogin(staff, live.url).wait().sign_in(email, password)
    expect(staff.get_by_role("navigation", name="Staff")).to_contain_text(email)

    # Both new requests are waiting (the day's bookings: other tests book other days).
    dashboard.filter(day, day)
    expect(dashboard.rows).to_have_count(2)
    for slot, name in ((declined_slot, "Ada Lovelace"), (accepted_slot, "Grace Hopper")):
        expect(dashboard.row(slot)).to_contain_text(name)
        assert dashboard.status(slot) == "PENDING"

    # Decline one with a reason: the time is offered to patients again at once.
    booking = dashboard.open_booking(declined_slot)
    assert booking.value("Patient") == "Ada Lovelace"
    booking.decline(REASON)
    assert booking.value("Status") == "DECLINED"
    assert booking.value("Reason") == REASON
    assert booking.value("Time offered again") == "Yes"
    assert SlotList(patient, live.url).open(day).listed_times() == ["09:00"]

    # Accept the other one.
    dashboard = booking.back_to_dashboard().filter(day, day, status="PENDING")
    expect(dashboard.rows).to_have_count(1)  # the declined request is no longer waiting
    booking = dashboard.open_booking(accepted_slot)
    booking.accept()
    assert booking.value("Status") == "ACCEPTED"
    assert booking.value("Decided by").startswith(email)
    expect(staff.get_by_role("button", name="Accept this request")).to_have_count(0)
    assert (live.item(accepted_slot)["status"], live.item(declined_slot)["status"]) == (
        "ACCEPTED",
        "DECLINED",
    )

    # The patients' emails are in the outbox: the acceptance with a calendar file...
    accepted = live.email("accepted", accepted_slot)
    assert accepted["To"] == grace
    assert "confirmed" in accepted["Subject"]
    attachments = list(accepted.iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in attachments] == [
        ("text/calendar", "appointment.ics")
    ]
    calendar = Calendar.from_ical(attachments[0].get_content())
    (event,) = calendar.walk("VEVENT")
    start = event["DTSTART"]
    assert start.dt == datetime.combine(day, time(10, 0), ZoneInfo(CLINIC_TIMEZONE))
    assert start.params["TZID"] == CLINIC_TIMEZONE
    assert str(event["ATTENDEE"]) == f"mailto:{grace}"
    # The event links to the patient's private page, which now shows the acceptance.
    manage = ManagePage(new_context().new_page()).open(str(event["URL"]))
    assert (manage.value("Reference"), manage.value("Status")) == (accepted_slot, "ACCEPTED")

    # ...and the decline with the reason and a way to book another time.
    declined = live.email("declined", declined_slot)
    assert declined["To"] == ada
    text = declined.get_body(preferencelist=("plain",)).get_content()
    assert REASON in text
    assert f"{live.url}/" in text
    assert long_date(day) in text
    assert not list(declined.iter_attachments())

    # Signing out ends the session: the staff area asks to sign in again.
    dashboard.open().sign_out()
    expect(staff.get_by_role("status")).to_contain_text("You have signed out.")
    staff.goto(f"{live.url}/staff/")
    StaffLogin(staff, live.url).wait()
    expect(staff).to_have_url(re.compile(r"/staff/login\?next=/staff/$"))


def test_wrong_password_is_refused_without_saying_why(page, live):
    email, _ = live.staff
    login = StaffLogin(page, live.url).open().fill(email, "not the password at all")
    page.get_by_role("button", name="Sign in").click()
    login.wait()
    expect(page.get_by_role("alert")).to_contain_text(
        "The email address or password is not correct."
    )
    page.goto(f"{live.url}/staff/")
    login.wait()  # still not signed in


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_week_grid_works_with_javascript_off(new_context, live, width):
    from tests.browser.conftest import DESKTOP, PHONE
    from webapp.store.appointments import PatientDetails

    day = live.new_day()
    booked = live.add_slot(day, "10:00")
    live.add_slot(day, "10:30")
    live.services.bookings.book(booked, PatientDetails("Ada Lovelace", patient_email("ada")))
    context = new_context(
        java_script_enabled=False, viewport=DESKTOP if width == "desktop" else PHONE
    )
    page = context.new_page()
    email, password = live.staff
    StaffLogin(page, live.url).open().sign_in(email, password)

    page.goto(f"{live.url}/staff/week")
    page.get_by_label("Week of").fill(day.isoformat())
    page.get_by_role("button", name="Show").click()  # a GET form: no script needed
    grid = page.get_by_role("table")
    # Other tests' bookings may share the week: this one is the cell linking to its id.
    cell = grid.locator(f'a[href$="/{booked}"]')
    expect(cell).to_have_text("Waiting AL")
    expect(grid.get_by_role("cell", name="Open").first).to_be_visible()

    page.get_by_role("link", name="Next week").click()
    expect(cell).to_have_count(0)
    page.go_back()
    cell.click()  # a click opens the booking
    expect(page.get_by_role("heading", level=1)).to_contain_text(", 10:00")


def test_day_sheet_works_with_javascript_off(new_context, live):
    from webapp.store.appointments import PatientDetails

    day = live.new_day()
    booked = live.add_slot(day, "11:00")
    live.services.bookings.book(booked, PatientDetails("Ada Lovelace", patient_email("ada2")))
    page = new_context(java_script_enabled=False).new_page()
    email, password = live.staff
    StaffLogin(page, live.url).open().sign_in(email, password)
    page.goto(f"{live.url}/staff/day")
    page.get_by_label("Day", exact=True).fill(day.isoformat())
    page.get_by_role("button", name="Show").click()  # a GET form: no script needed
    cell = page.get_by_role("table").locator(f'a[href$="/{booked}"]')
    expect(cell).to_have_text("Waiting AL")
    page.get_by_role("link", name="Next day").click()
    expect(cell).to_have_count(0)
