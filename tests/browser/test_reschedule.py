"""A patient moves their booking to another time through the manage page, without and
with JavaScript; the old time is offered again and the old link still leads to it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import ManagePage, SlotList, long_date, patient_email
from tests.browser.test_main_pages import audit
from webapp.store.appointments import PatientDetails

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_change_time_through_the_manage_page(new_context, live, javascript):
    day = live.new_day()
    slot = live.add_slot(day, "09:00")
    taken = live.add_slot(day, "10:00")
    target = live.add_slot(day, "11:30")
    email = patient_email("ada")

    page = new_context(java_script_enabled=javascript, bypass_csp=True).new_page()
    booked = SlotList(page, live.url).open(day).choose(slot).book(email=email)
    old_link = booked.private_link.get_attribute("href")

    change = booked.start_change_time()
    if javascript:
        audit(change.page)
    asked = change.choose("10:00", day)
    # Somebody books 10:00 while the patient is confirming it.
    live.bookings.book(taken, PatientDetails("Grace Hopper", patient_email("grace")))
    refused = asked.confirm_too_late()
    expect(refused.page.get_by_role("alert")).to_contain_text("was taken a moment ago")
    refused.wait()
    assert live.item(slot)["status"] == "PENDING"  # untouched

    confirm = refused.choose("11:30", day)
    if javascript:
        audit(confirm.page)
    moved = confirm.confirm()
    assert moved.value("Time") == "11:30 (Australia/Melbourne)"
    assert moved.value("Status") == "PENDING"
    assert moved.value("Reference") == target
    expect(moved.page.get_by_text(f"Moved from {long_date(day)} at 09:00.")).to_be_visible()

    # One email, with the new time and the new link.
    rescheduled = live.email("rescheduled", target)
    assert rescheduled["To"] == email
    text = rescheduled.get_body(preferencelist=("plain",)).get_content()
    assert f"{long_date(day)} at 11:30" in text
    expect(moved.private_link).to_have_count(1)

    # The old time is offered again; the old link leads to the booking at its new time.
    listed = SlotList(page, live.url).open(day)
    assert listed.listed_times() == ["09:00"]
    assert listed.listed_ids() != [slot]  # a replacement slot: the record stays
    elsewhere = ManagePage(new_context().new_page()).open(old_link)
    assert elsewhere.value("Reference") == target
    assert re.search(r"/manage/[^/]+$", elsewhere.page.url)
