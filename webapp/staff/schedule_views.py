"""The staff pages for the schedule: practitioners (details and weekly hours) and
closures. Routes on the staff pages blueprint (views.bp), so its sign-in guard runs before
every one; CSRF on every form (CSRFProtect checks each POST before the view runs)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ..closures import UnknownClosure
from ..extensions import closures, practitioners, schedule
from ..practitioners import WEEKDAYS, UnknownPractitioner, clean_hours
from ..validation import ValidationFailed
from . import auth
from .views import bp

DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def _details_form(form) -> dict:
    """A practitioner's details from a posted form (checkbox `active`)."""
    raw = {name: form.get(name, "") for name in ("name", "role", "minutes", "staffEmail")}
    raw["active"] = form.get("active") == "y"
    return raw


# -- practitioners -------------------------------------------------------------------------


@bp.route("/practitioners", methods=["GET", "POST"])
def practitioners_page():
    errors: dict = {}
    values: dict = {}
    status = 200
    if request.method == "POST":
        values = _details_form(request.form)
        values.pop("active")  # a new practitioner is active
        try:
            entry = practitioners().add(values)
        except ValidationFailed as failed:
            errors, status = failed.fields or {"name": [failed.message]}, 400
        else:
            flash(f"Added {entry['name']}. Now give them weekly hours.")
            return redirect(url_for("staff.practitioner_page", practitioner_id=entry["id"]), 303)
    return render_template(
        "staff/practitioners.html",
        practitioners=practitioners().all(fresh=True),
        errors=errors,
        values=values,
        day_names=DAY_NAMES,
    ), status


def _practitioner(practitioner_id: str) -> dict:
    try:
        return practitioners().get(practitioner_id, fresh=True)
    except UnknownPractitioner:
        abort(404, "There is no such practitioner.")


def _practitioner_page(entry: dict, status: int = 200, errors=None, hours_errors=None, hours=None):
    current = {day: ",".join(entry.get("hours", {}).get(day, [])) for day in WEEKDAYS}
    return render_template(
        "staff/practitioner.html",
        practitioner=entry,
        errors=errors or {},
        hours_errors=hours_errors or {},
        hours=hours or current,
        day_names=DAY_NAMES,
        outside=schedule().outside_hours(entry["id"]),
    ), status


@bp.route("/practitioners/<practitioner_id>", methods=["GET", "POST"])
def practitioner_page(practitioner_id: str):
    entry = _practitioner(practitioner_id)
    if request.method == "POST":
        try:
            entry = practitioners().update(practitioner_id, _details_form(request.form))
        except ValidationFailed as failed:
            return _practitioner_page(
                entry, 400, errors=failed.fields or {"name": [failed.message]}
            )
        flash("Saved.")
        return redirect(url_for("staff.practitioner_page", practitioner_id=practitioner_id), 303)
    return _practitioner_page(entry)


@bp.post("/practitioners/<practitioner_id>/hours")
def practitioner_hours(practitioner_id: str):
    entry = _practitioner(practitioner_id)
    raw = {day: request.form.get(day, "") for day in WEEKDAYS}
    try:
        result = schedule().apply_hours(practitioner_id, clean_hours(raw))
    except ValidationFailed as failed:
        return _practitioner_page(entry, 400, hours_errors=failed.fields, hours=raw)
    flash(
        f"Weekly hours saved. {result['removed']} open time(s) outside them removed; "
        f"{result['created']} new time(s) created."
    )
    return redirect(url_for("staff.practitioner_page", practitioner_id=practitioner_id), 303)


# -- closures ------------------------------------------------------------------------------


@bp.route("/closures", methods=["GET", "POST"])
def closures_page():
    errors: dict = {}
    values: dict = {}
    status = 200
    if request.method == "POST":
        values = {
            name: request.form.get(name, "")
            for name in ("start", "end", "practitionerId", "reason")
        }
        try:
            closure, removed = closures().close(values, auth.current_staff())
        except ValidationFailed as failed:
            errors, status = failed.fields or {"start": [failed.message]}, 400
        else:
            flash(f"Closed. {removed} open time(s) removed.")
            return redirect(url_for("staff.closure_page", closure_id=closure["id"]), 303)
    return render_template(
        "staff/closures.html",
        closures=closures().all(),
        practitioners=practitioners().all(),
        errors=errors,
        values=values,
    ), status


def _closure_page(closure_id: str, status: int = 200, error: str | None = None):
    try:
        closure = closures().get(closure_id)
    except UnknownClosure:
        abort(404, "There is no such closure (it may have been lifted).")
    names = {p["id"]: p["name"] for p in practitioners().all()}
    return render_template(
        "staff/closure.html",
        closure=closure,
        who=names.get(closure.get("practitionerId"), "") if closure.get("practitionerId") else "",
        affected=closures().affected(closure),
        error=error,
    ), status


@bp.get("/closures/<closure_id>")
def closure_page(closure_id: str):
    return _closure_page(closure_id)


@bp.post("/closures/<closure_id>/resolve")
def closure_resolve(closure_id: str):
    try:
        counts = closures().resolve(
            closure_id, auth.current_staff(), request.form.get("decisionReason", "")
        )
    except UnknownClosure:
        abort(404, "There is no such closure (it may have been lifted).")
    except ValidationFailed as failed:
        return _closure_page(closure_id, 400, failed.message)
    flash(
        f"Declined {counts['declined']} request(s) and cancelled {counts['cancelled']} "
        f"appointment(s); each patient will be told by email."
        + (f" {counts['skipped']} had changed meanwhile." if counts["skipped"] else "")
    )
    return redirect(url_for("staff.closure_page", closure_id=closure_id), 303)


@bp.post("/closures/<closure_id>/lift")
def closure_lift(closure_id: str):
    try:
        result = closures().lift(closure_id)
    except UnknownClosure:
        abort(404, "There is no such closure (it may have been lifted).")
    flash(f"Closure lifted; {result['reopened'] + result['created']} time(s) open again.")
    return redirect(url_for("staff.closures_page"), 303)
