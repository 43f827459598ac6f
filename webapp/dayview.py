"""The patients' first page: a calendar of a few weeks, and the times of one day.

The calendar shows WEEKS_SHOWN weeks (Monday to Sunday); each day with free times links to
that day. Its "which days, how many" comes from one cached window read
(`Availability.open_days`: the window's index entries projected to `slotStart`), and the
chosen day's times from the day's own listing window. With "anyone" chosen, each time of
the day is listed once (`one_per_time`), not once per practitioner free then. So the page
reads and weighs the same whatever the horizon or the number of practitioners. Everything
is in the query string (`day`, `week`, `practitioner`): links and a GET form, bookmarkable,
no script.
A bad `day` or `week` is a field error marked for the catalog: the page shows it in its
language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter

from .i18n import N_
from .validation import ValidationFailed

WEEKS_SHOWN = 4
# How far from today a day or week may be asked for (further is a 400, not a 500).
REACH_DAYS = 731
# What a bad date says, per parameter read ("from" is read as the day).
NOT_A_DATE = {
    "day": N_("The day must be a date in the form YYYY-MM-DD."),
    "week": N_("The week must be a date in the form YYYY-MM-DD."),
}
OUT_OF_REACH = {
    "day": N_("The day must be within two years of today."),
    "week": N_("The week must be within two years of today."),
}


@dataclass
class CalendarDay:
    day: date
    free: int
    past: bool
    today: bool
    selected: bool


@dataclass
class Calendar:
    first: date  # a Monday
    weeks: list[list[CalendarDay]] = field(default_factory=list)
    earlier: date | None = None  # the first Monday of the weeks before, if any
    later: date | None = None

    @property
    def last(self) -> date:
        return self.first + timedelta(days=7 * WEEKS_SHOWN - 1)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_day(args, name: str, today: date, label: str) -> date | None:
    """A YYYY-MM-DD query parameter near today; ValidationFailed (under `day`) otherwise,
    its message the one of `label` ("day" or "week")."""
    raw = args.get(name, "")
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        value = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("Invalid date.", {"day": [NOT_A_DATE[label]]}) from None
    if abs((value - today).days) > REACH_DAYS:
        raise ValidationFailed("Date out of range.", {"day": [OUT_OF_REACH[label]]})
    return value


def choose(args, today: date) -> tuple[date | None, date]:
    """(the chosen day or None, the first Monday shown) from `day` (`from`, the old list's
    filter, is read as the day) and `week`; ValidationFailed for a bad one."""
    day = parse_day(args, "day", today, "day") if args.get("day") else None
    if day is None:
        day = parse_day(args, "from", today, "day")
    week = parse_day(args, "week", today, "week")
    first = monday(week or day or today)
    return day, max(first, monday(today))


def build(first: date, today: date, counts: dict[str, int], selected: date | None) -> Calendar:
    calendar = Calendar(first=first)
    for week in range(WEEKS_SHOWN):
        row = []
        for offset in range(7):
            day = first + timedelta(days=7 * week + offset)
            row.append(
                CalendarDay(
                    day=day,
                    free=counts.get(day.isoformat(), 0),
                    past=day < today,
                    today=day == today,
                    selected=day == selected,
                )
            )
        calendar.weeks.append(row)
    span = timedelta(days=7 * WEEKS_SHOWN)
    if first > monday(today):
        calendar.earlier = max(first - span, monday(today))
    if (first + span - today).days <= REACH_DAYS - 7 * WEEKS_SHOWN:
        calendar.later = first + span
    return calendar


def first_free(counts: dict[str, int]) -> date | None:
    days = sorted(day for day, free in counts.items() if free)
    return date.fromisoformat(days[0]) if days else None


def one_per_time(slots: list[dict]) -> list[dict]:
    """A day's free slots (in the listing's order: by start, then id) -> one per distinct
    time, each with `free`: how many slots (practitioners) are free at that time.

    With "anyone" chosen, a time is one link whether one practitioner or six are free then,
    so the page does not grow with the number of practitioners; the booking page says with
    whom. The k-th time of the day leads to the (k mod free)-th of its slots: "anyone"
    spreads over the practitioners instead of always filling the same diary first, and the
    choice depends only on the day's free times (the cached listing), so every patient is
    shown the same links.
    """
    times = []
    same_start = itemgetter("appointmentDate", "appointmentTime")
    for position, (_, group) in enumerate(groupby(slots, key=same_start)):
        same = list(group)
        times.append(dict(same[position % len(same)], free=len(same)))
    return times
