"""A patient's private link: from the confirmation page and from the email, then cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import ManagePage, SlotList, long_date, patient_email

pytestmark = pytest.mark.browser

LINK_IN_TEXT = re.compile(r"https?://\S+/manage/[^\s/]+")


def test_book_follow_the_private_link_and_cancel(new_context, live):
    day = live.new_day()
    slot = live.add_slot(day, "10:30")
    later = live.add_slot(day, "14:00")
    email = patient_email("ada")

    page = new_context().new_page()
    slots = SlotList(page, live.url).open(day)
    confirmation = slots.choose(slot).book(name="Ada Lovelace", email=email, notes="")
    assert confirmation.value("Reference") == slot
    assert confirmation.value("Status") == "PENDING"
    page_link = confirmation.private_link.get_attribute("href")
    assert page_link == page.url  # the private link is the page's own address
    expect(confirmation.private_link).to_have_text(page_link)

    # The "request received" email carries the same link, in its text and its HTML part.
    received = live.email("request-received", slot)
    assert received["To"] == email
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    mailed_link = LINK_IN_TEXT.search(text).group(0)
    assert mailed_link == page_link
    assert f'href="{mailed_link}"' in html
    assert long_date(day) in text and "10:30" in text

    # The link from the page works in another browser (no session): no thank-you again.
    elsewhere = ManagePage(new_context().new_page()).open(page_link)
    assert elsewhere.value("Status") == "PENDING"
    expect(elsewhere.page.get_by_text("Thank you")).to_have_count(0)

    # Opened from the email: cancel needs a confirmation step, and "No" keeps it.
    manage = ManagePage(new_context().new_page()).open(mailed_link)
    assert manage.value("Date") == long_date(day)
    assert manage.value("Time") == "10:30 (Australia/Melbourne)"
    kept = manage.start_cancel().keep()
    assert kept.value("Status") == "PENDING"
    assert live.item(slot)["status"] == "PENDING"

    confirm = kept.start_cancel()
    assert confirm.page.get_by_role("button", name="Yes, cancel my appointment").is_visible()
    cancelled = confirm.confirm()
    assert cancelled.value("Status") == "CANCELLED"
    expect(
        cancelled.page.get_by_role("heading", name="This appointment is cancelled")
    ).to_be_visible()
    expect(cancelled.page.get_by_text("You cancelled this appointment.")).to_be_visible()
    expect(cancelled.cancel_link).to_have_count(0)  # nothing left to cancel
    assert live.item(slot)["status"] == "CANCELLED"
    assert live.email("cancelled", slot)["To"] == email

    # The time is offered to other patients again straight away (as a new slot: the
    # cancelled request stays on record for the clinic).
    listed = SlotList(page, live.url).open(day)
    assert listed.listed_times() == ["10:30", "14:00"]
    released, still_there = listed.listed_ids()
    assert released != slot and still_there == later
    assert live.item(released)["status"] == "AVAILABLE"
