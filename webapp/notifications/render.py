"""Rendering: the email for a notice, from the templates in templates/email/.

Plain text and HTML parts, and an `.ics` file for accepted appointments (or its
cancellation). The notifier runs without Flask, so it has its own Jinja environments, one
per language, built on first use. A patient's email is written in the language of their
booking (its `language`, recorded when it was made); staff emails in English.
"""

from __future__ import annotations

import functools
import threading
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import clock, links
from ..email_address import ascii_address
from ..manage_links import make_token
from ..settings import SUPPORTED_LANGUAGES, Settings
from ..store.appointments import UNCONFIRMED
from ..store.moves import booking_ref
from .decide import (
    ACCEPTED_KIND,
    CANCELLED_KIND,
    DECLINED_KIND,
    RECEIVED,
    REMINDER,
    RESCHEDULED_KIND,
    STAFF_NEW_REQUEST,
    Notice,
)

# The waitlist's emails are rendered by waitlist_mail.py (which imports this module).
WAITLIST_KINDS = ("waitlist-joined", "waitlist-offer")

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "email"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:
    return message


_SUBJECTS = {
    RECEIVED: N_("{clinic}: we received your appointment request for {when}"),
    STAFF_NEW_REQUEST: "New appointment request waiting: {when}",
    ACCEPTED_KIND: N_("{clinic}: your appointment on {when} is confirmed"),
    DECLINED_KIND: N_("{clinic}: we could not confirm your appointment request for {when}"),
    CANCELLED_KIND: N_("{clinic}: your appointment on {when} is cancelled"),
    REMINDER: N_("Reminder: your appointment at {clinic} on {when}"),
    RESCHEDULED_KIND: N_("{clinic}: your appointment request is moved to {when}"),
}

CONFIRM_SUBJECT = N_("{clinic}: please confirm your appointment request for {when}")

_envs: dict[str, Any] = {}
_env_lock = threading.Lock()


@functools.cache
def translations(language: str):
    """The compiled catalog of `language` (English, the source's language, has none)."""
    from babel.support import NullTranslations, Translations

    if language == "en":
        return NullTranslations()
    catalog = Translations.load(str(TRANSLATIONS), [language])
    if not isinstance(catalog, Translations):
        # Babel falls back to English when the .mo is missing: a package built without
        # compiling its catalogs would send English to every patient without a word.
        raise RuntimeError(f"no compiled catalog for {language!r} in {TRANSLATIONS}")
    return catalog


def _templates(language: str = "en"):
    env = _envs.get(language)
    if env is None:
        with _env_lock:
            env = _envs.get(language)
            if env is None:
                from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

                env = Environment(
                    loader=FileSystemLoader(str(TEMPLATES)),
                    autoescape=select_autoescape(
                        enabled_extensions=("html",), disabled_extensions=("txt",), default=True
                    ),
                    undefined=StrictUndefined,
                    keep_trailing_newline=True,
                    trim_blocks=True,
                    lstrip_blocks=True,
                    extensions=["jinja2.ext.i18n"],
                )
                env.install_gettext_translations(translations(language), newstyle=True)
                _envs[language] = env
    return env


def email_language(settings: Settings, notice: Notice) -> str:
    """Staff read English; a patient reads the language of their booking (the clinic's
    for a booking made before bookings recorded one)."""
    if notice.kind == STAFF_NEW_REQUEST:
        return "en"
    language = notice.item.get("language")
    return language if language in SUPPORTED_LANGUAGES else settings.clinic_language


def _when(date: str, time: str, language: str) -> str:
    """ "Monday 3 June 2030 at 09:00", in `language`."""
    return translations(language).ugettext(N_("%(date)s at %(time)s")) % {
        "date": clock.long_date(date, locale=language),
        "time": clock.time_of_day(time, locale=language),
    }


def site_domain(settings: Settings) -> str:
    return urlsplit(settings.public_base_url).hostname or "localhost"


def calendar_uid(settings: Settings, item: dict[str, Any]) -> str:
    """Stable per booking request, so a later update or cancellation replaces the event.

    Derived from the item the booking was first made on, so it survives a move."""
    return f"{booking_ref(item)}-{item['requestedAt']}@{site_domain(settings)}"


