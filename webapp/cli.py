"""Operator commands: `flask --app webapp create-table | populate-slots | send-reminders |
resend-owed | expire-unconfirmed | index-practitioners`.

(`create-staff` lives with the rest of staff sign-in, in staff/auth.py; the schedule's
commands in schedule_cli.py.)
"""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import with_appcontext

from .availability import DEFAULT_TIMES, parse_times, upcoming_days
from .extensions import availability, practitioners, settings, store
from .validation import ValidationFailed


@click.command("create-table")
@with_appcontext
def create_table_command():
    """Create the Appointments table and its index if it does not exist."""
    name = settings().table_name
    if store().table.create():
        click.echo(f"Created table {name}.")
        return
    click.echo(f"Table {name} already exists.")
    missing = store().table.missing_indexes()
    if missing:
        raise click.ClickException(
            f"Table {name} lacks the index(es) {', '.join(missing)} this version needs. "
            "Add them in the deployment template; for local data, reset it with "
            "`python -m localdev --reset`."
        )


@click.command("index-practitioners")
@with_appcontext
def index_practitioners_command():
    """Add the practitioner index's key to slot items made before it (one Scan; safe to
    run again: it only updates items still without one)."""
    from .store.practitioner_index import index_practitioners

    updated = index_practitioners(store().table)
    click.echo(f"Indexed {updated} item(s) by practitioner.")


@click.command("populate-slots")
@click.option(
    "--days",
    default=14,
    show_default=True,
    type=click.IntRange(1, 366),
    help="How many days ahead to create slots for.",
)
@click.option(
    "--times",
    default=DEFAULT_TIMES,
    show_default=True,
    help="Comma-separated slot start times (HH:MM, clinic-local).",
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day (YYYY-MM-DD); defaults to today in the clinic's time zone.",
)
@click.option("--skip-weekends/--include-weekends", default=True, show_default=True)
@click.option(
    "--practitioner",
    default="default",
    show_default=True,
    help="Whose times (a practitioner's id; see `practitioners`).",
)
@with_appcontext
def populate_slots_command(days: int, times: str, start, skip_weekends: bool, practitioner: str):
    """Create AVAILABLE slots by hand; safe to run again (existing slots are left alone).
    A change of weekly hours keeps these times."""
    try:
        slot_times = parse_times(times)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--times") from None
    try:
        whose = practitioners().for_times(practitioner)
    except ValidationFailed as error:
        raise click.BadParameter(error.message, param_hint="--practitioner") from None
    first: date = start.date() if start else availability().today()
    plan = upcoming_days(first, days, skip_weekends)
    with click.progressbar(length=len(plan) * len(slot_times), label="Creating slots") as bar:
        created, existing = availability().create(
            plan, slot_times, on_progress=lambda: bar.update(1), practitioner=whose
        )
    skipped = len(plan) * len(slot_times) - created - existing
    click.echo(
        f"Created {created} new slot(s); {existing} already existed; "
        f"{skipped} skipped as already started. Table: {settings().table_name}."
    )


@click.command("send-reminders")
@with_appcontext
def send_reminders_command():
    """Email reminders for ACCEPTED appointments starting soon (run it e.g. hourly)."""
    from .notifications.worker import Notifier

    counts = Notifier(settings(), store()).send_reminders()
    click.echo(
        f"Reminders: {counts['sent']} sent, {counts['skipped']} already sent or skipped, "
        f"{counts['failed']} failed (window: next {settings().reminder_hours_before} h)."
    )
    if counts["failed"]:
        raise SystemExit(1)


@click.command("resend-owed")
@click.option(
    "--since-hours",
    default=72,
    show_default=True,
    type=click.IntRange(1, 29 * 24),
    help="Bookings requested, decided or cancelled this many hours ago or later.",
)
@with_appcontext
def resend_owed_command(since_hours: int):
    """Send the emails recent bookings owe and that were never sent (safe to repeat)."""
    from .notifications.replay import resend_owed
    from .notifications.worker import Notifier

    counts = resend_owed(Notifier(settings(), store()), since_hours)
    click.echo(
        f"Owed emails: {counts['sent']} sent, {counts['skipped']} already sent or skipped, "
        f"{counts['failed']} failed ({counts['bookings']} booking(s) of the last "
        f"{since_hours} h)."
    )
    if counts["failed"]:
        raise SystemExit(1)


@click.command("expire-unconfirmed")
@with_appcontext
def expire_unconfirmed_command():
    """Offer again the times of requests never confirmed by email before their deadline
    (REQUIRE_EMAIL_CONFIRMATION; the hourly scheduled function runs it too)."""
    from .confirmation import current

    result = current().expire_due()
    click.echo(
        f"Unconfirmed requests: {result.expired} expired, {result.released} time(s) offered again."
    )


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_table_command)
    app.cli.add_command(populate_slots_command)
    app.cli.add_command(index_practitioners_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(resend_owed_command)
    app.cli.add_command(expire_unconfirmed_command)
    from .retention import purge_patient_data_command

    app.cli.add_command(purge_patient_data_command)

    from .schedule_cli import register_schedule_commands

    register_schedule_commands(app)
