"""Page helpers: what a patient (and later staff) sees and does, in one place per page.

Tests talk in these terms (`SlotList.open(...).choose(id)`, `BookingForm.submit()`), so a
markup change is fixed here once. Locators prefer what people perceive: roles, labels,
visible text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from playwright.sync_api import Locator, Page, expect

PATIENT = {"name": "Ada Lovelace", "email": "ada@example.com", "notes": "First visit"}


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass
class SlotList:
    """`/`: available slots grouped by day, with a date filter."""

    page: Page
    base_url: str

    def open(self, start: date | None = None, end: date | None = None) -> SlotList:
        query = "&".join(
            f"{name}={value.isoformat()}"
            for name, value in (("from", start), ("to", end))
            if value is not None
        )
        self.page.goto(f"{self.base_url}/" + (f"?{query}" if query else ""))
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
        return self

    def filter(self, start: date, end: date) -> SlotList:
        self.page.get_by_label("From").fill(start.isoformat())
        self.page.get_by_label("To").fill(end.isoformat())
        self.page.get_by_role("button", name="Show").click()
        expect(self.page).to_have_url(re.compile(rf"from={start}&to={end}"))
        return self

    def day_headings(self) -> list[str]:
        return self.page.locator("section.day h3").all_inner_texts()

    def slot_link(self, appointment_id: str) -> Locator:
        return self.page.locator(f'a.slot[href$="/book/{appointment_id}"]')

    def listed_ids(self) -> list[str]:
        hrefs = [link.get_attribute("href") or "" for link in self.page.locator("a.slot").all()]
        return [href.rsplit("/", 1)[-1] for href in hrefs]

    def choose(self, appointment_id: str) -> BookingForm:
        self.slot_link(appointment_id).click()
        form = BookingForm(self.page, self.base_url)
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Book this appointment")
        return form


@dataclass
class BookingForm:
    """`/book/<id>`: name, email, notes; inline errors and an error summary."""

    page: Page
    base_url: str

    def open(self, appointment_id: str) -> BookingForm:
        self.page.goto(f"{self.base_url}/book/{appointment_id}")
        return self

    @property
    def name(self) -> Locator:
        return self.page.get_by_label("Full name")

    @property
    def email(self) -> Locator:
        return self.page.get_by_label("Email address")

    @property
    def notes(self) -> Locator:
        return self.page.get_by_label("Notes for the clinic")

    @property
    def submit_button(self) -> Locator:
        return self.page.get_by_role("button", name="Request this appointment")

    @property
    def error_summary(self) -> Locator:
        return self.page.locator("#error-summary")

    def field_error(self, field_id: str) -> Locator:
        return self.page.locator(f"#{field_id}-error")

    def fill(self, name: str = "", email: str = "", notes: str = "") -> BookingForm:
        self.name.fill(name)
        self.email.fill(email)
        self.notes.fill(notes)
        return self

    def book(self, name=PATIENT["name"], email=PATIENT["email"], notes=PATIENT["notes"]):
        self.fill(name, email, notes)
        self.submit_button.click()
        return Confirmation(self.page).wait()


@dataclass
class Confirmation:
    """`/booking/<id>/confirmation`, reached by a 303 after booking."""

    page: Page

    def wait(self) -> Confirmation:
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Thank you, your request has been received"
        )
        return self

    def value(self, label: str) -> str:
        return summary_value(self.page, label)


def summary_value(page: Page, label: str) -> str:
    """The <dd> next to the <dt> `label` in a slot summary."""
    term = page.locator("dl.summary dt", has_text=re.compile(rf"^{re.escape(label)}$"))
    return term.locator("xpath=following-sibling::dd[1]").inner_text().strip()


def taken_heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1, name="Sorry, this time is no longer available")
