"""Patient pages: browse slots, book one, then see, move or cancel it through a private link.

Works without JavaScript. After booking, the browser is redirected (post/redirect/get) to
the request's manage page, whose signed link is the patient's way back to it. The same
form sent again from the same browser session with the same address (a double click, or
back and submit) leads to that booking rather than "no longer available".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

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

from . import links, manage_links
from .availability import group_by_day, has_started
from .bookings import conflict_message
from .extensions import availability, bookings, limits, practitioners, rescheduling, settings
from .http import private
from .i18n import N_, current_language
from .limits import client_ip, fingerprint
from .store.appointments import ACCEPTED, AVAILABLE, PENDING, UNCONFIRMED
from .store.errors import (
    AppointmentNotFound,
    Conflict,
    ConflictingChange,
    SlotUnavailable,
    Unavailable,
)
from .store.open_requests import canonical_email
from .validation import (
    HONEYPOT_FIELD,
    ValidationFailed,
    check_honeypot,
)

if TYPE_CHECKING:
    from .booking_form import BookingForm

bp = Blueprint("pages", __name__)

JUST_BOOKED_SESSION_KEY = "just_booked"
JUST_MOVED_SESSION_KEY = "just_moved"
ALTERNATIVES_SHOWN = 6
INVALID_LINK = manage_links.INVALID_LINK


# -- choosing and booking a time ---------------------------------------------------------


@bp.get("/")
def index():
    from . import dayview

    errors: dict[str, list[str]] = {}
    today = availability().today()
    try:
        day, first = dayview.choose(request.args, today)
    except ValidationFailed as error:
        errors = error.fields
        day, first = None, dayview.monday(today)
    chosen = request.args.get("practitioner", "")
    if chosen:
        try:
            chosen = practitioners().get(chosen)["id"]
        except ValidationFailed as error:
            errors.update(error.fields)
            chosen = ""
    last = first + timedelta(days=7 * dayview.WEEKS_SHOWN - 1)
    counts, _ = availability().open_days(first, last, chosen or None)
    preselected = day is None
    if preselected:
        day = dayview.first_free(counts)
    slots = availability().list_open(day, day, chosen or None)[0] if day else []
    choices = practitioners().active() if practitioners().is_plural() else []
    if choices and not chosen:
        slots = dayview.one_per_time(slots)  # "anyone": each time once
    return render_template(
        "index.html",
        calendar=dayview.build(first, today, counts, day),
        day=day,
        preselected=preselected,
        days=group_by_day(slots),
        week_arg=request.args.get("week", "") if not errors else "",
        practitioners=choices,
        practitioner=chosen,
        filtered=bool(request.args.get("day") or request.args.get("week") or chosen),
        filter_errors=errors,
    ), (400 if errors else 200)


def taken_page(slot: dict, reason: Unavailable):
    alternatives, _ = availability().list_open()
    return (
        render_template(
            "slot_taken.html",
            slot=slot,
            reason=reason,
            alternatives=group_by_day(alternatives[:ALTERNATIVES_SHOWN]),
        ),
        409,
    )


def _submission_key() -> str:
    """Names this browser session (by its CSRF secret, which only it holds) without
    storing the secret itself."""
    secret = session.get("csrf_token", "")
    return fingerprint(settings(), "submission", secret) if secret else ""


def _own_booking(appointment_id: str, form: BookingForm):
    """A repeated submission (double click, back and submit again) from the session that
    booked this slot, with the same address: a redirect to that booking, else None."""
    if request.method != "POST" or not _submission_key():
        return None
    record = bookings().get(appointment_id)
    if (
        record["status"] in (PENDING, ACCEPTED, UNCONFIRMED)
        and record.get("submissionKey") == _submission_key()
        and canonical_email(str(form.patientEmail.data or "")) == record.get("emailKey")
    ):
        token = manage_links.make_token(settings(), record)
        return redirect(url_for("pages.manage", token=token), 303)
    return None


@bp.route("/book/<appointment_id:appointment_id>", methods=["GET", "POST"])
def book(appointment_id: str):
    try:
        slot = availability().get_slot(appointment_id)
    except AppointmentNotFound:
        abort(404, N_("We could not find that appointment slot."))
    from .booking_form import BookingForm  # wtforms: only where a form is shown or checked

    form = BookingForm()
    if slot["status"] == UNCONFIRMED:
        # An unconfirmed hold past its deadline: its time is offered under another id.
        from .confirmation import current

        instead = current().bookable_instead(bookings().get(appointment_id))
        if instead is not None:
            return redirect(url_for("pages.book", appointment_id=instead), 307)
    if not availability().is_bookable(slot):
        own = _own_booking(appointment_id, form)
        if own is not None:
            return own
        reason = Unavailable.TAKEN if slot["status"] != AVAILABLE else Unavailable.PAST
        return taken_page(slot, reason)

    if request.method == "POST":
        check_honeypot(request.form.get(HONEYPOT_FIELD))
    if form.validate_on_submit():
        limits().count_booking_attempt(client_ip())
        patient = replace(
            form.to_patient(), submission=_submission_key(), language=current_language()
        )
        try:
            item = bookings().book(appointment_id, patient)
        except SlotUnavailable as error:
            return _own_booking(appointment_id, form) or taken_page(slot, error.reason)
        session[JUST_BOOKED_SESSION_KEY] = item["appointmentId"]
        token = manage_links.make_token(settings(), item)
        return redirect(url_for("pages.manage", token=token), 303)
    status = 400 if form.errors else 200
    # Re-shown after an error, the form echoes the patient's name, address and notes.
    body = render_template("book.html", slot=slot, form=form, honeypot_field=HONEYPOT_FIELD)
    return private(make_response(body, status))


# -- the patient's private link ------------------------------------------------------------


def _managed_request(token: str) -> tuple[dict, str]:
    record, requested_at, current_token = manage_links.managed_booking(token)
    if current_token != token:
        # An old link: the pages redirect GETs to the booking's current address.
        abort(redirect(request.path.replace(token, current_token, 1), 303))
    return record, requested_at


def _cancellable(record: dict) -> bool:
    return record["status"] in (PENDING, ACCEPTED, UNCONFIRMED) and not has_started(
        record, bookings().now_slot()
    )


def _manage_page(token: str, record: dict, status: int = 200, error: str | None = None):
    just_booked = session.get(JUST_BOOKED_SESSION_KEY) == record["appointmentId"]
    if just_booked:
        session.pop(JUST_BOOKED_SESSION_KEY)
    just_moved = session.get(JUST_MOVED_SESSION_KEY) == record["appointmentId"]
    if just_moved:
        session.pop(JUST_MOVED_SESSION_KEY)
    just_confirmed = session.get("just_confirmed") == record["appointmentId"]
    if just_confirmed:
        session.pop("just_confirmed")
    body = render_template(
        "manage.html",
        just_confirmed=just_confirmed,
        slot=record,
        token=token,
        just_booked=just_booked,
        just_moved=just_moved,
        can_cancel=_cancellable(record),
        can_move=rescheduling().can_move(record),
        error=error,
        manage_url=links.manage_url(settings(), token),
    )
    return private(make_response(body, status))


@bp.get("/manage/<token>")
def manage(token: str):
    record, _ = _managed_request(token)
    return _manage_page(token, record)


@bp.route("/manage/<token>/cancel", methods=["GET", "POST"])
def cancel(token: str):
    # CSRFProtect has checked a POST's token before this view runs.
    record, requested_at = _managed_request(token)
    if not _cancellable(record):
        return redirect(url_for("pages.manage", token=token), 303)
    if request.method == "POST":
        try:
            bookings().cancel_by_patient(record["appointmentId"], requested_at)
        except ConflictingChange as conflict:
            if conflict.reason == Conflict.STALE:
                abort(404, INVALID_LINK)
            return _manage_page(token, conflict.current, 409, conflict_message(conflict))
        return redirect(url_for("pages.manage", token=token), 303)
    return private(make_response(render_template("manage_cancel.html", slot=record, token=token)))


# -- changing the time ---------------------------------------------------------------------

TIME_TAKEN = N_(
    "Sorry, that time was taken a moment ago. Your appointment is unchanged; please choose "
    "another time."
)
TIME_STARTED = N_("That time has already started. Your appointment is unchanged.")


def _reschedule_page(token: str, record: dict, status: int = 200, error: str | None = None):
    slots, _ = availability().list_open()
    body = render_template(
        "manage_reschedule.html",
        slot=record,
        token=token,
        days=group_by_day(slots),
        slot_href=lambda slot: url_for(
            "pages.reschedule_confirm", token=token, appointment_id=slot["appointmentId"]
        ),
        error=error,
    )
    return private(make_response(body, status))


@bp.get("/manage/<token>/reschedule")
def reschedule(token: str):
    record, _ = _managed_request(token)
    if not rescheduling().can_move(record):
        return redirect(url_for("pages.manage", token=token), 303)
    return _reschedule_page(token, record)


@bp.route("/manage/<token>/reschedule/<appointment_id:appointment_id>", methods=["GET", "POST"])
def reschedule_confirm(token: str, appointment_id: str):
    # CSRFProtect has checked a POST's token before this view runs.
    record, _ = _managed_request(token)
    if not rescheduling().can_move(record):
        return redirect(url_for("pages.manage", token=token), 303)
    try:
        target = availability().get_slot(appointment_id)
    except AppointmentNotFound:
        abort(404, N_("We could not find that appointment time."))
    if not availability().is_bookable(target) or appointment_id == record["appointmentId"]:
        return _reschedule_page(token, record, 409, TIME_TAKEN)
    if request.method == "GET":
        body = render_template(
            "manage_reschedule_confirm.html", slot=record, target=target, token=token
        )
        return private(make_response(body))
    limits().count_booking_attempt(client_ip())
    try:
        moved = rescheduling().move(record, appointment_id)
    except SlotUnavailable as error:
        message = TIME_STARTED if error.reason == Unavailable.PAST else TIME_TAKEN
        return _reschedule_page(token, record, 409, message)
    except ConflictingChange as conflict:
        if conflict.reason == Conflict.STALE:
            abort(404, INVALID_LINK)
        return _manage_page(token, conflict.current, 409, conflict_message(conflict))
    session[JUST_MOVED_SESSION_KEY] = moved.record["appointmentId"]
    new_token = manage_links.make_token(settings(), moved.record)
    return redirect(url_for("pages.manage", token=new_token), 303)
