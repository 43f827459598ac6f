"""Staff calendar feeds: a private, revocable `.ics` subscription URL per staff account.

- The token in the URL is `<feedId><secret>`: 16 hex characters that name the feed item
  (store/feeds.py) and a 43-character random secret. Only the secret's SHA-256 is stored;
  a fetch reads the item by its id and compares hashes in constant time, then checks that
  the account still names this feed (rotating or revoking ends the old URL at once).
- The public route (`/calendar/<feed_token>.ics`) lives outside the staff blueprints, so
  the token is its only credential; its URL argument is named `*token*` so the request
  log writes the rule, never the token. A bad token of any shape is a 404.
- Events: the account's practitioner's bookings if it is linked to one, else all; ACCEPTED,
  and PENDING when the feed asks for them; from 30 days back to BOOKING_HORIZON_DAYS ahead,
  read by status and slotStart through the status index (never a Scan). Cancelled,
  declined and moved-away bookings are simply absent (subscribed calendars drop events a
  feed no longer lists). UIDs are the patient's `.ics` UIDs (notifications/render.py),
  so a move updates the event in place; SEQUENCE is 3 per move, +1 once accepted.
- An event carries the practitioner, the time and the booking reference; the patient's
  name only with CALENDAR_FEED_PATIENT_NAMES. The output depends only on the bookings
  (DTSTAMP is the booking's last change), so the ETag is stable between polls.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import clock, links
from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, PENDING

FEED_ID_LENGTH = 16
_TOKEN = re.compile(r"^[0-9a-f]{16}[A-Za-z0-9_-]{43}$")
DAYS_BACK = 30
REFRESH_MINUTES = 15
PAGE = 100


class FeedChanged(Exception):
    """Another change to this account's feed came first; nothing was changed."""


@dataclass(frozen=True)
class NewFeed:
    feed: dict[str, Any]
    token: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_url(settings: Settings, token: str) -> str:
    return links.public_url(settings, f"/calendar/{token}.ics")


def webcal_url(url: str) -> str:
    """The same address with the `webcal:` scheme calendar apps open as a subscription."""
    return "webcal:" + url.partition(":")[2]


def public_feed(feed: dict[str, Any] | None) -> dict[str, Any] | None:
    """What staff are shown of their feed (never its hash)."""
    if feed is None:
        return None
    return {
        "active": True,
        "includePending": bool(feed.get("includePending")),
        "createdAt": feed["createdAt"],
    }


