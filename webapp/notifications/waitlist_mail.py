"""The waitlist's emails: "you are on the waitlist" and "a time is free" (an offer).

- `changes(old, new)`: what a change means for the waitlist. A new entry (no old image)
  means its confirmation; a time whose new image is AVAILABLE and whose old image was
  absent or not AVAILABLE (a decline, a cancellation, a move's old time, a closure
  lifted, times added by hand or by the roll) is a freed or added time.
- `offers(...)`: for freed or added times, the entries covering each, in the order they
  joined, the first WAITLIST_OFFERS_PER_TIME of them, for times still open and ahead.
  One Query per day (store/waitlist.py), and a read of each time only when someone waits.
- Each email is claimed like every other (`notification#waitlist#<entryId>#...`): a
  repeated stream record never emails twice, and an entry is offered one time once.

No waitlist email holds anything the requester typed (not even the name): the address
was never confirmed, so the clinic's sender cannot be made to carry someone's words.
Every one carries the link to leave, and a one-click `List-Unsubscribe` header (RFC
8058). Each is written in the entry's language (its `language`, recorded at joining; the
clinic's for an entry made before entries recorded one), through render.py's
per-language environments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from .. import clock, links, manage_links
from ..email_address import ascii_address
from ..settings import SUPPORTED_LANGUAGES, Settings
from ..store.appointments import AVAILABLE, WAITLISTED
from .render import N_, _templates, _when, site_domain, translations

JOINED = "waitlist-joined"
OFFER = "waitlist-offer"
KINDS = (JOINED, OFFER)

# Every subject of the feature, in one place (translated into the entry's language).
SUBJECTS = {
    JOINED: N_("{clinic}: you are on the waitlist for a time {range}"),
    OFFER: N_("{clinic}: a time is free on {when}"),
}
# The range an entry waits for, as its emails and pages write it ("for a time ...").
ONE_DAY = N_("on %(date)s")
DAYS = N_("from %(first)s to %(last)s")


@dataclass(frozen=True)
class WaitlistNotice:
    """One waitlist email to one entry's address; `slot` is the time offered."""

    kind: str
    item: dict[str, Any]  # the waitlist entry
    slot: dict[str, Any] | None = None
    withdraws_event: bool = False

    @property
    def appointment_id(self) -> str:
        """What logs name: the time offered, else the entry's random id (never the address)."""
        if self.slot is not None:
            return self.slot["appointmentId"]
        return f"waitlist-{self.item['entryId']}"

    @property
    def dedup_key(self) -> str:
        base = f"notification#waitlist#{self.item['entryId']}#{self.kind}"
        return f"{base}#{self.slot['appointmentId']}" if self.slot is not None else base


def is_entry(image: dict[str, Any] | None) -> bool:
    return bool(image and image.get("status") == WAITLISTED and image.get("entryId"))


def opened_time(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """Whether the change frees or adds a time."""
    if not new or new.get("status") != AVAILABLE or not new.get("appointmentDate"):
        return False
    return not old or old.get("status") != AVAILABLE


def joined(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[WaitlistNotice]:
    """A new entry: its place was free, or held an ended entry (store/waitlist.py reuses
    the place with a put, which the stream shows as a MODIFY with another `entryId`)."""
    if not is_entry(new) or (old is not None and old.get("entryId") == new["entryId"]):
        return []
    return [WaitlistNotice(JOINED, new)]


def offers(settings: Settings, store, slots: list[dict[str, Any]]) -> list[WaitlistNotice]:
    """The offers freed or added `slots` mean, per time in the order entries joined."""
    from ..waitlist import matches

    now_slot = clock.now_slot(settings.tz)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        by_day.setdefault(slot["appointmentDate"], []).append(slot)
    notices = []
    for day, day_slots in sorted(by_day.items()):
        entries = store.waitlist.covering(date.fromisoformat(day), settings.booking_horizon_days)
        if not entries:
            continue
        for slot in day_slots:
            current = store.appointments.get(slot["appointmentId"])
            if current is None or current["status"] != AVAILABLE:
                continue  # booked (or removed) since: nothing to offer
            if current["slotStart"] <= now_slot:
                continue
            chosen = [entry for entry in entries if matches(entry, current)]
            chosen = chosen[: settings.waitlist_offers_per_time]
            notices += [WaitlistNotice(OFFER, entry, current) for entry in chosen]
    return notices


def language_of(settings: Settings, entry: dict[str, Any]) -> str:
    """The entry's language (the clinic's for an entry made before entries recorded one)."""
    language = entry.get("language")
    return language if language in SUPPORTED_LANGUAGES else settings.clinic_language


def date_range(entry: dict[str, Any], language: str) -> str:
    """ "on Monday 10 June 2030" or "from ... to ...", in `language`."""
    catalog = translations(language)
    first = clock.long_date(entry["fromDate"], locale=language)
    if entry["fromDate"] == entry["toDate"]:
        return catalog.ugettext(ONE_DAY) % {"date": first}
    last = clock.long_date(entry["toDate"], locale=language)
    return catalog.ugettext(DAYS) % {"first": first, "last": last}


def render(settings: Settings, notice: WaitlistNotice) -> EmailMessage | None:
    entry = notice.item
    to = ascii_address(entry["patientEmail"])
    if not to:
        return None
    language = language_of(settings, entry)
    catalog = translations(language)
    leave_token = manage_links.make_leave_token(settings, entry)
    leave_url = links.waitlist_leave_url(settings, leave_token)
    written_range = date_range(entry, language)
    context = {
        "language": language,
        "clinic_name": settings.clinic_name,
        "timezone": settings.clinic_timezone,
        "range": written_range,
        "practitioner": entry.get("practitionerName", ""),
        "offers_per_time": settings.waitlist_offers_per_time,
        "leave_url": leave_url,
        "book_url": links.public_url(settings, "/"),
    }
    when = ""
    if notice.slot is not None:
        slot = notice.slot
        when = _when(slot["appointmentDate"], slot["appointmentTime"], language)
        if slot.get("practitionerName"):
            when = catalog.ugettext(N_("%(when)s with %(practitioner)s")) % {
                "when": when,
                "practitioner": slot["practitionerName"],
            }
        token = manage_links.make_offer_token(settings, entry, slot["appointmentId"])
        context.update(when=when, offer_url=links.waitlist_offer_url(settings, token))
    env = _templates(language)
    message = EmailMessage()
    subject = catalog.ugettext(SUBJECTS[notice.kind])
    message["Subject"] = subject.format(clinic=settings.clinic_name, range=written_range, when=when)
    message["From"] = Address(settings.clinic_name, addr_spec=settings.mail_from)
    message["To"] = to
    if settings.staff_notify_email:
        message["Reply-To"] = settings.staff_notify_email
    message["Date"] = format_datetime(clock.utcnow())
    message["Message-ID"] = make_msgid(domain=site_domain(settings))
    message["Auto-Submitted"] = "auto-generated"
    # RFC 8058 one-click: the mail provider's own "unsubscribe" button POSTs there
    # (Gmail and Yahoo expect it of senders of automated mail).
    message["List-Unsubscribe"] = f"<{links.waitlist_one_click_leave_url(settings, leave_token)}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(env.get_template(f"{notice.kind}.txt").render(context))
    message.add_alternative(env.get_template(f"{notice.kind}.html").render(context), subtype="html")
    return message
