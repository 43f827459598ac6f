"""The staff JSON API for the schedule (/api/staff/practitioners, /schedule, /closures).

Routes on the staff API blueprint (api.bp), so the same HTTP Basic check runs before
every one and POSTs need a JSON body. Answers: `{"practitioner": ...}`,
`{"closure": ..., "affected": [...]}` and so on; errors have the usual shape.
"""

from __future__ import annotations

from flask import jsonify

from ..closures import UnknownClosure
from ..dashboard import staff_view
from ..errors import json_error
from ..extensions import closures, practitioners, schedule
from ..practitioners import UnknownPractitioner, clean_hours, public_view
from . import auth
from .api import _payload, bp


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
    entry = practitioners().add(_payload())
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
    payload = _payload()
    if _practitioner_or_404(practitioner_id) is None:
        return _not_found("practitioner")
    entry = practitioners().update(practitioner_id, payload)
    return jsonify(practitioner=public_view(entry))


@bp.post("/practitioners/<practitioner_id>/hours")
def api_set_hours(practitioner_id: str):
    payload = _payload()
    if _practitioner_or_404(practitioner_id) is None:
        return _not_found("practitioner")
    hours = clean_hours(payload.get("hours"))
    result = schedule().apply_hours(practitioner_id, hours)
    outside = [staff_view(item) for item in schedule().outside_hours(practitioner_id)]
    entry = practitioners().get(practitioner_id, fresh=True)
    return jsonify(practitioner=public_view(entry), outsideHours=outside, **result)


@bp.post("/schedule/roll")
def api_roll():
    _payload()
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
    closure, removed = closures().close(_payload(), auth.current_staff())
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
    payload = _payload()
    try:
        closures().get(closure_id)
    except UnknownClosure:
        return _not_found("closure")
    counts = closures().resolve(closure_id, auth.current_staff(), payload.get("decisionReason"))
    return jsonify(**counts)


@bp.post("/closures/<closure_id>/lift")
def api_lift_closure(closure_id: str):
    _payload()
    try:
        result = closures().lift(closure_id)
    except UnknownClosure:
        return _not_found("closure")
    return jsonify(**result)
