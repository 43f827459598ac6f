"""A patient in a real browser: browse, filter, book, fix mistakes; with and without JS."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.pages import BookingForm, SlotList, long_date, patient_email

pytestmark = pytest.mark.browser


def test_filter_book_and_see_the_confirmation(page, live):
    day, other_day = live.new_day(), live.new_day()
    morning = live.add_slot(day, "09:00")
    chosen = live.add_slot(day, "11:30")
    elsewhere = live.add_slot(other_day, "09:00")

    slots = SlotList(page, live.url).open()
    expect(slots.slot_link(elsewhere)).to_be_visible()  # unfiltered: every upcoming day
    slots.filter(day, day)
    assert slots.day_headings() == [long_date(day)]
    assert slots.listed_ids() == [morning, chosen]

    form = slots.choose(chosen)
    confirmation = form.book(name="Ada Lovelace", notes="Knee pain")

    # Post/redirect/get to the request's private page, which thanks the patient once.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live.url)}/manage/[^/]+$"))
    assert confirmation.value("Date") == long_date(day)
    assert confirmation.value("Time") == "11:30 (Australia/Melbourne)"
    assert confirmation.value("Reference") == chosen
    assert confirmation.value("Status") == "PENDING"

    item = live.item(chosen)
    assert (item["status"], item["patientName"], item["notes"]) == (
        "PENDING",
        "Ada Lovelace",
        "Knee pain",
    )
    # The booked time is gone from the list at once (the cache was invalidated).
    assert SlotList(page, live.url).open(day, day).listed_ids() == [morning]


def test_empty_day_says_so(page, live):
    day = live.new_day()
    SlotList(page, live.url).open(day, day)
    expect(page.get_by_role("status")).to_contain_text("No appointments available in these dates")


def test_validation_errors_inline_keep_input_and_focus_the_summary(page, live):
    slot = live.add_slot(live.new_day(), "10:00")
    form = BookingForm(page, live.url).open(slot)
    form.fill(name="   ", email="ada-at-example", notes="Allergic to penicillin")
    form.submit_button.click()

    expect(form.error_summary).to_be_focused()
    expect(form.error_summary.get_by_role("link")).to_have_text(
        ["Please enter your name.", "Please enter a valid email address, like name@example.com."]
    )
    expect(form.field_error("patientName")).to_have_text("Please enter your name.")
    expect(form.name).to_have_attribute("aria-invalid", "true")
    expect(form.email).to_have_attribute("aria-describedby", "patientEmail-error")
    expect(form.email).to_have_value("ada-at-example")
    expect(form.notes).to_have_value("Allergic to penicillin")
    assert live.item(slot)["status"] == "AVAILABLE"

    # The summary's links lead to the fields; fixing them books the slot.
    form.error_summary.get_by_role("link", name="Please enter your name.").click()
    expect(page).to_have_url(re.compile(r"#patientName$"))
    confirmation = form.book(name="Ada Lovelace", notes="Allergic")
    assert confirmation.value("Status") == "PENDING"


def test_booking_works_with_javascript_off(new_context, live):
    day = live.new_day()
    slot = live.add_slot(day, "15:00")
    page = new_context(java_script_enabled=False).new_page()

    slots = SlotList(page, live.url).open()
    slots.filter(day, day)
    form = slots.choose(slot)

    email = patient_email("grace")
    form.fill(name="", email=email, notes="")
    form.submit_button.click()
    expect(form.error_summary).to_be_visible()  # server-side validation, no script needed
    expect(form.email).to_have_value(email)

    confirmation = form.book(name="Grace Hopper", email=email, notes="")
    assert confirmation.value("Reference") == slot
    assert confirmation.value("Status") == "PENDING"
    assert live.item(slot)["patientName"] == "Grace Hopper"


def test_reversed_dates_are_explained_next_to_the_field(page, live):
    day = live.new_day()
    slots = SlotList(page, live.url).open()
    page.get_by_label("From").fill(day.isoformat())
    page.get_by_label("To").fill((day - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Show").click()

    to_field = page.get_by_label("To")
    expect(to_field).to_have_attribute("aria-invalid", "true")
    expect(to_field).to_have_accessible_description(
        "The end date (to) must not be before the start date (from)."
    )
    expect(page.get_by_label("From")).to_have_value(day.isoformat())
    expect(page.get_by_role("link", name="Clear dates")).to_be_visible()
    assert slots.listed_ids()  # the unfiltered list is still offered
