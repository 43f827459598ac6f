"""Page helpers: what a patient or a member of staff sees and does, in one place per page.

Tests talk in these terms (`SlotList.open(...).choose(id)`, `BookingForm.submit()`), so a
markup change is fixed here once. Locators prefer what people perceive: roles, labels,
visible text.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from datetime import date

from playwright.sync_api import Locator, Page, expect

PATIENT = {"name": "Ada Lovelace", "notes": "First visit"}
_addresses = itertools.count(1)


def patient_email(name: str = "patient") -> str:
    """An address no other booking in this run uses.

    The app caps open requests per email address (MAX_OPEN_REQUESTS_PER_EMAIL), and all
    the browser tests share one live site: each booking brings an address of its own.
    """
    return f"{name}-{next(_addresses)}-{os.getpid()}@example.com"


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass
class SlotList:
    """`/`: a calendar of four weeks (each free day a link) and the chosen day's times."""

    page: Page
    base_url: str

    def open(self, day: date | None = None) -> SlotList:
        self.page.goto(f"{self.base_url}/" + (f"?day={day.isoformat()}" if day else ""))
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
        return self

    @property
    def calendar(self) -> Locator:
        return self.page.get_by_role("table")

    def day_link(self, day: date) -> Locator:
        """A free day's link, named by its date and how many times are free."""
        written = re.escape(long_date(day).rsplit(" ", 1)[0])
        name = re.compile(rf"^{written}(, today)?: \d+ free times?$")
        return self.calendar.get_by_role("link", name=name)

    def choose_day(self, day: date) -> SlotList:
        """Page through the weeks, as a patient would, to `day`; then open it."""
        for _ in range(30):
            if self.day_link(day).count():
                break
            self.page.get_by_role("link", name="Later weeks").click()
            expect(self.page).to_have_url(re.compile(r"[?&]week=\d{4}-\d\d-\d\d"))
        self.day_link(day).click()
        expect(self.page).to_have_url(re.compile(rf"[?&]day={day.isoformat()}"))
        expect(self.day_link(day)).to_have_attribute("aria-current", "date")
        return self

    def day_headings(self) -> list[str]:
        return self.page.locator("section.day h3").all_inner_texts()

    def slot_link(self, appointment_id: str) -> Locator:
        return self.page.locator(f'a.slot[href$="/book/{appointment_id}"]')

    def listed_ids(self) -> list[str]:
        hrefs = [link.get_attribute("href") or "" for link in self.page.locator("a.slot").all()]
        return [href.rsplit("/", 1)[-1] for href in hrefs]

    def listed_times(self) -> list[str]:
        """The times offered, as patients read them (a released time gets a new id)."""
        return [text.strip() for text in self.page.locator("a.slot").all_inner_texts()]

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

    def book(self, name=PATIENT["name"], email: str | None = None, notes=PATIENT["notes"]):
        """Submit the form; lands on the new request's manage page (a 303 after the POST)."""
        self.fill(name, email or patient_email(), notes)
        self.submit_button.click()
        return ManagePage(self.page).wait_just_booked()


@dataclass
class ManagePage:
    """`/manage/<token>`: the patient's private page for one request (status, cancel).

    Booking redirects here (303) and then thanks the patient once; reached later through
    the private link (from the page or from an email) it shows the request's state.
    """

    page: Page

    def open(self, url: str) -> ManagePage:
        self.page.goto(url)
        return self.wait()

    def wait(self) -> ManagePage:
        expect(self.page).to_have_url(MANAGE_URL)
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Your appointment request")
        return self

    def wait_just_booked(self) -> ManagePage:
        expect(self.page).to_have_url(MANAGE_URL)
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Thank you, your request has been received"
        )
        return self

    def value(self, label: str) -> str:
        return summary_value(self.page, label)

    @property
    def private_link(self) -> Locator:
        return self.page.get_by_role("region", name="Your private link").get_by_role("link")

    @property
    def cancel_link(self) -> Locator:
        return self.page.get_by_role("link", name="Cancel this appointment")

    def start_cancel(self) -> CancelConfirmation:
        self.cancel_link.click()
        return CancelConfirmation(self.page).wait()

    @property
    def change_time_link(self) -> Locator:
        return self.page.get_by_role("link", name="Change time")

    def start_change_time(self) -> ChangeTime:
        self.change_time_link.click()
        return ChangeTime(self.page).wait()

    def wait_just_moved(self) -> ManagePage:
        expect(self.page).to_have_url(MANAGE_URL)
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Your appointment has been moved"
        )
        return self


