"""A patient in a real browser: browse, filter, book, fix mistakes; with and without JS."""

from __future__ import annotations

import re

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
    # The first free day is preselected, its times listed, and nothing of other days.
    expect(slots.calendar.locator("a[aria-current=date]")).to_have_count(1)
    assert len(slots.day_headings()) == 1 and slots.listed_ids()
    assert morning not in slots.listed_ids()
    slots.choose_day(day)
    assert slots.day_headings() == [long_date(day)]
    assert slots.listed_ids() == [morning, chosen]
    expect(slots.day_link(day)).to_have_accessible_name(f"{long_date(day)[:-5]}: 2 free times")
    expect(slots.day_link(other_day)).to_have_accessible_name(
        f"{long_date(other_day)[:-5]}: 1 free time"
    )
    assert elsewhere not in slots.listed_ids()
    page.go_back()  # the back button returns to the calendar page it came from
    expect(page).not_to_have_url(re.compile(rf"day={day.isoformat()}"))
    page.go_forward()
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
    listed = SlotList(page, live.url).open(day)
    assert listed.listed_ids() == [morning]
    expect(listed.day_link(day)).to_have_accessible_name(f"{long_date(day)[:-5]}: 1 free time")


def test_empty_day_says_so(page, live):
    day = live.new_day()
    slots = SlotList(page, live.url).open(day)
    expect(page.get_by_role("status")).to_contain_text("No appointments available on this day")
    expect(slots.calendar).to_contain_text("no free times")
    expect(slots.day_link(day)).to_have_count(0)


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
    slots.choose_day(day)  # links only: the calendar needs no script
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


def test_a_bad_day_is_explained_next_to_the_field(page, live):
    slots = SlotList(page, live.url)
    response = page.goto(f"{live.url}/?day=2030-02-31")
    assert response is not None and response.status == 400

    day_field = page.get_by_label("Go to a day", exact=True)
    expect(day_field).to_have_attribute("aria-invalid", "true")
    expect(day_field).to_have_accessible_description(
        "The day must be a date in the form YYYY-MM-DD."
    )
    expect(page.get_by_role("link", name="Clear dates")).to_be_visible()
    assert slots.listed_ids()  # the first free day is still offered

    # The GET form opens any day, as the calendar's links do.
    day = live.new_day()
    slot = live.add_slot(day, "12:00")
    day_field.fill(day.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"day={day.isoformat()}"))
    assert slots.listed_ids() == [slot]


def test_a_spanish_speaking_patient_books_in_spanish(new_context, live):
    """The browser asks for Spanish (Accept-Language): the walkthrough in Spanish, and the
    booking remembers it for every later email."""
    page = new_context(locale="es-ES").new_page()
    day = live.new_day()
    slot = live.add_slot(day, "11:30")
    page.goto(f"{live.url}/?day={day.isoformat()}")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pida una cita")
    page.locator(f'a.slot[href$="/{slot}"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reservar esta cita")
    page.get_by_role("button", name="Solicitar esta cita").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Escriba su nombre.")
    page.get_by_label("Nombre y apellidos").fill("Ana García")
    page.get_by_label("Correo electrónico").fill(patient_email("ana"))
    page.get_by_role("button", name="Solicitar esta cita").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Gracias, hemos recibido su solicitud"
    )
    expect(page.locator("dl.summary")).to_contain_text("PENDIENTE")
    expect(page.locator("dl.summary")).to_contain_text("11:30")
    assert live.item(slot)["language"] == "es"
    # The switcher takes the same page back to English, and the choice is kept.
    page.locator('.language-switcher a[hreflang="en"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your appointment request")
    page.goto(live.url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
