"""Choosing a practitioner: on a site of its own (a second practitioner would change
what every other browser test sees), two practitioners are given weekly hours with the
CLI; a patient chooses one on the home page (a plain GET form, with and without
JavaScript), books one of their times and is told with whom on the pages, in the emails
and in the calendar file; "Anyone" lists both's times, a time both have once. At desktop
and phone width, each page audited by axe."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, live_stack
from tests.browser.pages import ManagePage, PractitionerChoice, patient_email, summary_value
from tests.browser.test_main_pages import audit
from webapp.practitioners import WEEKDAYS

pytestmark = pytest.mark.browser

JO, JO_ROLE, JO_ID, JO_TIME = "Dr Jo Smith", "GP", "dr-jo-smith", "09:00"
SAM, SAM_ID, SAM_TIME = "Sam Park", "sam-park", "14:00"
BOTH_TIME = "14:45"  # Sam's second time (45-minute appointments), given to Jo too
STAFF = "reception@clinic.example.com"
_days = itertools.count(2)  # days ahead, one per test, inside the roll's horizon


def _every_day(ranges: str) -> list[str]:
    return [arg for day in WEEKDAYS for arg in (f"--{day}", ranges)]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory, redis_server, partner_origin):
    """A site of this module's own, set up as an operator would, with the CLI."""
    tmp = tmp_path_factory.mktemp("practitioners")
    with live_stack(tmp, redis_server, partner_origin, "practitioners", None) as app:
        app.flask("add-practitioner", JO, "--role", JO_ROLE)
        app.flask("add-practitioner", SAM, "--minutes", "45")
        app.flask("edit-practitioner", "default", "--inactive")  # just the two of them
        app.flask("set-hours", JO_ID, *_every_day("09:00-10:00"))
        app.flask("set-hours", SAM_ID, *_every_day("14:00-15:30"))
        output = app.flask("roll-schedule")
        assert "Rolled" in output, output
        yield app


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_choose_a_practitioner_and_book_with_them(new_context, clinic, width, javascript):
    day = clinic.services.availability.today() + timedelta(days=next(_days))
    email = patient_email("ada")
    context = new_context(
        viewport=DESKTOP if width == "desktop" else PHONE,
        java_script_enabled=javascript,
        bypass_csp=True,  # lets axe's script in
    )
    page = context.new_page()
    check = audit if javascript else (lambda page: None)

    # Jo also takes Sam's second time that day: "Anyone" lists it once.
    jo = clinic.services.practitioners.get(JO_ID)
    clinic.services.availability.create([day], [BOTH_TIME], practitioner=jo)

    # "Anyone" (the first page as it opens) lists both's times, each time once, saying
    # how many practitioners are free then; the booking page says with whom.
    choice = PractitionerChoice(page, clinic.url).open(day)
    expect(choice.select.locator("option:checked")).to_have_text("Anyone")
    expect(choice.booking_link(JO_TIME, day, free=1)).to_be_visible()
    expect(choice.booking_link(SAM_TIME, day, free=1)).to_be_visible()
    expect(choice.booking_link(BOTH_TIME, day, free=2)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(rf"^Book {BOTH_TIME} "))).to_have_count(1)
    check(page)
    choice.booking_link(JO_TIME, day, free=1).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book this appointment")
    assert summary_value(page, "With") == JO
    page.go_back()

    # Choosing one lists only theirs.
    choice.choose(SAM)
    expect(choice.booking_link(SAM_TIME, day)).to_be_visible()
    expect(choice.booking_link(BOTH_TIME, day)).to_be_visible()
    expect(choice.booking_link(JO_TIME, day)).to_have_count(0)
    check(page)
    choice.choose(f"{JO} ({JO_ROLE})")
    expect(choice.booking_link(SAM_TIME, day)).to_have_count(0)
    choice.choose("Anyone")
    expect(choice.booking_link(JO_TIME, day, free=1)).to_be_visible()
    expect(choice.booking_link(SAM_TIME, day, free=1)).to_be_visible()
    choice.choose(SAM)

    form = choice.book(SAM_TIME, day)
    assert summary_value(page, "With") == SAM
    check(page)
    manage = form.book(email=email)
    assert manage.value("With") == SAM
    check(page)
    link = manage.private_link.get_attribute("href")
    later = ManagePage(context.new_page()).open(link)
    assert later.value("With") == SAM
    check(later.page)

    appointment_id = f"{day:%Y%m%d}-{SAM_TIME.replace(':', '')}-{SAM_ID}"
    assert clinic.item(appointment_id)["patientEmail"] == email
    received = clinic.email("request-received", appointment_id)
    assert received["To"] == email
    assert SAM in received.get_body(preferencelist=("plain",)).get_content()
    assert SAM in received.get_body(preferencelist=("html",)).get_content()

    clinic.bookings.accept(appointment_id, STAFF)
    accepted = clinic.email("accepted", appointment_id)
    assert SAM in accepted.get_body(preferencelist=("plain",)).get_content()
    (ics,) = [p for p in accepted.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = ics.get_content().replace("\r\n ", "").replace("\n ", "")
    assert SAM in calendar
