"""Operator commands: `flask --app webapp create-table | populate-slots | send-reminders`.

(`create-staff` lives with the rest of staff sign-in, in auth.py.)
"""

from __future__ import annotations

import re
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .slots import upcoming_days

DEFAULT_TIMES = (
    "09:00,09:30,10:00,10:30,11:00,11:30,13:00,13:30,14:00,14:30,15:00,15:30,16:00,16:30"
)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_times(raw: str) -> list[str]:
    times = sorted({part.strip() for part in raw.split(",") if part.strip()})
    bad = [t for t in times if not _TIME.match(t)]
    if bad or not times:
        raise click.BadParameter(f"times must be HH:MM (24h), comma separated; got {raw!r}")
    return times


@click.command("create-table")
@with_appcontext
def create_table_command():
    """Create the Appointments table and its index if it does not exist."""
    service = current_app.extensions["slots"]
    name = service.settings.table_name
    if service.store.create_table():
        click.echo(f"Created table {name}.")
        return
    click.echo(f"Table {name} already exists.")
    missing = service.store.missing_indexes()
    if missing:
        raise click.ClickException(
            f"Table {name} lacks the index(es) {', '.join(missing)} this version needs. "
            "Add them in the deployment template; for local data, reset it with "
            "`python -m localdev --reset`."
        )


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
@with_appcontext
def populate_slots_command(days: int, times: str, start, skip_weekends: bool):
    """Create AVAILABLE slots; safe to run again (existing slots are left alone)."""
    service = current_app.extensions["slots"]
    slot_times = parse_times(times)
    first: date = start.date() if start else service.today()
    plan = upcoming_days(first, days, skip_weekends)
    with click.progressbar(length=len(plan) * len(slot_times), label="Creating slots") as bar:
        created, existing = service.create_slots(
            plan, slot_times, on_progress=lambda: bar.update(1)
        )
    skipped = len(plan) * len(slot_times) - created - existing
    click.echo(
        f"Created {created} new slot(s); {existing} already existed; "
        f"{skipped} skipped as already started. Table: {service.settings.table_name}."
    )


@click.command("send-reminders")
@with_appcontext
def send_reminders_command():
    """Email reminders for ACCEPTED appointments starting soon (run it e.g. hourly)."""
    from .notifier import Notifier

    settings = current_app.config["SETTINGS"]
    counts = Notifier(settings).send_reminders()
    click.echo(
        f"Reminders: {counts['sent']} sent, {counts['skipped']} already sent or skipped, "
        f"{counts['failed']} failed (window: next {settings.reminder_hours_before} h)."
    )
    if counts["failed"]:
        raise SystemExit(1)


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_table_command)
    app.cli.add_command(populate_slots_command)
    app.cli.add_command(send_reminders_command)
