"""The waitlist's pages: join (a form linked from the listing), leave, and book an offer.

- `/waitlist`: the form (name, address, first and last day, practitioner or anyone),
  with inline errors; then a thank-you page. Counted like booking attempts (limits.py).
- `/waitlist/leave/<token>`: GET shows a button, POST (CSRF) ends the entry; a mail
  scanner following the link leaves nothing, and a repeat is harmless.
- `/waitlist/leave/<token>/one-click`: the emails' `List-Unsubscribe` address, where a
  mail provider's own button POSTs (RFC 8058, no cookies, so no CSRF token).
- `/waitlist/offer/<token>`: the offered time and who it is for; POST (CSRF) books it
  through the usual conditional booking, so of everyone offered it the first wins and the
  others get the usual "just taken" page with other times. Booking ends the entry.

Patient pages (i18n.PATIENT_BLUEPRINTS): written in the page's language, which an entry
joined here records, as does a booking made from an offer (like any booking page).
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from . import manage_links
from .extensions import availability, bookings, limits, practitioners, settings, waitlist
from .http import private
from .i18n import N_, current_language
from .limits import client_ip
from .manage_links import INVALID_LINK
from .pages import JUST_BOOKED_SESSION_KEY, taken_page
from .store.appointments import AVAILABLE, PatientDetails
from .store.errors import AppointmentNotFound, SlotUnavailable, Unavailable
from .validation import HONEYPOT_FIELD, ValidationFailed, check_honeypot
from .waitlist import WaitlistFull, full_message

bp = Blueprint("waitlist_pages", __name__)

OFFER_GONE = N_(
    "This offer is no longer open: you have left the waitlist, booked a time from it, or "
    "its dates have passed."
)


@bp.route("/waitlist", methods=["GET", "POST"])
def join():
    from .waitlist_form import WaitlistForm  # wtforms: only where the form is used

    form = WaitlistForm()
    if request.method == "GET":
        form.practitionerId.data = request.args.get("practitioner", "")
    if request.method == "POST":
        check_honeypot(request.form.get(HONEYPOT_FIELD))
    if form.validate_on_submit():
        limits().count_waitlist_join(client_ip())
        try:
            entry = waitlist().join({**form.values(), "language": current_language()})
        except ValidationFailed as error:
            for name, messages in error.fields.items():
                form[name].errors = list(form[name].errors) + messages
        except WaitlistFull as error:
            form.patientEmail.errors = [full_message(error)]
        else:
            # Times may be open in these dates already (not to the patient's liking, or
            # not seen): say so, with links, rather than leave them waiting for an email.
            open_now, _outcome = availability().open_days(
                date.fromisoformat(entry["fromDate"]),
                date.fromisoformat(entry["toDate"]),
                entry.get("practitionerId"),
            )
            body = render_template(
                "waitlist_joined.html",
                entry=entry,
                open_now=[(date.fromisoformat(day), n) for day, n in sorted(open_now.items())],
            )
            return private(make_response(body))
    body = render_template(
        "waitlist.html",
        form=form,
        honeypot_field=HONEYPOT_FIELD,
        practitioners=practitioners().active() if practitioners().is_plural() else [],
        today=waitlist().today(),
        last_day=waitlist().last_day(),
    )
    return private(make_response(body, 400 if form.errors else 200))


@bp.route("/waitlist/leave/<token>", methods=["GET", "POST"])
def leave(token: str):
    # CSRFProtect has checked a POST's token before this view runs.
    try:
        key, entry_id = manage_links.read_leave_token(settings(), token)
    except manage_links.BadManageToken:
        abort(404, INVALID_LINK)
    if request.method == "POST":
        waitlist().leave(key, entry_id)
        return private(make_response(render_template("waitlist_leave.html", left=True)))
    entry = waitlist().entry(key, entry_id)
    body = render_template("waitlist_leave.html", entry=entry, token=token, left=entry is None)
    return private(make_response(body))


@bp.route("/waitlist/leave/<token>/one-click", methods=["GET", "POST"])
def leave_one_click(token: str):
    """RFC 8058: a mail provider's "unsubscribe" button POSTs `List-Unsubscribe=One-Click`
    here, without cookies (so without a CSRF token: exempt; the signed token in the path
    is the key, as for the page's link). Anything else is sent to the page with its
    button, so a GET (a mail scanner) changes nothing."""
    if request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click":
        try:
            key, entry_id = manage_links.read_leave_token(settings(), token)
        except manage_links.BadManageToken:
            abort(404, INVALID_LINK)
        waitlist().leave(key, entry_id)
        return private(make_response("", 204))
    return redirect(url_for("waitlist_pages.leave", token=token), 303)


@bp.route("/waitlist/offer/<token>", methods=["GET", "POST"])
def offer(token: str):
    # CSRFProtect has checked a POST's token before this view runs.
    try:
        key, entry_id, appointment_id = manage_links.read_offer_token(settings(), token)
    except manage_links.BadManageToken:
        abort(404, INVALID_LINK)
    entry = waitlist().entry(key, entry_id)
    if entry is None:
        abort(404, OFFER_GONE)
    try:
        slot = availability().get_slot(appointment_id)
    except AppointmentNotFound:
        abort(404, N_("We could not find that appointment time."))
    if not availability().is_bookable(slot):
        reason = Unavailable.TAKEN if slot["status"] != AVAILABLE else Unavailable.PAST
        return taken_page(slot, reason)
    if request.method == "GET":
        body = render_template("waitlist_offer.html", slot=slot, entry=entry, token=token)
        return private(make_response(body))
    limits().count_booking_attempt(client_ip())
    patient = PatientDetails(
        entry["patientName"], entry["patientEmail"], language=current_language()
    )
    try:
        item = bookings().book(appointment_id, patient)
    except SlotUnavailable as error:
        return taken_page(slot, error.reason)
    waitlist().leave(key, entry_id)  # they have a time now: no more offers
    session[JUST_BOOKED_SESSION_KEY] = item["appointmentId"]
    return redirect(url_for("pages.manage", token=manage_links.make_token(settings(), item)), 303)
