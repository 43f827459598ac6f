"""The staff JSON API for the schedule (/api/staff/practitioners, /schedule, /closures).

Routes on the staff API blueprint (api.bp), so the same HTTP Basic check runs before
every one and POSTs need a JSON body. Answers: `{"practitioner": ...}`,
`{"closure": ..., "affected": [...]}` and so on; errors have the usual shape. Times added
by hand (`POST /api/staff/slots`, like the availability page's "Add times") stay when
weekly hours change.
"""

from __future__ import annotations

from flask import jsonify

from ..availability import parse_times, upcoming_days
from ..closures import UnknownClosure, day_field
from ..dashboard import staff_view
from ..errors import json_error
from ..extensions import availability, closures, practitioners, schedule
from ..practitioners import UnknownPractitioner, clean_hours, public_view
from ..validation import ValidationFailed, json_object
from . import auth
from .api import bp


def _practitioner_or_404(practitioner_id: str):
    try:
        return practitioners().get(practitioner_id, fresh=True)
    except UnknownPractitioner:
        return None


def _not_found(what: str):
    return json_error(404, f"No {what} with that id.")


@bp.get("/practitioners")
def api_practitioners():
    return jsonify(practitioners=[public_view(p) for p in practitioners().all(fresh=True)])


@bp.post("/practitioners")
def api_add_practitioner():
    entry = practitioners().add(json_object())
    return jsonify(practitioner=public_view(entry)), 201


@bp.get("/practitioners/<practitioner_id>")
def api_practitioner(practitioner_id: str):
    entry = _practitioner_or_404(practitioner_id)
    if entry is None:
        return _not_found("practitioner")
    outside = [staff_view(item) for item in schedule().outside_hours(practitioner_id)]
    return jsonify(practitioner=public_view(entry), outsideHours=outside)


@bp.post("/practitioners/<practitioner_id>")
def api_edit_practitioner(practitioner_id: str):
    payload = json_object()
    if _practitioner_or_404(practitioner_id) is None:
        return _not_found("practitioner")
    entry = practitioners().update(practitioner_id, payload)
    return jsonify(practitioner=public_view(entry))


@bp.post("/practitioners/<practitioner_id>/hours")
def api_set_hours(practitioner_id: str):
    payload = json_object()
    if _practitioner_or_404(practitioner_id) is None:
        return _not_found("practitioner")
    hours = clean_hours(payload.get("hours"))
    result = schedule().apply_hours(practitioner_id, hours)
    outside = [staff_view(item) for item in schedule().outside_hours(practitioner_id)]
    entry = practitioners().get(practitioner_id, fresh=True)
    return jsonify(practitioner=public_view(entry), outsideHours=outside, **result)


@bp.post("/slots")
def api_add_slots():
    """Add open times by hand: `{"start", "end"?, "times", "skipWeekends"?, "practitioner"?}`."""
    from .forms import ADD_SLOTS_MAX_DAYS  # not at start-up: it loads wtforms

    payload = json_object()
    errors: dict[str, list[str]] = {}
    first = day_field(payload.get("start"), "start", errors)
    last = day_field(payload.get("end"), "end", errors) if payload.get("end") else first
    if first and last:
        if last < first:
            errors["end"] = ["The last day must not be before the first day."]
        elif (last - first).days >= ADD_SLOTS_MAX_DAYS:
            errors["end"] = [f"Add at most {ADD_SLOTS_MAX_DAYS} days at a time."]
    raw_times = payload.get("times")
    if isinstance(raw_times, list) and all(isinstance(t, str) for t in raw_times):
        raw_times = ",".join(raw_times)
    times: list[str] = []
    try:
        times = parse_times(raw_times if isinstance(raw_times, str) else "")
    except ValueError:
        errors["times"] = ['Give start times as HH:MM (24-hour), e.g. "09:00,09:30".']
    skip_weekends = payload.get("skipWeekends", True)
    if not isinstance(skip_weekends, bool):
        errors["skipWeekends"] = ["skipWeekends must be true or false."]
    whose = None
    try:
        whose = practitioners().for_times(payload.get("practitioner"))
    except ValidationFailed as failed:
        errors.update(failed.fields)
    if errors:
        raise ValidationFailed("Invalid times to add.", errors)
    days = upcoming_days(first, (last - first).days + 1, skip_weekends)
    created, existing = availability().create(days, times, practitioner=whose)
    return jsonify(created=created, existing=existing)


@bp.post("/schedule/roll")
def api_roll():
    json_object()
    result = schedule().roll()
    return jsonify(
        created=result.created,
        existing=result.existing,
        closed=result.skipped_closed,
        days=result.days,
    )


def _closure_view(closure: dict) -> dict:
    keys = ("id", "start", "end", "practitionerId", "reason", "createdBy", "createdAt")
    return {key: closure.get(key) for key in keys}


@bp.get("/closures")
def api_closures():
    return jsonify(closures=[_closure_view(c) for c in closures().all()])


@bp.post("/closures")
def api_close():
    closure, removed = closures().close(json_object(), auth.current_staff())
    affected = [staff_view(item) for item in closures().affected(closure)]
    return jsonify(closure=_closure_view(closure), removed=removed, affected=affected), 201


@bp.get("/closures/<closure_id>")
def api_closure(closure_id: str):
    try:
        closure = closures().get(closure_id)
    except UnknownClosure:
        return _not_found("closure")
    affected = [staff_view(item) for item in closures().affected(closure)]
    return jsonify(closure=_closure_view(closure), affected=affected)


@bp.post("/closures/<closure_id>/resolve")
def api_resolve_closure(closure_id: str):
    payload = json_object()
    try:
        closures().get(closure_id)
    except UnknownClosure:
        return _not_found("closure")
    counts = closures().resolve(closure_id, auth.current_staff(), payload.get("decisionReason"))
    return jsonify(**counts)


@bp.post("/closures/<closure_id>/lift")
def api_lift_closure(closure_id: str):
    json_object()
    try:
        result = closures().lift(closure_id)
    except UnknownClosure:
        return _not_found("closure")
    return jsonify(**result)
