"""Closures: the clinic, or one practitioner, is away for a range of days.

Closing (`close`):
1. the closure is recorded in the directory (so every later roll skips those days);
2. every time the weekly hours would give in the range, up to the horizon, is made a
   REMOVED item (`closure#<id>`): an open one is turned into one, a missing one is
   written as one. Each is a conditional write on the slot's own key, so a roll running
   at the same moment either created the slot first (and this turns it REMOVED) or finds
   the tombstone and creates nothing. A booking made first is left alone;
3. any other open time in the range (added by hand, a declined request's time offered
   again) is turned REMOVED too.
Requests and accepted appointments in the range are then listed (`affected`); staff
decline or cancel them all in one action (`resolve`, through bookings.decline and
cancel_by_staff, so each patient gets the usual email). The time each gives back is
written as this closure's REMOVED time from the start (bookings.offer_again finds the
closure, recorded in step 1): it is never listed nor offered to the waitlist, not even
for a moment, and the lift reopens it with the rest.

Lifting (`lift`) removes the record, reopens the times this closure removed (not those
staff removed by hand, nor those another closure still covers), and rolls the range.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from . import clock
from .bookings import Bookings, clean_reason
from .cache import SlotCache
from .notifications import events
from .practitioners import Practitioners, slot_id
from .schedule import Schedule, is_closed, starts_for
from .settings import Settings
from .store import Store
from .store.appointments import ACCEPTED, AVAILABLE, PENDING
from .store.errors import ConflictingChange
from .store.schedule import DEFAULT_ID, REMOVED, DirectoryChanged
from .validation import ValidationFailed, text_or_empty

REASON_MAX = 200
CLOSURE_MAX_DAYS = 366


class UnknownClosure(ValidationFailed):
    def __init__(self):
        super().__init__("Unknown closure.", {"closure": ["No such closure (lifted already?)."]})


def _before(day: str) -> str:
    """The `slotStart` just before a day begins (Queries take starts strictly after)."""
    return f"{(date.fromisoformat(day) - timedelta(days=1)).isoformat()}T23:59"


def day_field(raw: Any, field: str, errors: dict[str, list[str]]) -> date | None:
    """A YYYY-MM-DD field of a staff request as a date; None, with a message for `field`
    in `errors`, when it is anything else."""
    if isinstance(raw, date):
        return raw
    try:
        if not isinstance(raw, str) or len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = ["Give a date in the form YYYY-MM-DD."]
        return None


class Closures:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        cache: SlotCache,
        practitioners: Practitioners,
        schedule: Schedule,
        bookings: Bookings,
    ):
        self.settings = settings
        self.store = store
        self.cache = cache
        self.practitioners = practitioners
        self.schedule = schedule
        self.bookings = bookings

    # -- reads ---------------------------------------------------------------------------
    def all(self) -> list[dict[str, Any]]:
        """Every closure, soonest first."""
        closures = self.practitioners.directory(fresh=True)["closures"].values()
        return sorted(closures, key=lambda c: (c["start"], c["end"], c["id"]))

    def get(self, closure_id: str) -> dict[str, Any]:
        closure = self.practitioners.directory(fresh=True)["closures"].get(closure_id)
        if closure is None:
            raise UnknownClosure()
        return closure

    def affected(self, closure: dict[str, Any]) -> list[dict[str, Any]]:
        """Future requests and accepted appointments inside a closure."""
        items = []
        for status in (PENDING, ACCEPTED):
            items.extend(self._in_range(closure, status))
        return sorted(items, key=lambda item: (item["slotStart"], item["appointmentId"]))

    def _in_range(self, closure: dict[str, Any], status: str) -> list[dict[str, Any]]:
        after = max(_before(closure["start"]), clock.now_slot(self.settings.tz))
        until = f"{closure['end']}T23:59"
        return self.store.schedule.in_window(
            status, after, until, closure.get("practitionerId") or None
        )

    # -- writes --------------------------------------------------------------------------
    def close(self, raw: dict[str, Any], staff_email: str) -> tuple[dict[str, Any], int]:
        """Record a closure and remove its open times; (closure, times removed)."""
        closure = self._clean(raw)
        closure_id = f"{closure['start'].replace('-', '')}-{secrets.token_hex(3)}"
        entry = {**closure, "createdBy": staff_email, "createdAt": clock.iso_timestamp()}
        try:
            self.store.schedule.add_entry("closures", closure_id, entry)
        except DirectoryChanged:
            raise ValidationFailed("Please try again.") from None
        self.practitioners.forget()
        closure = {**entry, "id": closure_id}
        removed = self._remove_open_times(closure)
        return closure, removed

    def _clean(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ValidationFailed("The request body must be a JSON object.")
        errors: dict[str, list[str]] = {}
        start = day_field(raw.get("start"), "start", errors)
        last = raw.get("end")
        if last is None or last == "":  # the first day only (anything else must be a day)
            last = raw.get("start")
        end = day_field(last, "end", errors) if start else None
        if start and end:
            if end < start:
                errors["end"] = ["The last day must not be before the first day."]
            elif (end - start).days >= CLOSURE_MAX_DAYS:
                errors["end"] = [f"Close at most {CLOSURE_MAX_DAYS} days at a time."]
            elif end < clock.today(self.settings.tz):
                errors["end"] = ["The closure is already over."]
        reason = text_or_empty(raw, "reason")
        if not isinstance(reason, str) or len(reason.strip()) > REASON_MAX:
            errors["reason"] = [f"The note must be text of at most {REASON_MAX} characters."]
        practitioner_id = text_or_empty(raw, "practitionerId")
        if not isinstance(practitioner_id, str):
            errors["practitionerId"] = ["Choose a listed practitioner, or none for the clinic."]
        elif practitioner_id:
            try:
                self.practitioners.get(practitioner_id, fresh=True, field="practitionerId")
            except ValidationFailed as failed:
                errors.update(failed.fields)
        if errors:
            raise ValidationFailed("Invalid closure.", errors)
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "practitionerId": practitioner_id,
            "reason": " ".join(reason.split()),
        }

    def _remove_open_times(self, closure: dict[str, Any]) -> int:
        removed_by = f"closure#{closure['id']}"
        now = clock.iso_timestamp()
        now_slot = clock.now_slot(self.settings.tz)
        removed = 0
        first = max(date.fromisoformat(closure["start"]), clock.today(self.settings.tz))
        last = min(date.fromisoformat(closure["end"]), self.schedule.horizon_end())
        who = closure.get("practitionerId")
        for practitioner in self.practitioners.all(fresh=True):
            if who and practitioner["id"] != who:
                continue
            day = first
            while day <= last:
                for hhmm in starts_for(practitioner, day, self.settings.tz):
                    if f"{day.isoformat()}T{hhmm}" > now_slot:
                        removed += self.store.schedule.tombstone(
                            slot_id(day, hhmm, practitioner["id"]),
                            day.isoformat(),
                            hhmm,
                            practitioner,
                            removed_by,
                            now,
                        )
                day += timedelta(days=1)
        for item in self._in_range(closure, AVAILABLE):
            removed += (
                self.store.schedule.remove_open(item["appointmentId"], removed_by, now) is not None
            )
        self.cache.invalidate()
        return removed

    def resolve(self, closure_id: str, staff_email: str, reason: str) -> dict[str, int]:
        """Decline every request and cancel every accepted appointment in the closure;
        each patient is told by email. Changes that no longer apply are skipped."""
        closure = self.get(closure_id)
        reason = clean_reason(reason)
        counts = {"declined": 0, "cancelled": 0, "skipped": 0}
        for item in self.affected(closure):
            try:
                if item["status"] == PENDING:
                    self.bookings.decline(item["appointmentId"], staff_email, reason)
                    counts["declined"] += 1
                else:
                    self.bookings.cancel_by_staff(item["appointmentId"], staff_email)
                    counts["cancelled"] += 1
            except ConflictingChange:
                counts["skipped"] += 1
        return counts

    def lift(self, closure_id: str) -> dict[str, int]:
        """Remove a closure; its times are offered again (as the weekly hours say)."""
        closure = self.get(closure_id)
        try:
            self.store.schedule.remove_entry("closures", closure_id)
        except DirectoryChanged:
            raise UnknownClosure() from None
        self.practitioners.forget()
        others = [c for c in self.all() if c["id"] != closure_id]
        removed_by = f"closure#{closure_id}"
        now_slot = clock.now_slot(self.settings.tz)
        reopened = 0
        opened: list[dict] = []
        after = max(_before(closure["start"]), now_slot)
        for item in self.store.schedule.in_window(REMOVED, after, f"{closure['end']}T23:59"):
            if item.get("removedBy") != removed_by:
                continue
            day = date.fromisoformat(item["appointmentDate"])
            covering = [
                c for c in others if is_closed([c], item.get("practitionerId") or DEFAULT_ID, day)
            ]
            if covering:  # another closure still covers it: it stays closed, as theirs
                self.store.schedule.retag(
                    item["appointmentId"], removed_by, f"closure#{covering[0]['id']}"
                )
                continue
            if self.store.schedule.reopen(
                item["appointmentId"], removed_by, now_slot, clock.iso_timestamp()
            ):
                reopened += 1
                opened.append(item)
        if reopened:
            self.cache.invalidate()
            events.opened(self.settings, opened)
        start, end = date.fromisoformat(closure["start"]), date.fromisoformat(closure["end"])
        created = self.schedule.roll(start, end).created
        return {"reopened": reopened, "created": created}
