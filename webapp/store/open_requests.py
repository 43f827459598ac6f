"""The cap on open requests per email address: one counter item per canonical address.

An item `openrequests#<hash of the canonical address>` holds `entries` (appointment id ->
the slot's start and the request's time) and a `version`. Booking claims an entry FIRST,
with a write conditional on the version it read, and only then books the slot; if the
booking fails, the entry is removed again. So simultaneous bookings with one address
serialise on that item: exactly `limit` can hold an entry at once, on DynamoDB and on
dynalite alike (no transaction needed, which dynalite lacks).

Entries are checked, not trusted, when an address is at its cap: an entry stops counting
once its slot has started, once the booking it names is no longer open (declined,
cancelled), or, older than CLAIM_GRACE, when that booking was never written (the process
died between the claim and the booking). A cancel or decline therefore needs no second
write here, and no crash can leave an address blocked for longer than the grace period.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .errors import StoreUnavailable
from .table import Table

KEY_PREFIX = "openrequests#"
CLAIM_GRACE = timedelta(minutes=2)  # a claim this recent may still be being booked
MAX_TRIES = 25  # version conflicts under a burst; each round, one claimant wins
# Providers known to ignore dots in the local part (and their alias domains).
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def canonical_email(address: str) -> str:
    """The address as the cap counts it: NFKC, case-folded, `+tag` removed, and dots
    removed only where the provider ignores them (Gmail). Elsewhere dots are kept: at
    many providers `j.smith` and `jsmith` are different people."""
    folded = unicodedata.normalize("NFKC", address or "").strip().casefold()
    local, at, domain = folded.rpartition("@")
    if not at:
        return folded
    local = local.split("+", 1)[0]
    domain = domain.rstrip(".")
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def _age(claimed_at: str, now_iso: str) -> timedelta:
    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return parse(now_iso) - parse(claimed_at)


class OpenRequests:
    def __init__(self, table: Table):
        self.table = table

    @staticmethod
    def key(email_key: str) -> str:
        return KEY_PREFIX + hashlib.sha256(email_key.encode()).hexdigest()[:32]

    def claim(
        self,
        email_key: str,
        appointment_id: str,
        slot_start: str,
        *,
        limit: int,
        now_slot: str,
        now_iso: str,
        booking_state: Callable[[str, str], bool | None],
    ) -> bool:
        """Take one of the address's `limit` places for this request; False when all are
        held. `booking_state(appointment_id, requested_at)` says whether an entry's
        booking is open (True), closed (False) or not written (None)."""
        key = self.key(email_key)
        for _ in range(MAX_TRIES):
            item = self.table.get(key) or {}
            version = int(item.get("version", 0))
            entries = item.get("entries") or {}
            # Started appointments no longer count.
            live = {key: entry for key, entry in entries.items() if entry["s"] > now_slot}
            if len(live) >= limit:  # at the cap: check each booking before refusing
                live = {
                    key: entry
                    for key, entry in live.items()
                    if self._counts(booking_state(key, entry["t"]), entry, now_iso)
                }
            if len(live) >= limit:
                return False
            live[appointment_id] = {"s": slot_start, "t": now_iso}
            new_item = {
                "appointmentId": key,
                "kind": "openrequests",
                "entries": live,
                "version": version + 1,
            }
            if version == 0:
                condition = "attribute_not_exists(appointmentId)"
                values = None
            else:
                condition = "version = :version"
                values = self.table.to_item({":version": version})
            params: dict[str, Any] = {
                "Item": self.table.to_item(new_item),
                "ConditionExpression": condition,
            }
            if values:
                params["ExpressionAttributeValues"] = values
            if self.table.conditional("put_item", **params) is not None:
                return True
        raise StoreUnavailable("open-request counter contention")

    @staticmethod
    def _counts(state: bool | None, entry: dict[str, Any], now_iso: str) -> bool:
        if state is None:  # not (yet) booked: counts while it may still be in progress
            return _age(entry["t"], now_iso) < CLAIM_GRACE
        return state

    def release(self, email_key: str, appointment_id: str) -> None:
        """Give the place back (the booking it was claimed for did not happen)."""
        self.table.conditional(
            "update_item",
            Key=self.table.key(self.key(email_key)),
            UpdateExpression="REMOVE entries.#id ADD version :one",
            ConditionExpression="attribute_exists(appointmentId)",
            ExpressionAttributeNames={"#id": appointment_id},
            ExpressionAttributeValues=self.table.to_item({":one": 1}),
        )
