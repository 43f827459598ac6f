"""The data layer: every read and write of the Appointments table; views never touch boto3.

One table holds nine kinds of record, each with a module of its own over the shared
table helper (`table.py`): slots and bookings (`appointments.py`), staff accounts
(`staff.py`), the open-request counters per email address (`open_requests.py`),
notification claims (`claims.py`), suppressed addresses (`suppressions.py`), rate-limit
counters without Redis (`counters.py`) and the health sentinel (`health.py`); moving a
booking to another time has its writes in `moves.py`; practitioners,
closures and the slot writes of the weekly roll are in `schedule.py`.
Staff calendar feeds are in `feeds.py`, waitlist entries in `waitlist.py`. Every error
this layer raises is in `errors.py`.
"""

from __future__ import annotations

from functools import cached_property

from ..settings import Settings
from .appointments import Appointments
from .claims import NotificationClaims
from .counters import TableCounters
from .feeds import CalendarFeeds
from .health import ping
from .moves import Moves
from .open_requests import OpenRequests
from .schedule import ScheduleRecords
from .staff import StaffAccounts
from .suppressions import Suppressions
from .table import Table, dynamodb_client
from .waitlist import WaitlistEntries


class Store:
    """The table and its record kinds. Nothing connects until a record is first used.

    `client`: a DynamoDB client to use instead of the process's shared one (tools that
    hold credentials of their own)."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self._client = client

    @cached_property
    def table(self) -> Table:
        client = self._client or dynamodb_client(self.settings)
        return Table(client, self.settings.table_name)

    @cached_property
    def appointments(self) -> Appointments:
        return Appointments(self.table)

    @cached_property
    def moves(self) -> Moves:
        return Moves(self.table)

    @cached_property
    def schedule(self) -> ScheduleRecords:
        return ScheduleRecords(self.table)

    @cached_property
    def staff(self) -> StaffAccounts:
        return StaffAccounts(self.table)

    @cached_property
    def open_requests(self) -> OpenRequests:
        return OpenRequests(self.table)

    @cached_property
    def claims(self) -> NotificationClaims:
        return NotificationClaims(self.table)

    @cached_property
    def counters(self) -> TableCounters:
        return TableCounters(self.table)

    @cached_property
    def suppressions(self) -> Suppressions:
        return Suppressions(self.table)

    @cached_property
    def feeds(self) -> CalendarFeeds:
        return CalendarFeeds(self.table)

    @cached_property
    def waitlist(self) -> WaitlistEntries:
        return WaitlistEntries(self.table)

    def ping(self) -> None:
        ping(self.table)