def calendar_sequence(item: dict[str, Any], kind: str) -> int:
    """The event's SEQUENCE: every later version of one booking's event is higher.

    With n moves so far: the move's own (tentative) version 3n-1, the confirmation 3n,
    the cancellation 3n+1; a booking never moved keeps 0 and 1.
    """
    moves = len(item.get("moves", []))
    offset = {RESCHEDULED_KIND: -1, ACCEPTED_KIND: 0}.get(kind, 1)
    return max(0, 3 * moves + offset)


def slot_start(settings: Settings, item: dict[str, Any]) -> datetime:
    """The appointment's start as an aware datetime in the clinic's time zone."""
    return datetime.fromisoformat(item["slotStart"]).replace(tzinfo=settings.tz)


def appointment_minutes(settings: Settings, item: dict[str, Any]) -> int:
    """The appointment's length: its practitioner's (carried on the slot), else the
    clinic's APPOINTMENT_MINUTES."""
    return int(item.get("minutes") or settings.appointment_minutes)


def calendar_file(
    settings: Settings, item: dict[str, Any], kind: str = ACCEPTED_KIND, language: str = "en"
) -> bytes:
    """An iCalendar invitation for an accepted appointment (`accepted`), its new time
    awaiting confirmation (`rescheduled`: tentative), or its cancellation (any other); its
    title in `language`."""
    from icalendar import Calendar, Event, vCalAddress

    cancel = kind not in (ACCEPTED_KIND, RESCHEDULED_KIND)
    start = slot_start(settings, item)
    calendar = Calendar()
    calendar.add("prodid", f"-//{site_domain(settings)}//Clinic appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")

    event = Event()
    event.add("uid", calendar_uid(settings, item))
    # Calendar clients replace an event with the same UID and a higher SEQUENCE.
    event.add("sequence", calendar_sequence(item, kind))
    event.add("dtstamp", clock.utcnow())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=appointment_minutes(settings, item)))
    catalog = translations(language)
    if item.get("practitionerName"):
        summary = catalog.ugettext(N_("Appointment with %(practitioner)s at %(clinic)s"))
    else:
        summary = catalog.ugettext(N_("Appointment at %(clinic)s"))
    names = {"practitioner": item.get("practitionerName", ""), "clinic": settings.clinic_name}
    event.add("summary", summary % names)
    status = {ACCEPTED_KIND: "CONFIRMED", RESCHEDULED_KIND: "TENTATIVE"}.get(kind, "CANCELLED")
    event.add("status", status)
    organizer = vCalAddress(f"mailto:{settings.mail_from}")
    organizer.params["cn"] = settings.clinic_name
    event.add("organizer", organizer)
    event.add(
        "attendee",
        f"mailto:{item['patientEmail']}",
        parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"},
    )
    if not cancel:
        event.add("url", manage_url(settings, item))
    calendar.add_component(event)
    calendar.add_missing_timezones(
        first_date=start.date() - timedelta(days=7), last_date=start.date() + timedelta(days=7)
    )
    return calendar.to_ical()


def manage_url(settings: Settings, item: dict[str, Any]) -> str:
    return links.manage_url(settings, make_token(settings, item))


def recipient(settings: Settings, notice: Notice) -> str | None:
    if notice.kind == STAFF_NEW_REQUEST:
        return settings.staff_notify_email
    return notice.item["patientEmail"]


# What a requester typed into the booking form, as the templates name it.
REQUESTER_TYPED = ("patient_name", "patient_email", "notes")


def may_quote_requester(notice: Notice) -> bool:
    """Whether the email may carry what the requester typed (name, address, notes).

    Nobody verifies the address a booking is made for, and anyone holding the booking's
    link can cancel or move it. An email that follows only the requester's own actions
    ("request received" and its confirmation link, their own cancellation, their move)
    would let anyone send their words from the clinic's address to any inbox, so it quotes
    nothing of theirs. Only an email after a staff decision (acceptance, refusal, the
    reminder of an accepted appointment, a cancellation by staff) may greet by name:
    staff have seen the request by then. The clinic's own notice of a request goes to
    the clinic's address, which must see it all.
    """
    if notice.kind in (STAFF_NEW_REQUEST, ACCEPTED_KIND, DECLINED_KIND, REMINDER):
        return True
    return notice.kind == CANCELLED_KIND and notice.item.get("cancelledBy") == "staff"


