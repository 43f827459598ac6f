"""Practitioners: who patients see. Their details, weekly hours and the rules for both.

A clinic always has the default practitioner (id `default`): until staff name it, it is
the clinic itself (CLINIC_NAME, APPOINTMENT_MINUTES, no weekly hours), so a clinic that
never adds one works exactly as before. Its slots keep the seed's ids (`YYYYMMDD-HHMM`);
every other practitioner's carry its id (`YYYYMMDD-HHMM-<id>`), so ids stay deterministic
and unique per practitioner and time.

Weekly hours: per weekday, ranges such as `09:00-12:00,13:00-17:00` in the clinic's time
zone, cut into appointments of the practitioner's length (see schedule.py).

The directory is read on every filtered listing and every roll, so it is kept in-process
for DIRECTORY_TTL_SECONDS (dropped at once by this process's own changes; other processes
see a change within the TTL). Slots carry their practitioner's name, so a cached listing
needs no read at all.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from datetime import date
from typing import Any

from . import clock
from .cache import SlotCache
from .i18n import N_
from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, AVAILABLE, PENDING
from .store.schedule import DEFAULT_ID, DirectoryChanged
from .validation import ValidationFailed, text_or_empty

DIRECTORY_TTL_SECONDS = 30
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME_MAX = 80
ROLE_MAX = 60
ID_MAX = 32
MINUTES_MIN, MINUTES_MAX = 5, 240
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_HEX8 = re.compile(r"^[0-9a-f]{8}$")  # the shape of a replacement slot's suffix
EDITABLE = ("name", "role", "minutes", "active", "staffEmail")


def slot_id(day: date, time_hhmm: str, practitioner_id: str | None = None) -> str:
    """Deterministic id of a practitioner's slot: the seed's form for the default one."""
    base = f"{day:%Y%m%d}-{time_hhmm.replace(':', '')}"
    if practitioner_id in (None, DEFAULT_ID):
        return base
    return f"{base}-{practitioner_id}"


def make_id(name: str, taken: set[str]) -> str:
    """A URL-safe id from a name ("Dr Jo Smith" -> "dr-jo-smith"), unique among `taken`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[: ID_MAX - 3].strip("-")
    base = base or "practitioner"
    candidate, number = base, 2
    while candidate in taken or candidate == DEFAULT_ID or _HEX8.match(candidate):
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def valid_id(raw: Any) -> bool:
    return isinstance(raw, str) and bool(_ID.match(raw)) and not _HEX8.match(raw)


def parse_ranges(raw: str) -> list[str]:
    """ "09:00-12:00, 13:00-17:00" -> ["09:00-12:00", "13:00-17:00"]; "" -> [] (closed).
    ValueError if a range is malformed, empty or overlaps another."""
    ranges = sorted(part.strip() for part in (raw or "").split(",") if part.strip())
    end_before = ""
    for text in ranges:
        match = _RANGE.match(text)
        if not match or (match.group(3) == "24" and match.group(4) != "00"):
            raise ValueError(f"{text!r} is not a range like 09:00-12:00")
        start, end = text.split("-")
        if end <= start:
            raise ValueError(f"{text!r} ends before it starts")
        if start < end_before:
            raise ValueError(f"{text!r} overlaps another range")
        end_before = end
    return ranges


def clean_hours(raw: Any) -> dict[str, list[str]]:
    """Weekly hours from {"mon": "09:00-12:00,13:00-17:00" or [...], ...}; ValidationFailed
    naming each bad day. Days not given are closed."""
    if not isinstance(raw, dict):
        raise ValidationFailed(
            "Hours must be an object of weekdays.", {"hours": ["Not an object."]}
        )
    errors: dict[str, list[str]] = {}
    hours: dict[str, list[str]] = {}
    for day, value in raw.items():
        if day not in WEEKDAYS:
            errors[day] = [f"Unknown weekday; use {', '.join(WEEKDAYS)}."]
            continue
        parts = value if isinstance(value, list) else [value]
        if not all(isinstance(part, str) for part in parts):
            errors[day] = ["Give ranges as text like 09:00-12:00,13:00-17:00."]
            continue
        text = ",".join(parts)
        try:
            ranges = parse_ranges(text)
        except ValueError as error:
            errors[day] = [str(error)]
            continue
        if ranges:
            hours[day] = ranges
    if errors:
        raise ValidationFailed("Invalid weekly hours.", errors)
    return hours