MANAGE_URL = re.compile(r"/manage/[^/?#]+$")


@dataclass
class CancelConfirmation:
    """`/manage/<token>/cancel`: the confirmation step before a patient's cancellation."""

    page: Page

    def wait(self) -> CancelConfirmation:
        expect(self.page).to_have_url(re.compile(r"/manage/[^/?#]+/cancel$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Cancel this appointment?")
        return self

    def confirm(self) -> ManagePage:
        self.page.get_by_role("button", name="Yes, cancel my appointment").click()
        return ManagePage(self.page).wait()

    def keep(self) -> ManagePage:
        self.page.get_by_role("link", name="No, keep it").click()
        return ManagePage(self.page).wait()


@dataclass
class ChangeTime:
    """`/manage/<token>/reschedule`: open times to move the booking to (also the answer to
    a confirmation whose time was taken meanwhile, at the confirmation's address)."""

    page: Page

    def wait(self) -> ChangeTime:
        expect(self.page).to_have_url(re.compile(r"/manage/[^/?#]+/reschedule(/[^/?#]+)?$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Change the time of your appointment"
        )
        return self

    def time_link(self, time: str, day: date) -> Locator:
        return self.page.get_by_role("link", name=f"Move to {time} on {day:%A} {day.day} {day:%B}")

    def choose(self, time: str, day: date) -> MoveConfirmation:
        self.time_link(time, day).click()
        return MoveConfirmation(self.page).wait()

    def keep(self) -> ManagePage:
        self.page.get_by_role("link", name="Keep my current time").click()
        return ManagePage(self.page).wait()


@dataclass
class MoveConfirmation:
    """`/manage/<token>/reschedule/<id>`: the confirmation step before a move."""

    page: Page

    def wait(self) -> MoveConfirmation:
        expect(self.page).to_have_url(re.compile(r"/manage/[^/?#]+/reschedule/[^/?#]+$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            "Move your appointment to this time?"
        )
        return self

    def confirm(self) -> ManagePage:
        self.page.get_by_role("button", name="Yes, move my appointment").click()
        return ManagePage(self.page).wait_just_moved()

    def confirm_too_late(self) -> ChangeTime:
        """Confirm when someone else has just taken the time: back to the list (409)."""
        self.page.get_by_role("button", name="Yes, move my appointment").click()
        return ChangeTime(self.page)


# -- staff ---------------------------------------------------------------------------------


@dataclass
class StaffLogin:
    """`/staff/login`: where every staff page sends a visitor who is not signed in."""

    page: Page
    base_url: str

    def open(self) -> StaffLogin:
        self.page.goto(f"{self.base_url}/staff/login")
        return self.wait()

    def wait(self) -> StaffLogin:
        expect(self.page).to_have_url(re.compile(r"/staff/login(\?.*)?$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
        return self

    def fill(self, email: str, password: str) -> StaffLogin:
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(password)
        return self

    def sign_in(self, email: str, password: str) -> Dashboard:
        self.fill(email, password)
        self.page.get_by_role("button", name="Sign in").click()
        return Dashboard(self.page, self.base_url).wait()


@dataclass
class Dashboard:
    """`/staff/`: bookings by status, waiting requests first."""

    page: Page
    base_url: str

    def open(self) -> Dashboard:
        self.page.goto(f"{self.base_url}/staff/")
        return self.wait()

    def wait(self) -> Dashboard:
        expect(self.page).to_have_url(re.compile(r"/staff/(\?.*)?$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Bookings")
        return self

    def filter(self, start: date, end: date, status: str = "") -> Dashboard:
        self.page.get_by_label("Status").select_option(status)
        self.page.get_by_label("Appointments from").fill(start.isoformat())
        self.page.get_by_label("Appointments to").fill(end.isoformat())
        self.page.get_by_role("button", name="Show").click()
        expect(self.page).to_have_url(re.compile(rf"from={start}&to={end}"))
        return self.wait()

    @property
    def rows(self) -> Locator:
        return self.page.locator("table.bookings tbody tr")

    def row(self, appointment_id: str) -> Locator:
        link = self.page.locator(f'a[href$="/staff/appointments/{appointment_id}"]')
        return self.rows.filter(has=link)

    def status(self, appointment_id: str) -> str:
        return self.row(appointment_id).locator(".status").inner_text().strip()

    def open_booking(self, appointment_id: str) -> StaffAppointment:
        self.row(appointment_id).get_by_role("link").first.click()
        return StaffAppointment(self.page, self.base_url).wait(appointment_id)

    def sign_out(self) -> StaffLogin:
        self.page.get_by_role("navigation", name="Staff").get_by_role(
            "button", name="Sign out"
        ).click()
        return StaffLogin(self.page, self.base_url).wait()


@dataclass
class StaffAppointment:
    """`/staff/appointments/<id>`: one booking; accept, or decline with a reason."""

    page: Page
    base_url: str

    def open(self, appointment_id: str) -> StaffAppointment:
        self.page.goto(f"{self.base_url}/staff/appointments/{appointment_id}")
        return self.wait(appointment_id)

    def wait(self, appointment_id: str) -> StaffAppointment:
        expect(self.page).to_have_url(re.compile(rf"/staff/appointments/{appointment_id}$"))
        expect(self.page.locator("dl.summary")).to_contain_text(appointment_id)
        return self

    def value(self, label: str) -> str:
        return summary_value(self.page, label)

    @property
    def flash(self) -> Locator:
        return self.page.locator(".notice.success[role=status]")

    def accept(self) -> StaffAppointment:
        self.page.get_by_role("button", name="Accept this request").click()
        expect(self.flash).to_contain_text("Accepted.")
        return self

    def decline(self, reason: str) -> StaffAppointment:
        self.page.get_by_label("Reason (the patient will see this)").fill(reason)
        self.page.get_by_role("button", name="Decline this request").click()
        expect(self.flash).to_contain_text("Declined.")
        return self

    def back_to_dashboard(self) -> Dashboard:
        self.page.get_by_role("link", name="All bookings").click()
        return Dashboard(self.page, self.base_url).wait()


def summary_value(page: Page, label: str) -> str:
    """The <dd> next to the <dt> `label` in a slot summary."""
    term = page.locator("dl.summary dt", has_text=re.compile(rf"^{re.escape(label)}$"))
    return term.locator("xpath=following-sibling::dd[1]").inner_text().strip()


def taken_heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1, name="Sorry, this time is no longer available")


@dataclass
class PractitionerChoice:
    """The home page's choice of practitioner: a GET form whose select is labelled "Who
    would you like to see?" ("Anyone" or a name), and the booking links it leads to, found by their
    accessible names ("Book 09:00 on Tuesday 4 June"; for "Anyone", one link per time:
    "Book 09:00 on Tuesday 4 June, 2 practitioners free")."""

    page: Page
    base_url: str

    def open(self, day: date | None = None) -> PractitionerChoice:
        """The first page, showing `day`'s times if given (else the first free day's)."""
        self.page.goto(f"{self.base_url}/" + (f"?day={day.isoformat()}" if day else ""))
        expect(self.select).to_be_visible()
        return self

    @property
    def select(self) -> Locator:
        return self.page.get_by_label("Who would you like to see?", exact=True)

    def choose(self, option_label: str) -> PractitionerChoice:
        """Pick an option and send the select's own form (a GET: works without JS)."""
        self.select.select_option(label=option_label)
        form = self.select.locator("xpath=ancestor::form[1]")
        form.locator("button[type=submit], input[type=submit]").first.click()
        expect(self.page).to_have_url(re.compile(r"[?&]practitioner="))
        expect(self.select.locator("option:checked")).to_have_text(option_label)
        return self

    def booking_link(self, time: str, day: date, free: int | None = None) -> Locator:
        """A time's link; with "Anyone", `free` is how many practitioners it says are free."""
        name = f"Book {time} on {day:%A} {day.day} {day:%B}"
        if free is not None:
            name += f", {free} practitioner{'s' if free > 1 else ''} free"
        return self.page.get_by_role("link", name=name, exact=True)

    def book(self, time: str, day: date) -> BookingForm:
        self.booking_link(time, day).click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Book this appointment")
        return BookingForm(self.page, self.base_url)
