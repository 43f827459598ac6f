"""Patients' data requests, for staff: find, export (JSON, CSV) and erase everything
held about one email address (see retention.py).

The pages are routes on the staff pages blueprint (its sign-in guard and CSRF on every
form); the API routes are on the staff API blueprint (HTTP Basic, JSON bodies). The
address travels only in POST bodies, never in a URL (URLs end up in logs and history).
Erasing asks for confirmation: the page shows what will go and needs a second POST
with `confirm`; the API needs `"confirm": true`.
"""

from __future__ import annotations

from flask import Response, flash, jsonify, redirect, render_template, request, url_for

from ..errors import json_error
from ..retention import clean_address, current, export_csv, export_json
from ..validation import ValidationFailed, json_object
from . import api, auth
from .views import bp

CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json"


def _download(body: str, mimetype: str, extension: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="patient-data.{extension}"'
    return response


def _form_address() -> tuple[str | None, dict]:
    try:
        return clean_address(request.form.get("email")), {}
    except ValidationFailed as failed:
        return None, failed.fields


# -- pages ---------------------------------------------------------------------------------


@bp.route("/privacy", methods=["GET", "POST"])
def privacy_page():
    address, errors, found = None, {}, None
    if request.method == "POST":
        address, errors = _form_address()
        if address:
            found = current().find(address)
    status = 400 if errors else 200
    return render_template(
        "staff/privacy.html", address=address, errors=errors, found=found
    ), status


@bp.post("/privacy/export.json")
def privacy_export_json():
    return _page_export("json")


@bp.post("/privacy/export.csv")
def privacy_export_csv():
    return _page_export("csv")


def _page_export(extension: str):
    address, errors = _form_address()
    if not address:
        return render_template("staff/privacy.html", errors=errors, found=None), 400
    document = current().export(address, auth.current_staff())
    if extension == "csv":
        return _download(export_csv(document), CSV_TYPE, "csv")
    return _download(export_json(document), JSON_TYPE, "json")


@bp.post("/privacy/erase")
def privacy_erase():
    address, errors = _form_address()
    if not address:
        return render_template("staff/privacy.html", errors=errors, found=None), 400
    service = current()
    if request.form.get("confirm") != "yes":
        found = service.find(address)
        return render_template("staff/privacy_confirm.html", address=address, found=found)
    erased = service.erase(address, auth.current_staff())
    flash(
        f"Erased: {erased.bookings} booking(s) ({erased.cancelled} future one(s) cancelled "
        f"without emailing the patient) and {erased.records} other record(s)."
    )
    return redirect(url_for("staff.privacy_page"), 303)


# -- the staff API -------------------------------------------------------------------------


def _api_address() -> str:
    return clean_address(json_object().get("email"))


@api.bp.post("/privacy/export")
def api_privacy_export():
    document = current().export(_api_address(), auth.current_staff())
    return Response(export_json(document), mimetype=JSON_TYPE)


@api.bp.post("/privacy/export.csv")
def api_privacy_export_csv():
    document = current().export(_api_address(), auth.current_staff())
    return _download(export_csv(document), CSV_TYPE, "csv")


@api.bp.post("/privacy/erase")
def api_privacy_erase():
    address = _api_address()
    if request.get_json(silent=True).get("confirm") is not True:
        message = 'Erasing cannot be undone: send "confirm": true.'
        return json_error(400, message, {"confirm": [message]})
    erased = current().erase(address, auth.current_staff())
    return jsonify(
        erased={
            "bookings": erased.bookings,
            "cancelled": erased.cancelled,
            "otherRecords": erased.records,
        }
    )
