"""The waitlist: patients waiting for a time in a date range, with one practitioner or anyone.

- Joining (`join`): the page and `POST /join-waitlist` check the same form
  (waitlist_form.py), count against the client's waitlist rate limit (limits.py) and
  take one of the address's WAITLIST_MAX_ENTRIES_PER_EMAIL places (store/waitlist.py:
  a conditional put per place, so a burst cannot exceed it). The range runs from today
  at the earliest to the booking horizon's last day. The entry is then handed to the
  notifier, which sends one email holding nothing the requester typed: the range, the
  practitioner, the link to leave.
- Offers: when a time is freed or added, the notifier (notifications/waitlist_mail.py)
  emails the first WAITLIST_OFFERS_PER_TIME entries covering it, in the order they
  joined, each with a link that books that time for them (waitlist_pages.py). Everyone
  offered a time may take it; the booking is the usual conditional write, so the first
  to confirm gets it and the others see the usual "just taken" page with other times.
- Leaving: every waitlist email carries a link; an entry ends by itself after its range,
  and once its patient books a time it offered. The daily retention run deletes ended
  entries (`WaitlistRecords.purge`), and export and erasure of an address include its
  entries (`WaitlistRecords` is a `retention.SOURCES` source).

An entry records the language it was made in (`language`: the page's, or for the JSON API
the request's Accept-Language, else CLINIC_LANGUAGE), and its emails are written in it.
Messages are marked for the catalog: pages show them in their language, JSON in English.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import clock
from .i18n import N_, current_language, gettext
from .limits import fingerprint
from .notifications import events
from .settings import WAITLIST_PLACES_MAX, Settings
from .store import Store
from .store.appointments import PatientDetails
from .store.open_requests import canonical_email
from .store.schedule import DEFAULT_ID
from .store.waitlist import ends_at
from .validation import ValidationFailed

log = logging.getLogger(__name__)


class WaitlistFull(Exception):
    """The address already holds its maximum of waitlist entries."""

    def __init__(self, limit: int):
        super().__init__(f"waitlist entry limit {limit}")
        self.limit = limit


FULL = N_(
    "This email address is already on the waitlist %(limit)d times. Please leave one of "
    "those (with the link in its email) before joining again."
)
FIRST_DAY_PAST = N_("The first day must be today or later.")
LAST_DAY_BEFORE_FIRST = N_("The last day must not be before the first day.")
LAST_DAY_TOO_LATE = N_("We open times up to %(date)s; please choose a last day until then.")


def full_message(error: WaitlistFull) -> str:
    """In the page's language on a patient page; English elsewhere (the JSON API)."""
    return gettext(FULL, limit=error.limit)


def address_key(settings: Settings, address: str) -> str:
    """The address as waitlist keys name it: a keyed hash of its canonical form, so the
    table's keys (and the notifier's logs) never hold the address itself."""
    return fingerprint(settings, "waitlist", canonical_email(address))


