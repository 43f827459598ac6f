"""Two patients in two browsers submit the same slot at the same moment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import MANAGE_URL, BookingForm, ManagePage, patient_email

pytestmark = pytest.mark.browser

OUTCOME = re.compile(r"Thank you, your request has been received|no longer available")


def test_two_browsers_race_for_one_slot(new_context, live):
    slot = live.add_slot(live.new_day(), "09:30")
    patients = {"Ada Lovelace": patient_email("ada"), "Grace Hopper": patient_email("grace")}
    forms = {}
    for name, email in patients.items():
        form = BookingForm(new_context().new_page(), live.url).open(slot)
        form.fill(name=name, email=email, notes="")
        forms[name] = form

    # Submit both forms before either answer arrives: both POSTs are in flight together.
    for form in forms.values():
        form.page.locator("form.booking").evaluate("form => form.requestSubmit()")

    outcomes = {}
    for name, form in forms.items():
        heading = form.page.get_by_role("heading", level=1)
        expect(heading).to_have_text(OUTCOME)
        outcomes[name] = heading.inner_text()

    winners = [name for name, text in outcomes.items() if text.startswith("Thank you")]
    losers = [name for name, text in outcomes.items() if "no longer available" in text]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    winner = ManagePage(forms[winners[0]].page).wait_just_booked()
    assert (winner.value("Reference"), winner.value("Status")) == (slot, "PENDING")
    loser_page = forms[losers[0]].page
    expect(loser_page).not_to_have_url(MANAGE_URL)
    expect(loser_page.get_by_role("alert")).to_contain_text("Someone else booked")
    expect(loser_page.get_by_role("link", name="See all available times")).to_be_visible()

    item = live.item(slot)
    assert (item["status"], item["patientName"]) == ("PENDING", winners[0])
    # One booking, so one "request received" email, to the winner.
    assert live.email("request-received", slot)["To"] == patients[winners[0]]
