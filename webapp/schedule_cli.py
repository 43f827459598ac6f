"""Operator commands for the schedule: practitioners, weekly hours, the roll, closures.

`flask --app webapp add-practitioner | edit-practitioner | practitioners | set-hours |
roll-schedule | close | closures | lift-closure`. Each runs the same code as the staff
pages and the staff API.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from .extensions import closures, practitioners, schedule
from .practitioners import WEEKDAYS, clean_hours
from .validation import ValidationFailed

OPERATOR = "cli"


def _fail(error: ValidationFailed) -> click.ClickException:
    details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.fields.items())
    return click.ClickException(f"{error.message} {details}".strip())


def _describe(entry: dict) -> str:
    hours = ", ".join(f"{day} {'+'.join(entry['hours'][day])}" for day in entry.get("hours", {}))
    state = "active" if entry.get("active", True) else "inactive"
    role = f" ({entry['role']})" if entry.get("role") else ""
    return (
        f"{entry['id']}: {entry['name']}{role}, {entry['minutes']} min, {state}; "
        f"hours: {hours or 'none'}"
    )


@click.command("add-practitioner")
@click.argument("name")
@click.option("--id", "practitioner_id", default=None, help="Id (default: from the name).")
@click.option("--role", default="", help='e.g. "GP" or "Physiotherapist".')
@click.option("--minutes", type=int, default=None, help="Appointment length in minutes.")
@click.option("--staff-email", default="", help="Link a staff account (sees theirs first).")
@with_appcontext
def add_practitioner_command(name, practitioner_id, role, minutes, staff_email):
    """Add a practitioner (then give them hours with set-hours)."""
    raw = {"name": name, "role": role, "staffEmail": staff_email, "id": practitioner_id}
    if minutes is not None:
        raw["minutes"] = minutes
    try:
        entry = practitioners().add(raw)
    except ValidationFailed as error:
        raise _fail(error) from None
    click.echo(f"Added {_describe(entry)}")


@click.command("edit-practitioner")
@click.argument("practitioner_id")
@click.option("--name", default=None)
@click.option("--role", default=None)
@click.option("--minutes", type=int, default=None)
@click.option("--active/--inactive", default=None)
@click.option("--staff-email", default=None)
@with_appcontext
def edit_practitioner_command(practitioner_id, name, role, minutes, active, staff_email):
    """Change a practitioner's name, role, length, active state or linked staff account
    (`default` is the clinic's default practitioner)."""
    raw = {
        key: value
        for key, value in {
            "name": name,
            "role": role,
            "minutes": minutes,
            "active": active,
            "staffEmail": staff_email,
        }.items()
        if value is not None
    }
    try:
        entry = practitioners().update(practitioner_id, raw)
    except ValidationFailed as error:
        raise _fail(error) from None
    click.echo(f"Saved {_describe(entry)}")


@click.command("practitioners")
@with_appcontext
def list_practitioners_command():
    """List the practitioners and their weekly hours."""
    for entry in practitioners().all(fresh=True):
        click.echo(_describe(entry))


def _hours_options(command):
    for day in reversed(WEEKDAYS):
        command = click.option(
            f"--{day}", default=None, help=f"{day} ranges, e.g. 09:00-12:00,13:00-17:00"
        )(command)
    return command


@click.command("set-hours")
@click.argument("practitioner_id")
@_hours_options
@with_appcontext
def set_hours_command(practitioner_id, **days):
    """Set weekly hours (days not given are closed). Open times outside the new hours are
    removed; bookings outside them stay and are listed."""
    raw = {day: value for day, value in days.items() if value}
    try:
        hours = clean_hours(raw)
        result = schedule().apply_hours(practitioner_id, hours)
        outside = schedule().outside_hours(practitioner_id)
    except ValidationFailed as error:
        raise _fail(error) from None
    click.echo(
        f"Hours saved. {result['removed']} open time(s) outside them removed; "
        f"{result['created']} new time(s) created."
    )
    for item in outside:
        click.echo(
            f"  outside hours: {item['appointmentId']} {item['appointmentDate']} "
            f"{item['appointmentTime']} {item['status']}"
        )


@click.command("roll-schedule")
@with_appcontext
def roll_schedule_command():
    """Create the open times of the next BOOKING_HORIZON_DAYS from the weekly hours
    (safe to run as often as you like; it is also run daily)."""
    result = schedule().roll()
    click.echo(
        f"Rolled {result.days} day(s): {result.created} new time(s); {result.existing} "
        f"already there; {result.skipped_closed} inside closures."
    )


@click.command("close")
@click.argument("start")
@click.argument("end", required=False)
@click.option("--practitioner", default="", help="Close one practitioner (default: clinic).")
@click.option("--reason", default="", help="A note for staff (e.g. public holiday).")
@with_appcontext
def close_command(start, end, practitioner, reason):
    """Close the clinic (or one practitioner) from START to END (YYYY-MM-DD, inclusive)."""
    raw = {"start": start, "end": end or start, "practitionerId": practitioner, "reason": reason}
    try:
        closure, removed = closures().close(raw, OPERATOR)
    except ValidationFailed as error:
        raise _fail(error) from None
    click.echo(f"Closure {closure['id']} recorded; {removed} open time(s) removed.")
    for item in closures().affected(closure):
        click.echo(
            f"  to decline or cancel: {item['appointmentId']} {item['appointmentDate']} "
            f"{item['appointmentTime']} {item['status']}"
        )


@click.command("closures")
@with_appcontext
def list_closures_command():
    """List the closures."""
    for closure in closures().all():
        who = closure.get("practitionerId") or "whole clinic"
        click.echo(f"{closure['id']}: {closure['start']} to {closure['end']}, {who}")


@click.command("lift-closure")
@click.argument("closure_id")
@with_appcontext
def lift_closure_command(closure_id):
    """Lift a closure: its times are offered again (as the weekly hours say)."""
    try:
        result = closures().lift(closure_id)
    except ValidationFailed as error:
        raise _fail(error) from None
    click.echo(f"Lifted; {result['reopened']} time(s) reopened, {result['created']} created.")


def register_schedule_commands(app: Flask) -> None:
    for command in (
        add_practitioner_command,
        edit_practitioner_command,
        list_practitioners_command,
        set_hours_command,
        roll_schedule_command,
        close_command,
        list_closures_command,
        lift_closure_command,
    ):
        app.cli.add_command(command)
