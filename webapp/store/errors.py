"""Every error the data layer raises; the error handlers map each to an HTTP answer."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class StoreError(Exception):
    """Base class of the data layer's errors."""


class StoreUnavailable(StoreError):
    """DynamoDB is throttling or unreachable; the client may retry later."""


class AppointmentNotFound(StoreError):
    """No slot or booking has that id (other record kinds never count as one)."""


class Unavailable(StrEnum):
    """Why an existing slot cannot be booked."""

    TAKEN = "taken"  # somebody else has it (or it was removed)
    PAST = "past"  # it has already started


class SlotUnavailable(StoreError):
    """The slot exists but cannot be booked; `reason` says why."""

    def __init__(self, reason: Unavailable):
        super().__init__(reason)
        self.reason = reason


class Conflict(StrEnum):
    """Why a conditional change of a booking did not apply."""

    STATUS = "status"  # it is no longer in a state that allows the change
    PAST = "past"  # the appointment has started
    STALE = "stale"  # it is no longer the request the caller meant


class ConflictingChange(StoreError):
    """A conditional change did not apply; `current` is the item as it is now."""

    def __init__(self, current: dict[str, Any], reason: Conflict):
        super().__init__(reason)
        self.current = current
        self.reason = reason
