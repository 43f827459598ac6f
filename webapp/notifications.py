"""Which emails a status change means, what they say, and how they are sent.

- `decide(old, new)` is a pure function of a change's two item images (the DynamoDB
  stream's OldImage/NewImage, or the same pair handed over in-process): it returns the
  notices the change calls for and nothing else.
- `render(settings, notice)` builds the `EmailMessage` (plain text + HTML from
  templates/email/, an `.ics` file for accepted and cancelled appointments).
- `send(settings, message, notice)` delivers it through EMAIL_BACKEND: `ses` (SES raw
  email, so attachments work), `outbox` (an .eml file per message, for development) or
  `console` (the whole message in the log, development only).

Logs name the kind of email, the appointmentId and where it went, never patient data.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import clock
from .appointments import ACCEPTED, AVAILABLE, CANCELLED, DECLINED, PENDING
from .aws import aws_client
from .manage_links import make_token
from .settings import Settings

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"

# Kinds of email. The kind is part of the de-duplication key, so never rename one.
RECEIVED = "request-received"
STAFF_NEW_REQUEST = "staff-new-request"
ACCEPTED_KIND = "accepted"
DECLINED_KIND = "declined"
CANCELLED_KIND = "cancelled"
REMINDER = "reminder"
KINDS = (RECEIVED, STAFF_NEW_REQUEST, ACCEPTED_KIND, DECLINED_KIND, CANCELLED_KIND, REMINDER)

Image = dict[str, Any] | None


@dataclass(frozen=True)
class Notice:
    """One email to send about one booking request (an item image)."""

    kind: str
    item: dict[str, Any]
    # A cancellation of an accepted appointment also withdraws its calendar event.
    withdraws_event: bool = False

    @property
    def appointment_id(self) -> str:
        return self.item["appointmentId"]

    @property
    def dedup_key(self) -> str:
        """Identifies this email for this booking request: sent at most once."""
        return f"notification#{self.appointment_id}#{self.item['requestedAt']}#{self.kind}"


# -- deciding ---------------------------------------------------------------------------
def _is_booking(image: Image) -> bool:
    return bool(
        image
        and image.get("appointmentId")
        and image.get("requestedAt")
        and image.get("patientEmail")
        and image.get("slotStart")
    )


def decide(old: Image, new: Image) -> list[Notice]:
    """The emails a change from `old` to `new` means; [] for anything else.

    Decided from the two images alone, so a duplicate or late stream record can only
    repeat (and be de-duplicated) what its own change meant: "accepted" is only ever
    sent for a change whose new image is ACCEPTED, and so on.
    """
    if not _is_booking(new):
        return []  # removals, AVAILABLE slots, de-dup records, other records
    old_status = old.get("status") if old else None
    new_status = new.get("status")
    same_request = bool(old) and old.get("requestedAt") == new.get("requestedAt")

    if new_status == PENDING and old_status in (None, AVAILABLE):
        return [Notice(RECEIVED, new), Notice(STAFF_NEW_REQUEST, new)]
    if not same_request:
        return []
    if old_status == PENDING and new_status == ACCEPTED:
        return [Notice(ACCEPTED_KIND, new)]
    if old_status == PENDING and new_status == DECLINED:
        return [Notice(DECLINED_KIND, new)]
    if old_status in (PENDING, ACCEPTED) and new_status == CANCELLED:
        return [Notice(CANCELLED_KIND, new, withdraws_event=old_status == ACCEPTED)]
    return []


def reminder(item: dict[str, Any]) -> Notice | None:
    """The reminder for an ACCEPTED appointment, or None if the item isn't one."""
    if item.get("status") != ACCEPTED or not _is_booking(item):
        return None
    return Notice(REMINDER, item)


# -- rendering --------------------------------------------------------------------------
_SUBJECTS = {
    RECEIVED: "{clinic}: we received your appointment request for {when}",
    STAFF_NEW_REQUEST: "New appointment request waiting: {when}",
    ACCEPTED_KIND: "{clinic}: your appointment on {when} is confirmed",
    DECLINED_KIND: "{clinic}: we could not confirm your appointment request for {when}",
    CANCELLED_KIND: "{clinic}: your appointment on {when} is cancelled",
    REMINDER: "Reminder: your appointment at {clinic} on {when}",
}

_env = None
_env_lock = threading.Lock()


def _templates():
    global _env
    if _env is None:
        with _env_lock:
            if _env is None:
                from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

                _env = Environment(
                    loader=FileSystemLoader(str(TEMPLATES)),
                    autoescape=select_autoescape(
                        enabled_extensions=("html",), disabled_extensions=("txt",), default=True
                    ),
                    undefined=StrictUndefined,
                    keep_trailing_newline=True,
                    trim_blocks=True,
                    lstrip_blocks=True,
                )
    return _env


def _long_date(value: str) -> str:
    day = date.fromisoformat(value)
    return f"{day:%A} {day.day} {day:%B %Y}"


def site_domain(settings: Settings) -> str:
    return urlsplit(settings.public_base_url).hostname or "localhost"


def calendar_uid(settings: Settings, item: dict[str, Any]) -> str:
    """Stable per booking request, so a later update or cancellation replaces the event."""
    return f"{item['appointmentId']}-{item['requestedAt']}@{site_domain(settings)}"