class CalendarFeeds:
    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store

    # -- staff: create, rotate, revoke ---------------------------------------------------
    def current(self, email: str) -> dict[str, Any] | None:
        account = self.store.staff.get(email)
        feed_id = account.get("calendarFeedId") if account else None
        return self.store.feeds.get(feed_id) if feed_id else None

    def create(self, email: str, include_pending: bool) -> NewFeed:
        """A new feed for the account; its previous one (if any) stops at once."""
        account = self.store.staff.get(email)
        old_id = account.get("calendarFeedId") if account else None
        feed_id = secrets.token_hex(FEED_ID_LENGTH // 2)
        secret = secrets.token_urlsafe(32)
        feed = {
            "feedId": feed_id,
            "staffEmail": email,
            "secretHash": hash_secret(secret),
            "includePending": bool(include_pending),
            "createdAt": clock.iso_timestamp(),
        }
        if not self.store.feeds.replace(email, old_id, feed):
            raise FeedChanged()
        return NewFeed(feed, feed_id + secret)

    def revoke(self, email: str) -> bool:
        """Stop the account's feed; False if it had none."""
        account = self.store.staff.get(email)
        feed_id = account.get("calendarFeedId") if account else None
        if not feed_id:
            return False
        if not self.store.feeds.revoke(email, feed_id):
            raise FeedChanged()
        return True

    # -- the public fetch ----------------------------------------------------------------
    def resolve(self, token: str) -> dict[str, Any] | None:
        """The feed this token opens, or None (any malformed, unknown or revoked token)."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            return None
        feed_id, secret = token[:FEED_ID_LENGTH], token[FEED_ID_LENGTH:]
        feed = self.store.feeds.get(feed_id)
        if feed is None or not hmac.compare_digest(feed.get("secretHash", ""), hash_secret(secret)):
            return None
        account = self.store.staff.get(feed["staffEmail"])
        if account is None or account.get("calendarFeedId") != feed_id:
            return None
        return feed

    def bookings(self, feed: dict[str, Any], practitioner_id: str | None) -> list[dict]:
        today = clock.today(self.settings.tz)
        slot_from = f"{(today - timedelta(days=DAYS_BACK)).isoformat()}T00:00"
        last = today + timedelta(days=self.settings.booking_horizon_days)
        slot_to = f"{last.isoformat()}T23:59"
        statuses = [ACCEPTED] + ([PENDING] if feed.get("includePending") else [])
        items: list[dict] = []
        for status in statuses:
            start_key = None
            while True:
                found, start_key = self.store.appointments.query_status(
                    status,
                    by_request=False,
                    slot_from=slot_from,
                    slot_to=slot_to,
                    limit=PAGE,
                    start_key=start_key,
                    practitioner_id=practitioner_id,
                )
                items.extend(found)
                if start_key is None:
                    break
        return sorted(items, key=lambda item: (item["slotStart"], item["appointmentId"]))

    def render(self, items: list[dict], title: str) -> bytes:
        return render_calendar(self.settings, items, title)


def feed_sequence(item: dict[str, Any]) -> int:
    """Grows with every change staff see: 3 per move, +1 once accepted."""
    return 3 * len(item.get("moves", [])) + (1 if item.get("status") == ACCEPTED else 0)


def _stamp(item: dict[str, Any]) -> datetime:
    raw = item.get("updatedAt") or item.get("requestedAt") or "2000-01-01T00:00:00Z"
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render_calendar(settings: Settings, items: list[dict], title: str) -> bytes:
    from icalendar import Calendar, Event

    from .notifications.render import (
        appointment_minutes,
        calendar_uid,
        site_domain,
        slot_start,
    )

    calendar = Calendar()
    calendar.add("prodid", f"-//{site_domain(settings)}//Clinic calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", settings.clinic_timezone)
    calendar.add(
        "refresh-interval", timedelta(minutes=REFRESH_MINUTES), parameters={"VALUE": "DURATION"}
    )
    calendar.add("x-published-ttl", timedelta(minutes=REFRESH_MINUTES))
    names = settings.calendar_feed_patient_names
    for item in items:
        start = slot_start(settings, item)
        event = Event()
        event.add("uid", calendar_uid(settings, item))
        event.add("sequence", feed_sequence(item))
        event.add("dtstamp", _stamp(item))
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=appointment_minutes(settings, item)))
        who = item.get("practitionerName") or settings.clinic_name
        pending = item.get("status") == PENDING
        summary = f"{'Request: ' if pending else ''}Appointment with {who}"
        if names and item.get("patientName"):
            summary += f": {item['patientName']}"
        event.add("summary", summary)
        event.add("description", f"Booking reference: {item['appointmentId']}")
        event.add("status", "TENTATIVE" if pending else "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    today = clock.today(settings.tz)
    calendar.add_missing_timezones(
        first_date=today - timedelta(days=DAYS_BACK + 1),
        last_date=today + timedelta(days=settings.booking_horizon_days + 1),
    )
    if settings.clinic_timezone != "UTC" and not items:
        _add_zone(calendar, settings)
    return calendar.to_ical()


def _add_zone(calendar, settings: Settings) -> None:
    """An empty feed still names the clinic's zone (some clients want X-WR-TIMEZONE's)."""
    from icalendar import Timezone

    today = clock.today(settings.tz)
    calendar.add_component(
        Timezone.from_tzinfo(
            settings.tz,
            first_date=today - timedelta(days=DAYS_BACK + 1),
            last_date=today + timedelta(days=settings.booking_horizon_days + 1),
        )
    )


def calendar_feeds() -> CalendarFeeds:
    """The feeds service over the app's settings and store."""
    from .extensions import settings, store

    return CalendarFeeds(settings(), store())
