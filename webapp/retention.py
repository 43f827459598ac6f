"""Patient-data retention and patients' requests: purge, export and erase.

- `purge`: the patient fields of every booking whose appointment started more than
  PATIENT_DATA_RETENTION_DAYS ago are removed, keeping the clinic's non-personal record
  (date, time, practitioner, status, who decided and when). The address's open-request
  counter entry for that booking and a suppression recorded before the cutoff go with
  it. Run daily by `handle_purge` and by `flask --app webapp purge-patient-data`.
- `export` / `erase`: everything held about one email address, for staff answering a
  patient's request. Erasing cancels the address's open future bookings in the same
  write that removes the patient's fields (so no email about them is ever sent) and
  offers their times again.

Notification claims (`notification#<id>#<requestedAt>#<kind>`) hold no patient data and
expire by TTL 30 days after their email (less than the shortest retention allowed); they
are kept on erasure because they are what stops a late stream record or a dead-letter
replay from mailing the erased patient again.

Other record kinds holding patient data (the waitlist) join by adding a `RecordSource`
class to `SOURCES`: export, erasure and the daily run then include them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from . import clock
from .store.appointments import CANCELLED
from .store.erasure import BOOKED_STATUSES, OPEN_STATUSES, Erasure
from .store.errors import ConflictingChange
from .store.open_requests import canonical_email
from .validation import ValidationFailed

log = logging.getLogger(__name__)
audit = logging.getLogger("webapp.audit")

EMAIL_MAX = 254


class RecordSource(Protocol):
    """Records of another kind kept per email address (e.g. waitlist entries)."""

    name: str

    def export(self, email_keys: list[str]) -> list[dict[str, Any]]: ...

    def erase(self, email_keys: list[str]) -> int: ...

    def purge(self) -> int:
        """Delete the records past their retention; how many."""
        ...


def _sources() -> list:
    from .waitlist import WaitlistRecords

    return [WaitlistRecords]


# Each is built with (settings, store).
SOURCES: list[type] = _sources()


def clean_address(raw: Any) -> str:
    """The address staff typed, checked; a 400 with a field message if unusable."""
    address = raw.strip() if isinstance(raw, str) else ""
    if "@" not in address or len(address) > EMAIL_MAX or any(c.isspace() for c in address):
        message = "Enter the patient's email address."
        raise ValidationFailed(message, {"email": [message]})
    return address


def address_forms(address: str) -> tuple[list[str], list[str]]:
    """(index keys, mailbox forms) an address may have been stored under: the canonical
    key bookings carry now, the lower-case key of earlier versions, each for the address
    as typed and in its ASCII (IDNA) form."""
    from .email_address import ascii_address  # loads wtforms: only where it is needed

    forms = [address]
    ascii_form = ascii_address(address)
    if ascii_form and ascii_form != address:
        forms.append(ascii_form)
    keys: list[str] = []
    mailboxes: list[str] = []
    for form in forms:
        for key in (canonical_email(form), form.strip().lower()):
            if key not in keys:
                keys.append(key)
        if form.strip().lower() not in mailboxes:
            mailboxes.append(form.strip().lower())
    return keys, mailboxes


@dataclass(frozen=True)
class Erased:
    bookings: int
    cancelled: int
    records: int


class PatientData:
    def __init__(self, settings, store, bookings, cache):
        self.settings = settings
        self.store = store
        self.bookings = bookings
        self.cache = cache
        self.erasure = Erasure(store.table)
        self.sources: list[RecordSource] = [source(settings, store) for source in SOURCES]

    # -- retention -----------------------------------------------------------------------
    def cutoffs(self) -> tuple[str, str]:
        """(slotStart, UTC timestamp) before which patient data is no longer kept."""
        days = timedelta(days=self.settings.patient_data_retention_days)
        local = clock.clinic_now(self.settings.tz) - days
        moment = clock.utcnow() - days
        return clock.slot_key(local), moment.isoformat(timespec="seconds").replace("+00:00", "Z")

    def purge(self, everything: bool = False) -> int:
        """Clear every booking older than the retention period; how many were cleared.

        Reads only the status partitions' entries since the last complete run (all of
        them with `everything`); each write is conditional, so runs may overlap."""
        before, before_iso = self.cutoffs()
        after = "0000-01-01T00:00" if everything else self.erasure.watermark()
        now = clock.iso_timestamp()
        cleared = 0
        for status in BOOKED_STATUSES:
            for page in self.erasure.old_bookings(status, min(after, before), before):
                for item in page:
                    # The address's other records first: a run that stops half-way
                    # finds this booking again, with the address still on it.
                    if item.get("emailKey"):
                        self.erasure.drop_counter_entry(item["emailKey"], item["appointmentId"])
                    if item.get("patientEmail"):
                        self.erasure.delete_suppression(item["patientEmail"], before_iso)
                    cleared += self.erasure.clear_old(item["appointmentId"], before, now)
        self.erasure.raise_watermark(before, now)
        log.info("patient data retention: %d booking(s) cleared before %s", cleared, before)
        for source in self.sources:
            source.purge()
        return cleared

    # -- a patient's request -------------------------------------------------------------
    def find(self, address: str) -> list[dict[str, Any]]:
        keys, _ = address_forms(address)
        return self.erasure.bookings_of(keys)

    def export(self, address: str, staff_email: str) -> dict[str, Any]:
        """Everything held about an address, as one JSON-ready document."""
        from .notifications.decide import KINDS

        keys, mailboxes = address_forms(address)
        found = self.erasure.bookings_of(keys)
        mailboxes += [m for m in _booking_mailboxes(found) if m not in mailboxes]
        suppressions = []
        for mailbox in mailboxes:
            item = self.erasure.suppression(mailbox)
            if item:
                suppressions.append({"address": mailbox, **_without_key(item)})
        counters = [
            {"entries": item.get("entries", {})}
            for key in keys
            if (item := self.erasure.counter(key))
        ]
        emails = []
        for booking in found:
            if booking.get("requestedAt"):
                for sent in self.erasure.claims_of(
                    booking["appointmentId"], booking["requestedAt"], KINDS
                ):
                    emails.append({"appointmentId": booking["appointmentId"], **sent})
        document = {
            "address": address,
            "exportedAt": clock.iso_timestamp(),
            "bookings": found,
            "emailsSent": emails,
            "suppressions": suppressions,
            "openRequestCounters": counters,
            **{source.name: source.export(keys) for source in self.sources},
        }
        audit.info(
            "patient data exported by %s: %d booking(s), %d other record(s)",
            staff_email,
            len(found),
            len(emails)
            + len(suppressions)
            + len(counters)
            + sum(len(document[source.name]) for source in self.sources),
        )
        return document

    def erase(self, address: str, staff_email: str) -> Erased:
        """Erase everything held about an address (see the module's docstring)."""
        keys, mailboxes = address_forms(address)
        now = clock.iso_timestamp()
        now_slot = clock.now_slot(self.settings.tz)
        erased = cancelled = records = 0
        # Waitlist entries (and other sources) first: cancelling a future booking below
        # offers its time again, and the erased patient's own entry must not be offered it.
        for source in self.sources:
            records += source.erase(keys)
        for item in self.erasure.bookings_of(keys):
            mailbox = str(item.get("patientEmail", "")).strip().lower()
            if mailbox and mailbox not in mailboxes:
                mailboxes.append(mailbox)
            if item.get("emailKey") and item["emailKey"] not in keys:
                keys.append(item["emailKey"])
            cancel = None
            if item["status"] in OPEN_STATUSES and item.get("slotStart", "") > now_slot:
                cancel = {
                    "status": CANCELLED,
                    "cancelledAt": now,
                    "cancelledBy": "staff",
                    "cancelledByStaff": staff_email,
                    "updatedAt": now,
                }
            new = self.erasure.erase_booking(item, now, cancel)
            if new is None and cancel:  # decided or cancelled meanwhile: erase as it is
                new = self.erasure.erase_booking(item, now)
            if new is None:
                continue
            erased += 1
            if cancel and new["status"] == CANCELLED:
                cancelled += 1
                self._offer_again(new["appointmentId"])
        for key in keys:
            records += self.erasure.delete_counter(key)
        for mailbox in mailboxes:
            records += self.erasure.delete_suppression(mailbox)
        for source in self.sources:  # under the keys the bookings added, if any
            records += source.erase(keys)
        if cancelled:
            self.cache.invalidate()
        audit.info(
            "patient data erased on request by %s: %d booking(s) (%d future cancelled), "
            "%d other record(s)",
            staff_email,
            erased,
            cancelled,
            records,
        )
        return Erased(erased, cancelled, records)

    def _offer_again(self, appointment_id: str) -> None:
        try:
            self.bookings.reoffer(appointment_id)
        except ConflictingChange:
            pass  # started meanwhile: nothing to offer
        except Exception:
            log.exception("could not offer the time of %s again", appointment_id)


def _booking_mailboxes(found: list[dict[str, Any]]) -> list[str]:
    return [str(b["patientEmail"]).strip().lower() for b in found if b.get("patientEmail")]


def _without_key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != "appointmentId"}