class Waitlist:
    def __init__(self, settings: Settings, store: Store, practitioners):
        self.settings = settings
        self.store = store
        self.practitioners = practitioners

    def today(self) -> date:
        return clock.today(self.settings.tz)

    def last_day(self) -> date:
        """The last day anyone can wait for: the booking horizon's."""
        return self.today() + timedelta(days=self.settings.booking_horizon_days - 1)

    # -- joining and leaving ---------------------------------------------------------------
    def check(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """The range's and practitioner's rules (ValidationFailed, per field); returns
        the chosen practitioner (None: anyone)."""
        errors: dict[str, list[str]] = {}
        first, last = values["from"], values["to"]
        if first < self.today():
            errors["fromDate"] = [FIRST_DAY_PAST]
        if last < first:
            errors["toDate"] = [LAST_DAY_BEFORE_FIRST]
        elif last > self.last_day():
            # Written now, with its date, in this response's language (English in JSON).
            written = clock.long_date(self.last_day(), locale=current_language())
            errors["toDate"] = [gettext(LAST_DAY_TOO_LATE, date=written)]
        practitioner = None
        if values["practitioner"]:
            try:
                chosen = values["practitioner"]
                practitioner = self.practitioners.get(chosen, field="practitionerId")
            except ValidationFailed as error:
                errors.update(error.fields)
        if errors:
            raise ValidationFailed("Some fields are missing or invalid.", errors)
        return practitioner

    def join(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add an entry (WaitlistFull when the address holds its maximum); the entry. Its
        `language` is `values["language"]`, else the clinic's."""
        practitioner = self.check(values)
        patient = PatientDetails(values["name"], values["email"])
        now = clock.utcnow()
        last = values["to"]
        entry: dict[str, Any] = {
            "entryId": secrets.token_hex(8),
            "fromDate": values["from"].isoformat(),
            "toDate": last.isoformat(),
            "slotStart": ends_at(last.isoformat()),
            "patientName": patient.name,
            "patientEmail": patient.email,
            # Names nobody: the language its emails are written in.
            "language": values.get("language") or self.settings.clinic_language,
            # Microseconds: the waitlist's order is the order of joining.
            "joinedAt": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            # DynamoDB's TTL removes it should the daily run not have (a day's margin).
            "expiresAt": int(
                datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC).timestamp()
            ),
        }
        if practitioner is not None:
            entry["practitionerId"] = practitioner["id"]
            entry["practitionerName"] = practitioner["name"]
        limit = self.settings.waitlist_max_entries_per_email
        stored = self.store.waitlist.join(
            address_key(self.settings, patient.email), entry, limit, self.today().isoformat()
        )
        if stored is None:
            log.warning(
                "waitlist refused reason=entry_cap email=%s",
                fingerprint(self.settings, "email", patient.email_key),
            )
            raise WaitlistFull(limit)
        events.publish(self.settings, None, stored)
        return stored

    def entry(self, key: str, entry_id: str) -> dict[str, Any] | None:
        """The entry a link names, while it lasts (None once left, booked or ended)."""
        entry = self.store.waitlist.get(key, entry_id)
        if entry is None or entry["toDate"] < self.today().isoformat():
            return None
        return entry

    def leave(self, key: str, entry_id: str) -> bool:
        """End the entry; False if it had ended already (a repeat is harmless)."""
        return self.store.waitlist.remove(key, entry_id)

    # -- what staff see ----------------------------------------------------------------------
    def for_day(self, day: date) -> list[dict[str, Any]]:
        """The entries waiting for a time on `day`, in the order they joined."""
        return self.store.waitlist.covering(day, self.settings.booking_horizon_days)


def matches(entry: dict[str, Any], slot: dict[str, Any]) -> bool:
    """Whether a time suits an entry: its day is in the range, and the entry is for
    anyone or for the time's practitioner (a time without one is the default's)."""
    wanted = entry.get("practitionerId")
    if not entry["fromDate"] <= slot["appointmentDate"] <= entry["toDate"]:
        return False
    return wanted is None or wanted == (slot.get("practitionerId") or DEFAULT_ID)


class WaitlistRecords:
    """The waitlist as a record source of retention.py: found, exported and erased by
    address, and deleted once ended."""

    name = "waitlistEntries"

    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store

    def _entries(self, email_keys: list[str]) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for email_key in email_keys:
            key = address_key(self.settings, email_key)
            for item in self.store.waitlist.of_address(key, WAITLIST_PLACES_MAX):
                found[item["appointmentId"]] = item
        return list(found.values())

    def export(self, email_keys: list[str]) -> list[dict[str, Any]]:
        keep = ("fromDate", "toDate", "practitionerId", "practitionerName", "joinedAt")
        keep += ("patientName", "patientEmail", "entryId")
        return [{k: item[k] for k in keep if k in item} for item in self._entries(email_keys)]

    def erase(self, email_keys: list[str]) -> int:
        return sum(
            self.store.waitlist.remove(item["appointmentId"], item["entryId"])
            for item in self._entries(email_keys)
        )

    def purge(self) -> int:
        """Delete every entry whose range has ended: it has no use left."""
        today = clock.today(self.settings.tz)
        deleted = sum(
            self.store.waitlist.remove(item["appointmentId"], item["entryId"])
            for item in self.store.waitlist.ended(today)
        )
        log.info("waitlist: %d ended entr%s deleted", deleted, "y" if deleted == 1 else "ies")
        return deleted
