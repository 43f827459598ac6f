"""The waitlist in a real browser: join from the listing page, be offered a freed time by
email, book it from the offer's link while someone offered the same time loses the race,
and leave through the link every waitlist email carries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from webapp.store.appointments import PatientDetails

pytestmark = pytest.mark.browser

OFFER_LINK = re.compile(r"https?://\S+/waitlist/offer/\S+")
LEAVE_LINK = re.compile(r"https?://\S+/waitlist/leave/\S+")


def _waitlist_day(live, days: int):
    """A day inside the booking horizon (the waitlist's reach) that no other test uses:
    theirs lie beyond it, and populate-slots fills only the next week."""
    return live.services.availability.today() + timedelta(days=days)


def _join(page, live, name: str, email: str, day) -> None:
    """Join the waitlist for one day, starting from the listing page's link."""
    page.goto(f"{live.url}/?day={day.isoformat()}")
    page.get_by_role("link", name=re.compile("Join the waitlist")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the waitlist")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("From", exact=True).fill(day.isoformat())
    page.get_by_label("To", exact=True).fill(day.isoformat())
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("on the waitlist")


def _waitlist_emails(live, kind: str, to: str) -> list:
    import email
    import email.policy

    found = []
    for path in sorted(live.outbox_dir.glob(f"*-{kind}-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            found.append(message)
    return found


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_join_be_offered_a_freed_time_and_book_it_first(new_context, live):
    day = _waitlist_day(live, 20)
    slot = live.add_slot(day, "10:00")
    live.services.bookings.book(slot, PatientDetails("Someone Else", "else@example.com"))

    ada, grace = new_context().new_page(), new_context().new_page()
    _join(ada, live, "Ada Lovelace", "ada.waitlist@example.com", day)
    _join(grace, live, "Grace Hopper", "grace.waitlist@example.com", day)
    (joined,) = _waitlist_emails(live, "waitlist-joined", "ada.waitlist@example.com")
    assert "Ada" not in _text(joined)  # nothing the requester typed
    assert LEAVE_LINK.search(_text(joined))

    # The clinic declines the booking: the time is free again and both are offered it.
    live.bookings.decline(slot, live.staff[0], "The doctor is away that day.")
    (ada_offer,) = _waitlist_emails(live, "waitlist-offer", "ada.waitlist@example.com")
    (grace_offer,) = _waitlist_emails(live, "waitlist-offer", "grace.waitlist@example.com")

    ada.goto(OFFER_LINK.search(_text(ada_offer)).group(0))
    expect(ada.get_by_text("For Ada Lovelace")).to_be_visible()
    ada.get_by_role("button", name="Request this appointment").click()
    expect(ada).to_have_url(re.compile(r"/manage/[^/]+$"))

    # Grace was offered the same time: the page says it is gone and offers the list.
    response = grace.goto(OFFER_LINK.search(_text(grace_offer)).group(0))
    assert response.status == 409
    expect(grace.get_by_text(re.compile("no longer available"))).to_be_visible()


def test_leave_the_waitlist_from_the_email(page, live):
    day = _waitlist_day(live, 21)
    _join(page, live, "Alan Turing", "alan.waitlist@example.com", day)
    (joined,) = _waitlist_emails(live, "waitlist-joined", "alan.waitlist@example.com")
    page.goto(LEAVE_LINK.search(_text(joined)).group(0))
    page.get_by_role("button", name="Yes, leave the waitlist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are not on this waitlist")

    # A time freed on that day afterwards is offered to nobody who left.
    slot = live.add_slot(day, "15:00")
    live.services.bookings.book(slot, PatientDetails("Someone Else", "else2@example.com"))
    live.bookings.decline(slot, live.staff[0], "The doctor is away that day.")
    assert _waitlist_emails(live, "waitlist-offer", "alan.waitlist@example.com") == []