def export_json(document: dict[str, Any]) -> str:
    """The export as a JSON file (numbers as numbers, sets as sorted lists)."""
    return json.dumps(document, indent=2, sort_keys=True, default=_plain) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def export_csv(document: dict[str, Any]) -> str:
    """The export as CSV: one row per field of each record (record, id, field, value)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["record", "id", "field", "value"])
    writer.writerow(["request", "", "address", _cell(document["address"])])
    writer.writerow(["request", "", "exportedAt", document["exportedAt"]])
    for name, records in document.items():
        if not isinstance(records, list):
            continue
        for number, record in enumerate(records, start=1):
            ident = record.get("appointmentId") or record.get("address") or str(number)
            for field, value in record.items():
                writer.writerow([name, _cell(ident), field, _cell(value)])
    return out.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with '."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=_plain)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def current() -> PatientData:
    """The app's PatientData (in a request or a command)."""
    from .extensions import services

    found = services()
    return PatientData(found.settings, found.store, found.bookings, found.cache)


# -- the scheduled function ----------------------------------------------------------------
_service: PatientData | None = None


def handle_purge(event: dict[str, Any] | None = None, context=None) -> dict[str, int]:
    """EventBridge schedule (daily) -> the retention purge. Built once per process."""
    global _service
    from .observability import configure_logging, lambda_invocation

    if _service is None:
        from .extensions import build_services
        from .settings import load_settings

        settings = load_settings()
        configure_logging(settings.log_level)
        found = build_services(settings)
        _service = PatientData(settings, found.store, found.bookings, found.cache)
    with lambda_invocation(context):
        return {"cleared": _service.purge()}


# -- the command ---------------------------------------------------------------------------
def _purge_command():
    import click
    from flask.cli import with_appcontext

    @click.command("purge-patient-data")
    @click.option(
        "--all",
        "everything",
        is_flag=True,
        help="Read every past booking, not only those since the last complete run.",
    )
    @with_appcontext
    def purge_patient_data(everything: bool):
        """Erase the patient details of bookings older than PATIENT_DATA_RETENTION_DAYS
        (the daily scheduled function runs the same code; safe to repeat)."""
        service = current()
        before, _ = service.cutoffs()
        cleared = service.purge(everything=everything)
        click.echo(
            f"Cleared the patient details of {cleared} booking(s) with appointments "
            f"before {before.replace('T', ' ')} "
            f"({service.settings.patient_data_retention_days} days' retention)."
        )

    return purge_patient_data


purge_patient_data_command = _purge_command()