def clean_details(raw: Any, partial: bool) -> dict[str, Any]:
    """Name, role, minutes, active, staffEmail from JSON or a form; ValidationFailed."""
    if not isinstance(raw, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    details: dict[str, Any] = {}
    if not isinstance(raw.get("id"), str | None):  # chosen when adding, ignored after
        errors["id"] = ["The id must be text (lowercase letters, digits and hyphens)."]
    if "name" in raw or not partial:
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
            errors["name"] = [f"Give a display name of 1 to {NAME_MAX} characters."]
        else:
            details["name"] = " ".join(name.split())
    if "role" in raw:
        role = text_or_empty(raw, "role")
        if not isinstance(role, str) or len(role.strip()) > ROLE_MAX:
            errors["role"] = [f"The role must be text of at most {ROLE_MAX} characters."]
        else:
            details["role"] = " ".join(role.split())
    if "minutes" in raw:
        minutes = raw.get("minutes")
        if isinstance(minutes, str) and minutes.strip().isdigit():
            minutes = int(minutes)
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            minutes = None
        if minutes is None or not MINUTES_MIN <= minutes <= MINUTES_MAX:
            errors["minutes"] = [f"Appointment length: {MINUTES_MIN} to {MINUTES_MAX} minutes."]
        else:
            details["minutes"] = minutes
    if "active" in raw:
        if not isinstance(raw["active"], bool):
            errors["active"] = ["active must be true or false."]
        else:
            details["active"] = raw["active"]
    if "staffEmail" in raw:
        email = text_or_empty(raw, "staffEmail")
        if not isinstance(email, str) or (email and "@" not in email) or len(email) > 254:
            errors["staffEmail"] = ["Give a staff account's email address, or nothing."]
        else:
            details["staffEmail"] = email.strip().lower()
    if errors:
        raise ValidationFailed("Invalid practitioner details.", errors)
    return details


def public_view(entry: dict[str, Any]) -> dict[str, Any]:
    """What the staff API shows of a practitioner."""
    keys = ("id", "name", "role", "minutes", "active", "hours", "staffEmail")
    return {key: entry.get(key) for key in keys}


class UnknownPractitioner(ValidationFailed):
    """A practitioner id nobody has; its messages are marked for the catalog, so patient
    pages show them in their language (JSON answers stay English)."""

    def __init__(self, field: str = "practitioner"):
        message = N_("Choose a listed practitioner.")
        super().__init__(N_("Unknown practitioner."), {field: [message]})


class Practitioners:
    def __init__(self, settings: Settings, store: Store, cache: SlotCache):
        self.settings = settings
        self.store = store
        self.cache = cache
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    # -- reads ---------------------------------------------------------------------------
    def default_entry(self) -> dict[str, Any]:
        return {
            "id": DEFAULT_ID,
            "name": self.settings.clinic_name,
            "role": "",
            "minutes": self.settings.appointment_minutes,
            "active": True,
            "hours": {},
            "staffEmail": "",
            "revision": 0,
        }

    def directory(self, fresh: bool = False) -> dict[str, Any]:
        """{"practitioners": {...}, "closures": {...}}; `fresh` reads the table."""
        cached = self._cached
        if not fresh and cached and cached[0] > time.monotonic():
            return cached[1]
        directory = self.store.schedule.directory()
        practitioners = {  # DynamoDB numbers come back as Decimal
            key: {
                **entry,
                "id": key,
                "minutes": int(entry["minutes"]),
                "revision": int(entry["revision"]),
            }
            for key, entry in directory["practitioners"].items()
        }
        practitioners.setdefault(DEFAULT_ID, self.default_entry())
        directory = {
            "practitioners": practitioners,
            "closures": {key: {**entry, "id": key} for key, entry in directory["closures"].items()},
        }
        with self._lock:
            self._cached = (time.monotonic() + DIRECTORY_TTL_SECONDS, directory)
        return directory

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def all(self, fresh: bool = False) -> list[dict[str, Any]]:
        """Every practitioner, the default one first, then by name."""
        entries = self.directory(fresh)["practitioners"].values()
        return sorted(entries, key=lambda p: (p["id"] != DEFAULT_ID, p["name"].lower()))

    def active(self) -> list[dict[str, Any]]:
        return [p for p in self.all() if p.get("active", True)]

    def is_plural(self) -> bool:
        """Whether patients choose between practitioners (more than one is active)."""
        return len(self.active()) > 1

    def get(self, practitioner_id: Any, fresh: bool = False, field: str = "practitioner"):
        """The practitioner with this id, or UnknownPractitioner (a 400)."""
        if not valid_id(practitioner_id) and practitioner_id != DEFAULT_ID:
            raise UnknownPractitioner(field)
        entry = self.directory(fresh)["practitioners"].get(practitioner_id)
        if entry is None:
            raise UnknownPractitioner(field)
        return entry

    def for_times(self, practitioner_id: Any, field: str = "practitioner"):
        """Whose times are added by hand: the practitioner's entry (ids as `slot_id` makes
        them), or None for the clinic's default practitioner while it has never been saved
        (the clinic's pool, exactly as before practitioners). UnknownPractitioner (a 400)
        for an unknown id; ValidationFailed for an inactive one."""
        entry = self.get(practitioner_id or DEFAULT_ID, fresh=True, field=field)
        if not entry.get("active", True):
            raise ValidationFailed(
                "That practitioner is inactive.",
                {field: ["Choose an active practitioner (or make them active first)."]},
            )
        if entry["id"] == DEFAULT_ID and entry["revision"] == 0:
            return None
        return entry

    def linked_to(self, staff_email: str | None) -> dict[str, Any] | None:
        """The practitioner a staff account is linked to, if any."""
        if not staff_email:
            return None
        for entry in self.all():
            if entry.get("staffEmail") == staff_email.strip().lower():
                return entry
        return None

    # -- writes --------------------------------------------------------------------------
    def add(self, raw: dict[str, Any]) -> dict[str, Any]:
        details = {"role": "", "minutes": self.settings.appointment_minutes, "active": True}
        details.update(clean_details(raw, partial=False))
        details.setdefault("staffEmail", "")
        taken = set(self.directory(fresh=True)["practitioners"])
        requested = raw.get("id")
        if requested:
            if not valid_id(requested) or requested in taken or requested == DEFAULT_ID:
                raise ValidationFailed(
                    "Invalid id.",
                    {"id": ["Use lowercase letters, digits and hyphens; an id not yet used."]},
                )
            new_id = requested
        else:
            new_id = make_id(details["name"], taken)
        entry = {**details, "hours": {}, "createdAt": clock.iso_timestamp()}
        try:
            self.store.schedule.add_entry("practitioners", new_id, entry)
        except DirectoryChanged:
            raise ValidationFailed(
                "That id was just taken.", {"id": ["Choose another id."]}
            ) from None
        self.forget()
        return {**entry, "id": new_id, "revision": 1}

    def update(self, practitioner_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Change details; a new name is written onto their future slots and bookings."""
        current = self.get(practitioner_id, fresh=True, field="id")
        changes = clean_details(raw, partial=True)
        entry = self._save(current, changes)
        if "name" in changes and changes["name"] != current["name"]:
            self._rename_future(practitioner_id, changes["name"])
        if changes.get("active") is False and current.get("active", True):
            self.cache.invalidate()
        return entry

    def save_hours(self, practitioner_id: str, hours: dict[str, list[str]]) -> dict[str, Any]:
        current = self.get(practitioner_id, fresh=True, field="id")
        return self._save(current, {"hours": hours})

    def _save(self, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        entry = {k: v for k, v in current.items() if k not in ("id", "revision")}
        entry.update(changes)
        try:
            if current["revision"] == 0:  # the implicit default, first saved now
                self.store.schedule.add_entry("practitioners", current["id"], entry)
            else:
                self.store.schedule.replace_entry(
                    "practitioners", current["id"], entry, current["revision"]
                )
        except DirectoryChanged:
            self.forget()
            raise ValidationFailed(
                "Someone else changed this practitioner a moment ago; please try again."
            ) from None
        self.forget()
        return {**entry, "id": current["id"], "revision": current["revision"] + 1}

    def _rename_future(self, practitioner_id: str, name: str) -> None:
        after = clock.now_slot(self.settings.tz)
        for status in (AVAILABLE, PENDING, ACCEPTED):
            for item in self.store.schedule.in_window(status, after, None, practitioner_id):
                if "practitionerId" in item:
                    self.store.schedule.rename(item["appointmentId"], practitioner_id, name)
        self.cache.invalidate()
