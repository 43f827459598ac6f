"""The staff's grids of times: a practitioner's week (days across, times down) and, for
reception, one day with a column per practitioner. Each cell is open, waiting (needs a
decision), accepted (patient initials) or closed, and links to its booking.

Routes on the staff pages blueprint (views.bp), so its sign-in guard runs before each.
Reads: one indexed Query per practitioner shown (the practitioner-slotStart index, every
status at once), over the grid's window; the day sheet adds one for its waitlist. Never a
Scan. Items made before that index are missing until `index-practitioners` has run.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import render_template, request

from .. import dayview
from ..extensions import availability, practitioners, store, waitlist
from ..store.practitioner_index import practitioner_key
from ..validation import ValidationFailed
from .views import bp

GRID_STATUSES = ("AVAILABLE", "PENDING", "ACCEPTED", "REMOVED")
DEFAULT_PRACTITIONER = "default"


def initials(name: str) -> str:
    return "".join(part[0] for part in str(name).split() if part[:1].isalpha()).upper()[:3]


def _cells(first: date, last: date, practitioner_ids: list[str], column) -> dict:
    """{(column, time): cell} for every time in [first, last] of these practitioners; a
    booking wins over the open or closed time it replaced."""
    after = f"{(first - timedelta(days=1)).isoformat()}T23:59"
    until = f"{last.isoformat()}T23:59"
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for practitioner_id in practitioner_ids:
        for item in store().appointments.practitioner_window(practitioner_id, after, until):
            status = item["status"]
            if status not in GRID_STATUSES:
                continue
            key = (column(item), item["appointmentTime"])
            if key not in cells or status in ("PENDING", "ACCEPTED"):
                cells[key] = {
                    "status": status,
                    "id": item["appointmentId"],
                    "initials": initials(item.get("patientName", "")),
                }
    return cells


@bp.get("/week")
def week():
    """One practitioner's week: days across, times down."""
    today = availability().today()
    errors: dict = {}
    try:
        chosen = dayview.parse_day(request.args, "week", today, "week")
    except ValidationFailed as error:
        errors, chosen = error.fields, None
    first = dayview.monday(chosen or today)
    who = request.args.get("practitioner") or DEFAULT_PRACTITIONER
    try:
        practitioner = practitioners().get(who)
    except ValidationFailed as error:
        errors.update(error.fields)
        practitioner = practitioners().get(DEFAULT_PRACTITIONER)
    days = [first + timedelta(days=offset) for offset in range(7)]
    cells = _cells(days[0], days[-1], [practitioner["id"]], lambda item: item["appointmentDate"])
    return render_template(
        "staff/week.html",
        days=days,
        today=today,
        times=sorted({time for _, time in cells}),
        cells=cells,
        practitioner=practitioner,
        practitioners=practitioners().all(),
        earlier=first - timedelta(days=7),
        later=first + timedelta(days=7),
        errors=errors,
    ), (400 if errors else 200)


@bp.get("/day")
def day():
    """Reception's day sheet: one column per practitioner, times down."""
    today = availability().today()
    errors: dict = {}
    try:
        chosen = dayview.parse_day(request.args, "day", today, "day")
    except ValidationFailed as error:
        errors, chosen = error.fields, None
    shown = chosen or today
    everyone = practitioners().all()
    cells = _cells(shown, shown, [p["id"] for p in everyone], practitioner_key)
    # A practitioner made inactive may still have bookings that day: show them too.
    shown_ids = {column for column, _ in cells}
    columns = [p for p in everyone if p.get("active", True) or p["id"] in shown_ids]
    return render_template(
        "staff/day.html",
        day=shown,
        today=today,
        columns=columns,
        times=sorted({time for _, time in cells}),
        cells=cells,
        earlier=shown - timedelta(days=1),
        later=shown + timedelta(days=1),
        errors=errors,
        # Who waits for a time this day (one Query of the waitlist's index partition).
        waiting=waitlist().for_day(shown),
    ), (400 if errors else 200)
