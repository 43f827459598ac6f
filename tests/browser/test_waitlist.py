"""The waitlist in a real browser, in English and in Spanish: join from the listing page,
be offered a freed time by email (in the language joined in), book it from the offer's
link while someone offered the same time loses the race, and leave through the link
every waitlist email carries. Expected texts come from the catalog the app uses."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from babel.support import Translations
from playwright.sync_api import expect

from webapp.i18n import TRANSLATIONS
from webapp.store.appointments import PatientDetails

pytestmark = pytest.mark.browser

OFFER_LINK = re.compile(r"https?://\S+/waitlist/offer/\S+")
LEAVE_LINK = re.compile(r"https?://\S+/waitlist/leave/\S+")
# The browser's language (Accept-Language) for each of the site's languages.
BROWSER_LOCALES = {"en": "en-AU", "es": "es-ES"}
# Days inside the booking horizon (the waitlist's reach) that no other test uses: theirs
# lie beyond it, and populate-slots fills only the next week.
DAYS = {("en", "book"): 20, ("en", "leave"): 21, ("es", "book"): 22, ("es", "leave"): 23}


@pytest.fixture(params=["en", "es"])
def language(request) -> str:
    return request.param


def _(language: str):
    """The site's catalog for `language`: what its pages say for an English message."""
    if language == "en":
        return lambda message: message
    return Translations.load(str(TRANSLATIONS), [language]).gettext


def _day(live, language: str, test: str):
    return live.services.availability.today() + timedelta(days=DAYS[(language, test)])


def _join(page, live, language: str, name: str, address: str, day) -> None:
    """Join the waitlist for one day, starting from the listing page's link."""
    t = _(language)
    page.goto(f"{live.url}/?day={day.isoformat()}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator(".waitlist-link a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Join the waitlist"))
    page.get_by_label(t("Full name")).fill(name)
    page.get_by_label(t("Email address")).fill(address)
    page.get_by_label(t("From"), exact=True).fill(day.isoformat())
    page.get_by_label(t("To"), exact=True).fill(day.isoformat())
    page.get_by_role("button", name=t("Join the waitlist")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("You are on the waitlist"))


def _waitlist_emails(live, kind: str, to: str) -> list:
    found = []
    for path in sorted(live.outbox_dir.glob(f"*-{kind}-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            found.append(message)
    return found


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_join_be_offered_a_freed_time_and_book_it_first(new_context, live, language):
    t = _(language)
    day = _day(live, language, "book")
    slot = live.add_slot(day, "10:00")
    live.services.bookings.book(slot, PatientDetails("Someone Else", "else@example.com"))

    locale = BROWSER_LOCALES[language]
    ada = new_context(locale=locale).new_page()
    grace = new_context(locale=locale).new_page()
    ada_address = f"ada.waitlist.{language}@example.com"
    grace_address = f"grace.waitlist.{language}@example.com"
    _join(ada, live, language, "Ada Lovelace", ada_address, day)
    _join(grace, live, language, "Grace Hopper", grace_address, day)
    (joined,) = _waitlist_emails(live, "waitlist-joined", ada_address)
    assert t("Hello,") in _text(joined)  # written in the language joined in
    assert "Ada" not in _text(joined)  # nothing the requester typed
    assert LEAVE_LINK.search(_text(joined))

    # The clinic declines the booking: the time is free again and both are offered it,
    # each in the language they joined in.
    live.bookings.decline(slot, live.staff[0], "The doctor is away that day.")
    (ada_offer,) = _waitlist_emails(live, "waitlist-offer", ada_address)
    (grace_offer,) = _waitlist_emails(live, "waitlist-offer", grace_address)
    assert t("To book it, open this link and confirm:") in _text(ada_offer)

    ada.goto(OFFER_LINK.search(_text(ada_offer)).group(0))
    expect(ada.get_by_text("Ada Lovelace")).to_be_visible()
    ada.get_by_role("button", name=t("Request this appointment")).click()
    expect(ada).to_have_url(re.compile(r"/manage/[^/]+$"))

    # Grace was offered the same time: the page says it is gone, in her language.
    response = grace.goto(OFFER_LINK.search(_text(grace_offer)).group(0))
    assert response.status == 409
    expect(grace.get_by_role("heading", level=1)).to_have_text(
        t("Sorry, this time is no longer available")
    )


def test_leave_the_waitlist_from_the_email(new_context, live, language):
    t = _(language)
    page = new_context(locale=BROWSER_LOCALES[language]).new_page()
    day = _day(live, language, "leave")
    address = f"alan.waitlist.{language}@example.com"
    _join(page, live, language, "Alan Turing", address, day)
    (joined,) = _waitlist_emails(live, "waitlist-joined", address)
    page.goto(LEAVE_LINK.search(_text(joined)).group(0))
    page.get_by_role("button", name=t("Yes, leave the waitlist")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("You are not on this waitlist"))

    # A time freed on that day afterwards is offered to nobody who left.
    slot = live.add_slot(day, "15:00")
    live.services.bookings.book(slot, PatientDetails("Someone Else", "else2@example.com"))
    live.bookings.decline(slot, live.staff[0], "The doctor is away that day.")
    assert _waitlist_emails(live, "waitlist-offer", address) == []
