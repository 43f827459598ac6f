"""Every main page at desktop and phone width: a screenshot, and an axe-core audit.

Screenshots go to test-artifacts/screenshots/<page>-<width>.png and axe's full findings to
test-artifacts/axe/<page>-<width>.json. A violation of any impact fails the test. To cover
a new page, add a function decorated with `@main_page(name)` that brings a fresh `page` to
it. A page only a POST shows (and the switcher would leave for its GET) is registered with
`chosen_first=True`: its language is chosen with the switcher before the visit rather than
after.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from localdev.services import ROOT
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, LiveApp
from tests.browser.pages import (
    BookingForm,
    Dashboard,
    ManagePage,
    SlotList,
    StaffAppointment,
    StaffLogin,
    patient_email,
    taken_heading,
)

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
MAIN_PAGES: dict[str, Callable[[Page, LiveApp], None]] = {}
CHOSEN_FIRST: set[str] = set()


def main_page(name: str, chosen_first: bool = False):
    def register(visit: Callable[[Page, LiveApp], None]):
        MAIN_PAGES[name] = visit
        if chosen_first:
            CHOSEN_FIRST.add(name)
        return visit

    return register


@main_page("slot-list")
def _slot_list(page: Page, live: LiveApp) -> None:
    SlotList(page, live.url).open()  # the populated week


@main_page("slot-list-empty")
def _slot_list_empty(page: Page, live: LiveApp) -> None:
    day = live.new_day()
    SlotList(page, live.url).open(day)


@main_page("slot-list-bad-dates")
def _slot_list_bad_dates(page: Page, live: LiveApp) -> None:
    page.goto(f"{live.url}/?day=2030-06-31")
    expect(page.locator("#filter-day-error")).to_be_visible()


@main_page("booking-form")
def _booking_form(page: Page, live: LiveApp) -> None:
    BookingForm(page, live.url).open(live.add_slot(live.new_day(), "10:00"))


@main_page("booking-form-errors")
def _booking_form_errors(page: Page, live: LiveApp) -> None:
    form = BookingForm(page, live.url).open(live.add_slot(live.new_day(), "10:00"))
    form.fill(name="", email="not-an-email", notes="Please call before the visit.")
    form.submit_button.click()
    expect(form.error_summary).to_be_focused()


@main_page("confirmation")
def _confirmation(page: Page, live: LiveApp) -> None:
    BookingForm(page, live.url).open(live.add_slot(live.new_day(), "10:00")).book()


@main_page("slot-taken")
def _slot_taken(page: Page, live: LiveApp) -> None:
    slot = live.add_slot(live.new_day(), "10:00")
    BookingForm(page, live.url).open(slot).fill("Ada", "ada@example.com")
    live.services.bookings.book(slot, _someone_else())
    BookingForm(page, live.url).submit_button.click()
    expect(taken_heading(page)).to_be_visible()


@main_page("manage-pending")
def _manage_pending(page: Page, live: LiveApp) -> None:
    slot = live.add_slot(live.new_day(), "10:00")
    live.services.bookings.book(slot, _someone_else())
    ManagePage(page).open(live.manage_url(slot))


@main_page("manage-declined")
def _manage_declined(page: Page, live: LiveApp) -> None:
    slot = live.add_slot(live.new_day(), "10:00")
    live.services.bookings.book(slot, _someone_else())
    live.bookings.decline(slot, live.staff[0], "The doctor is away that day. Sorry!")
    ManagePage(page).open(live.manage_url(slot))
    expect(page.get_by_text("The doctor is away that day.")).to_be_visible()


@main_page("cancel-confirmation")
def _cancel_confirmation(page: Page, live: LiveApp) -> None:
    slot = live.add_slot(live.new_day(), "10:00")
    live.services.bookings.book(slot, _someone_else())
    ManagePage(page).open(live.manage_url(slot)).start_cancel()


# -- the waitlist ---------------------------------------------------------------------------
_waitlist_visits = itertools.count()


def _waitlist_day(live: LiveApp):
    """A day inside the booking horizon (the waitlist's reach) no other test books."""
    return live.services.availability.today() + timedelta(days=25)


def _fill_waitlist_form(page: Page, live: LiveApp, name: str, email: str) -> None:
    page.goto(f"{live.url}/waitlist")
    day = _waitlist_day(live).isoformat()
    page.locator("#patientName").fill(name)
    page.locator("#patientEmail").fill(email)
    page.locator("#fromDate").fill(day)
    page.locator("#toDate").fill(day)
    page.locator("form.booking button[type=submit]").click()


def _waitlist_entry(live: LiveApp) -> dict:
    """A new entry for the waitlist day, as the app stores it (its own address each time:
    an address holds at most WAITLIST_MAX_ENTRIES_PER_EMAIL entries)."""
    day = _waitlist_day(live)
    values = {
        "name": "Grace Hopper",
        "email": patient_email(f"waitlist-audit-{next(_waitlist_visits)}"),
        "from": day,
        "to": day,
        "practitioner": "",
    }
    return live.services.waitlist.join(values)


@main_page("waitlist-join")
def _waitlist_join(page: Page, live: LiveApp) -> None:
    page.goto(f"{live.url}/waitlist")


@main_page("waitlist-join-errors")
def _waitlist_join_errors(page: Page, live: LiveApp) -> None:
    _fill_waitlist_form(page, live, "", "not-an-email")
    expect(page.locator("#error-summary")).to_be_focused()


@main_page("waitlist-joined", chosen_first=True)
def _waitlist_joined(page: Page, live: LiveApp) -> None:
    email = patient_email(f"waitlist-audit-{next(_waitlist_visits)}")
    _fill_waitlist_form(page, live, "Ada Lovelace", email)
    expect(page.locator(".notice.success h1")).to_be_visible()


@main_page("waitlist-offer")
def _waitlist_offer(page: Page, live: LiveApp) -> None:
    from webapp import links, manage_links

    entry = _waitlist_entry(live)
    minutes = 11 * 60 + 5 * next(_waitlist_visits)
    slot = live.add_slot(_waitlist_day(live), f"{minutes // 60:02d}:{minutes % 60:02d}")
    token = manage_links.make_offer_token(live.services.settings, entry, slot)
    page.goto(links.waitlist_offer_url(live.services.settings, token))
    expect(page.locator("form.actions button[type=submit]")).to_be_visible()


@main_page("waitlist-leave")
def _waitlist_leave(page: Page, live: LiveApp) -> None:
    from webapp import links, manage_links

    token = manage_links.make_leave_token(live.services.settings, _waitlist_entry(live))
    page.goto(links.waitlist_leave_url(live.services.settings, token))
    expect(page.locator("button.danger")).to_be_visible()


@main_page("staff-login")
def _staff_login(page: Page, live: LiveApp) -> None:
    StaffLogin(page, live.url).open()


@main_page("staff-login-failed")
def _staff_login_failed(page: Page, live: LiveApp) -> None:
    StaffLogin(page, live.url).open().fill("nobody@clinic.example.com", "x")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


@main_page("staff-dashboard")
def _staff_dashboard(page: Page, live: LiveApp) -> None:
    live.services.bookings.book(live.add_slot(live.new_day(), "10:00"), _someone_else())
    expect(_signed_in(page, live).rows.first).to_be_visible()


@main_page("staff-appointment")
def _staff_appointment(page: Page, live: LiveApp) -> None:
    slot = live.add_slot(live.new_day(), "10:00")
    live.services.bookings.book(slot, _someone_else())
    _signed_in(page, live)
    StaffAppointment(page, live.url).open(slot)


@main_page("staff-availability")
def _staff_availability(page: Page, live: LiveApp) -> None:
    _signed_in(page, live)
    page.goto(f"{live.url}/staff/slots")
    expect(page.get_by_role("heading", level=1)).to_have_text("Availability")


@main_page("staff-day")
def _staff_day(page: Page, live: LiveApp) -> None:
    day = live.new_day()
    slot = live.add_slot(day, "09:00")
    live.add_slot(day, "09:30")
    live.services.bookings.book(slot, _someone_else())
    _signed_in(page, live)
    page.goto(f"{live.url}/staff/day?day={day.isoformat()}")
    cell = page.locator(f'a[href$="/{slot}"]')
    expect(cell).to_have_text("Waiting GH")
    cell.click()  # a click opens the booking
    expect(page.get_by_role("heading", level=1)).to_contain_text(", 09:00")
    page.go_back()
    expect(page.get_by_role("table")).to_be_visible()


@main_page("staff-week")
def _staff_week(page: Page, live: LiveApp) -> None:
    slot = live.add_slot(live.new_day(), "09:00")
    live.services.bookings.book(slot, _someone_else())
    day = live.item(slot)["appointmentDate"]
    _signed_in(page, live)
    page.goto(f"{live.url}/staff/week?week={day}")
    cell = page.locator(f'a[href$="/{slot}"]')
    expect(cell).to_have_text("Waiting GH")
    expect(cell).to_be_visible()
    cell.click()  # a click opens the booking
    expect(page.get_by_role("heading", level=1)).to_contain_text(", 09:00")
    page.go_back()
    expect(page.get_by_role("table")).to_be_visible()


@main_page("not-found")
def _not_found(page: Page, live: LiveApp) -> None:
    page.goto(f"{live.url}/book/no-such-slot")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def _someone_else():
    from webapp.store.appointments import PatientDetails

    return PatientDetails(name="Grace Hopper", email=patient_email("grace"), notes="Back pain")


def _signed_in(page: Page, live: LiveApp) -> Dashboard:
    email, password = live.staff
    return StaffLogin(page, live.url).open().sign_in(email, password)


def axe_violations(page: Page) -> list[dict]:
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => (await axe.run(document)).violations")


def describe(violation: dict) -> str:
    targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
    return f"[{violation['impact']}] {violation['id']}: {violation['help']} ({targets})"


def assert_accessible(violations: list[dict]) -> None:
    """No axe violation of any impact (minor and moderate ones included)."""
    assert not violations, "\n".join(describe(v) for v in violations)


def audit(page: Page) -> None:
    assert_accessible(axe_violations(page))


# Patient pages are audited in each language; staff pages are English only.
LANGUAGES = [("en", name) for name in MAIN_PAGES] + [
    ("es", name) for name in MAIN_PAGES if not name.startswith("staff-")
]


def switch_language(page: Page, code: str) -> None:
    """The switcher's link, as a patient uses it: the same page again, in `code`. (A page
    that only a POST shows, such as a form with errors, comes back as its GET.)"""
    page.locator(f'.language-switcher a[hreflang="{code}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", code)


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize(("language", "name"), LANGUAGES)
def test_main_page(language, name, width, new_context, live):
    # bypass_csp lets axe's script in; the app's CSP rightly forbids injected scripts.
    context = new_context(viewport=DESKTOP if width == "desktop" else PHONE, bypass_csp=True)
    page = context.new_page()
    suffix = width if language == "en" else f"{width}-{language}"
    if name in CHOSEN_FIRST and language != "en":
        page.goto(f"{live.url}/?lang={language}")  # the switcher's link
        MAIN_PAGES[name](page, live)
        expect(page.locator("html")).to_have_attribute("lang", language)
    else:
        MAIN_PAGES[name](page, live)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        if language != "en":
            switch_language(page, language)

    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shots / f"{name}-{suffix}.png", full_page=True)

    violations = axe_violations(page)
    reports = ARTIFACTS / "axe"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{name}-{suffix}.json").write_text(json.dumps(violations, indent=2))
    assert_accessible(violations)
