"""The JSON API from a static page on another origin, with fetch (CORS), in a real browser."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.browser.pages import patient_email

pytestmark = pytest.mark.browser


def run_partner_page(page, origin: str, live, day, name: str, email: str) -> dict:
    query = urlencode({"api": live.url, "day": day.isoformat(), "name": name, "email": email})
    page.goto(f"{origin}/index.html?{query}")
    expect(page.locator("body[data-state]")).to_be_attached()
    return json.loads(page.locator("#result").inner_text())


def test_static_page_on_allowed_origin_lists_and_books(page, live, partner_origin):
    day = live.new_day()
    slot = live.add_slot(day, "14:00")
    assert partner_origin != live.url

    email = patient_email("ada")
    result = run_partner_page(page, partner_origin, live, day, "Ada Lovelace", email)

    assert result["listing"] == {"status": 200, "xCache": "MISS", "ids": [slot]}
    assert result["status"] == 200
    assert result["body"]["appointmentId"] == slot
    assert result["body"]["status"] == "PENDING"
    expect(page.locator("body")).to_have_attribute("data-state", "booked")
    item = live.item(slot)
    assert (item["status"], item["patientName"], item["patientEmail"]) == (
        "PENDING",
        "Ada Lovelace",
        email,
    )


def test_static_page_on_other_origin_is_refused(page, live, static_site):
    day = live.new_day()
    slot = live.add_slot(day, "14:00")
    stranger = static_site()  # not in CORS_ALLOWED_ORIGINS

    result = run_partner_page(page, stranger, live, day, "Eve", patient_email("eve"))

    assert result["error"].startswith("TypeError")  # the browser withheld the response
    assert live.item(slot)["status"] == "AVAILABLE"