def render(settings: Settings, notice: Notice) -> EmailMessage | None:
    """The email for a notice; None when it has nobody to go to (no staff address)."""
    if notice.kind in WAITLIST_KINDS:
        from . import waitlist_mail

        return waitlist_mail.render(settings, notice)
    # SES takes ASCII addresses only (an internationalised domain in its IDNA form); an
    # address it can never deliver to is not sent to at all.
    to = ascii_address(recipient(settings, notice))
    if not to:
        return None
    item = notice.item
    language = email_language(settings, notice)
    catalog = translations(language)
    when = _when(item["appointmentDate"], item["appointmentTime"], language)
    if item.get("practitionerName"):
        when = catalog.ugettext(N_("%(when)s with %(practitioner)s")) % {
            "when": when,
            "practitioner": item["practitionerName"],
        }
    context = {
        "kind": notice.kind,
        "language": language,
        "clinic_name": settings.clinic_name,
        "timezone": settings.clinic_timezone,
        "when": when,
        "patient_name": item.get("patientName", ""),
        "patient_email": item["patientEmail"],
        "notes": item.get("notes", ""),
        "reason": item.get("decisionReason", ""),
        "cancelled_by": item.get("cancelledBy", ""),
        "minutes": appointment_minutes(settings, item),
        "manage_url": manage_url(settings, item),
        "book_url": links.public_url(settings, "/"),
        "staff_url": links.public_url(settings, "/staff/"),
        "calendar_attached": _calendar_kind(notice) is not None and not notice.withdraws_event,
        "withdraws_event": notice.withdraws_event,
        "previous_when": _previous_when(item, language),
    }
    if not may_quote_requester(notice):
        for typed in REQUESTER_TYPED:
            del context[typed]
    if notice.kind == RECEIVED:
        context["cancel_url"] = f"{context['manage_url']}/cancel"
        context["confirm_url"] = ""
        if item.get("status") == UNCONFIRMED and item.get("confirmBy"):
            from ..confirmation import confirm_url

            context["confirm_url"] = confirm_url(settings, item)
            context["confirm_by"] = clock.clinic_time(item["confirmBy"], settings.tz, language)
    env = _templates(language)
    text = env.get_template(f"{notice.kind}.txt").render(context)
    html = env.get_template(f"{notice.kind}.html").render(context)

    message = EmailMessage()
    subject = _SUBJECTS[notice.kind]
    if notice.kind == RECEIVED and context.get("confirm_url"):
        subject = CONFIRM_SUBJECT
    message["Subject"] = catalog.ugettext(subject).format(clinic=settings.clinic_name, when=when)
    message["From"] = Address(settings.clinic_name, addr_spec=settings.mail_from)
    message["To"] = to
    if notice.kind != STAFF_NEW_REQUEST and settings.staff_notify_email:
        message["Reply-To"] = settings.staff_notify_email
    message["Date"] = format_datetime(clock.utcnow())
    message["Message-ID"] = make_msgid(domain=site_domain(settings))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")

    kind = _calendar_kind(notice)
    if kind is not None:
        cancel = notice.withdraws_event
        message.add_attachment(
            calendar_file(settings, item, kind, language).decode("utf-8"),
            subtype="calendar",
            filename="appointment.ics",
            params={"method": "CANCEL" if cancel else "REQUEST"},
        )
    return message


def _calendar_kind(notice: Notice) -> str | None:
    """Which calendar file the email carries, if any (see `calendar_file`)."""
    if notice.withdraws_event:
        return CANCELLED_KIND
    if notice.kind == ACCEPTED_KIND:
        return ACCEPTED_KIND
    if notice.kind == RESCHEDULED_KIND and notice.item.get("inCalendar"):
        return RESCHEDULED_KIND  # moves the event the patient already has
    return None


def _previous_when(item: dict[str, Any], language: str) -> str:
    if "previousDate" not in item:
        return ""
    return _when(item["previousDate"], item["previousTime"], language)