def slot_start(settings: Settings, item: dict[str, Any]) -> datetime:
    """The appointment's start as an aware datetime in the clinic's time zone."""
    return datetime.fromisoformat(item["slotStart"]).replace(tzinfo=settings.tz)


def calendar_file(settings: Settings, item: dict[str, Any], cancel: bool = False) -> bytes:
    """An iCalendar invitation (or its cancellation) for an accepted appointment."""
    from icalendar import Calendar, Event, vCalAddress

    start = slot_start(settings, item)
    calendar = Calendar()
    calendar.add("prodid", f"-//{site_domain(settings)}//Clinic appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")

    event = Event()
    event.add("uid", calendar_uid(settings, item))
    # Calendar clients replace an event with the same UID and a higher SEQUENCE.
    event.add("sequence", 1 if cancel else 0)
    event.add("dtstamp", clock.utcnow())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=settings.appointment_minutes))
    event.add("summary", f"Appointment at {settings.clinic_name}")
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
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
    return f"{settings.public_base_url}/manage/{make_token(settings, item)}"


def recipient(settings: Settings, notice: Notice) -> str | None:
    if notice.kind == STAFF_NEW_REQUEST:
        return settings.staff_notify_email
    return notice.item["patientEmail"]


def render(settings: Settings, notice: Notice) -> EmailMessage | None:
    """The email for a notice; None when it has nobody to go to (no staff address)."""
    to = recipient(settings, notice)
    if not to:
        return None
    item = notice.item
    when = f"{_long_date(item['appointmentDate'])} at {item['appointmentTime']}"
    context = {
        "kind": notice.kind,
        "clinic_name": settings.clinic_name,
        "timezone": settings.clinic_timezone,
        "when": when,
        "patient_name": item.get("patientName", ""),
        "patient_email": item["patientEmail"],
        "notes": item.get("notes", ""),
        "reason": item.get("decisionReason", ""),
        "cancelled_by": item.get("cancelledBy", ""),
        "minutes": settings.appointment_minutes,
        "manage_url": manage_url(settings, item),
        "book_url": f"{settings.public_base_url}/",
        "staff_url": f"{settings.public_base_url}/staff/",
        "calendar_attached": notice.kind == ACCEPTED_KIND,
        "withdraws_event": notice.withdraws_event,
    }
    env = _templates()
    text = env.get_template(f"{notice.kind}.txt").render(context)
    html = env.get_template(f"{notice.kind}.html").render(context)

    message = EmailMessage()
    message["Subject"] = _SUBJECTS[notice.kind].format(clinic=settings.clinic_name, when=when)
    message["From"] = Address(settings.clinic_name, addr_spec=settings.mail_from)
    message["To"] = to
    if notice.kind != STAFF_NEW_REQUEST and settings.staff_notify_email:
        message["Reply-To"] = settings.staff_notify_email
    message["Date"] = format_datetime(clock.utcnow())
    message["Message-ID"] = make_msgid(domain=site_domain(settings))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")

    if notice.kind == ACCEPTED_KIND or notice.withdraws_event:
        cancel = notice.withdraws_event
        message.add_attachment(
            calendar_file(settings, item, cancel=cancel).decode("utf-8"),
            subtype="calendar",
            filename="appointment.ics",
            params={"method": "CANCEL" if cancel else "REQUEST"},
        )
    return message


# -- sending ----------------------------------------------------------------------------
def ses_client(settings: Settings):
    """The process's SES client for the configured region."""
    return aws_client("ses", settings.aws_region)


def send(settings: Settings, message: EmailMessage, notice: Notice) -> None:
    """Deliver through the configured backend; raises if the email could not be sent."""
    backend = settings.email_backend
    if backend == "ses":
        response = ses_client(settings).send_raw_email(
            Source=settings.mail_from, RawMessage={"Data": message.as_bytes(policy=SMTP)}
        )
        log.info(
            "email %s for %s sent (SES %s)",
            notice.kind,
            notice.appointment_id,
            response.get("MessageId", "?"),
        )
    elif backend == "outbox":
        path = _write_outbox(settings, message, notice)
        log.info(
            "email %s for %s written to outbox: %s", notice.kind, notice.appointment_id, path.name
        )
    elif backend == "console":
        # Development only (refused in production by the settings): prints patient data.
        log.info(
            "email %s for %s:\n%s",
            notice.kind,
            notice.appointment_id,
            message.as_string(),
        )
    else:  # pragma: no cover - settings reject other values
        raise ValueError(f"unknown EMAIL_BACKEND {backend!r}")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _write_outbox(settings: Settings, message: EmailMessage, notice: Notice) -> Path:
    folder = Path(settings.outbox_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.utcnow().strftime("%Y%m%dT%H%M%S%f")
    base = f"{stamp}-{notice.kind}-{_UNSAFE.sub('_', notice.appointment_id)}"
    data = message.as_bytes()
    for attempt in range(100):
        path = folder / (f"{base}.eml" if attempt == 0 else f"{base}-{attempt}.eml")
        try:
            with path.open("xb") as file:  # never overwrite (a frozen clock in tests)
                file.write(data)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"outbox: too many files named {base}*")
