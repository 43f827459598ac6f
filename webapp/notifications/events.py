"""The in-process path: status changes handed to the notifier when no stream will.

In AWS the table's stream (NEW_AND_OLD_IMAGES) carries every change to the notifier
Lambda. Locally and in tests there is no stream (dynalite and moto have none), so after a
successful write the app hands the same (old, new) images to the same notifier code
in-process. Either way the web request itself only writes the status change. Times freed
or added by a write that is no status change of a booking (a replacement slot, the roll,
a closure lifted, times added by hand) go through `opened`, for the waitlist's offers.
"""

from __future__ import annotations

import logging
from typing import Any

from ..settings import Settings

log = logging.getLogger(__name__)

Image = dict[str, Any] | None


def publish(settings: Settings, old: Image, new: Image) -> None:
    """Hand a committed change to the notifier when no table stream will."""
    if not settings.notify_inline:
        return
    from .worker import describe_error, process_change

    try:
        process_change(settings, old, new)
    except Exception as error:
        # A failed email never breaks or rolls back the change that caused it. Only the
        # error's type is logged: its message may quote the patient's address.
        log.error("in-process notification failed: %s", describe_error(error))


def opened(settings: Settings, slots: list[dict[str, Any]]) -> None:
    """Hand times just freed or added to the waitlist's offers when no table stream will
    (each slot: at least `appointmentId` and `appointmentDate`; the notifier reads it)."""
    if not settings.notify_inline or not slots:
        return
    from .worker import Notifier, describe_error

    try:
        Notifier(settings).offer(slots)
    except Exception as error:
        log.error("in-process waitlist offers failed: %s", describe_error(error))
