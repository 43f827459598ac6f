"""The staff pages (/staff/...): sign-in, the bookings dashboard, a booking's page with
its decisions, and availability. A signed session cookie, CSRF on every form; the only
route open to anonymous visitors is the sign-in page itself (PUBLIC_ENDPOINTS)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .. import extensions
from ..availability import group_by_day, parse_times, upcoming_days
from ..bookings import conflict_message
from ..dashboard import DASHBOARD_STATUSES
from ..extensions import availability, bookings, practitioners, store
from ..limits import RateLimited
from ..store.errors import ConflictingChange
from ..validation import ValidationFailed, parse_window
from . import auth

if TYPE_CHECKING:
    from .forms import AddSlotsForm

# The forms (wtforms) are imported inside the views that use them: the module is loaded
# at start-up to register the routes, and a listing of slots must not load wtforms.

bp = Blueprint("staff", __name__, url_prefix="/staff")

PUBLIC_ENDPOINTS = frozenset({"staff.login"})


@bp.before_request
def require_staff_session():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if auth.load_session_staff() is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("staff.login", next=target), 303)
    return None


@bp.after_request
def never_cache(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    # Only back into the staff area of this site: never an open redirect.
    if target and target.startswith("/staff/") and not target.startswith("/staff//"):
        return target
    return url_for("staff.dashboard")


def dashboard_filters(args) -> tuple[tuple[str, ...], date | None, date | None]:
    """`status`, `from` and `to` of a bookings listing (the pages and the API share it)."""
    status = args.get("status", "")
    if status and status not in DASHBOARD_STATUSES:
        raise ValidationFailed("Unknown status.", {"status": ["Choose a listed status."]})
    start, end = parse_window(args)
    return ((status,) if status else DASHBOARD_STATUSES), start, end


# -- sign-in -------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    from .forms import LoginForm

    form = LoginForm()
    error = None
    status = 200
    headers = {}
    if form.validate_on_submit():
        try:
            account = auth.authenticate(form.email.data, form.password.data)
        except RateLimited as limited:
            error, status = limited.message, 429
            headers["Retry-After"] = str(limited.retry_after)
        else:
            if account is not None:
                auth.log_in(account)
                return redirect(_safe_next(request.args.get("next")), 303)
            error, status = auth.FAILED_MESSAGE, 401
    elif form.errors:
        status = 400
    response = render_template("staff/login.html", form=form, error=error)
    return response, status, headers


@bp.post("/logout")
def logout():
    auth.log_out()
    flash("You have signed out.")
    return redirect(url_for("staff.login"), 303)


# -- bookings ------------------------------------------------------------------------------


@bp.get("/")
def dashboard():
    errors: dict = {}
    try:
        statuses, start, end = dashboard_filters(request.args)
    except ValidationFailed as error:
        errors = error.fields
        statuses, start, end = DASHBOARD_STATUSES, None, None
    who, mine = _dashboard_practitioner(errors)
    page = extensions.dashboard().page(
        statuses, start, end, request.args.get("cursor") or None, practitioner=who
    )
    next_args = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template(
        "staff/dashboard.html",
        practitioners=practitioners().all() if practitioners().is_plural() or who else [],
        selected_practitioner=request.args.get("practitioner", who or ""),
        mine=mine,
        items=page.items,
        next_url=url_for("staff.dashboard", **next_args, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        statuses=DASHBOARD_STATUSES,
        selected=request.args.get("status", ""),
        start=request.args.get("from", ""),
        end=request.args.get("to", ""),
        filtered=bool(next_args),
        errors=errors,
        paged=bool(request.args.get("cursor")),
        first_url=url_for("staff.dashboard", **next_args),
    ), (400 if errors else 200)


def _dashboard_practitioner(errors: dict) -> tuple[str | None, dict | None]:
    """The practitioner filter: as asked (`all` for everyone), else the practitioner the
    signed-in account is linked to (they see theirs first), else everyone."""
    raw = request.args.get("practitioner")
    mine = practitioners().linked_to(auth.current_staff())
    if raw == "all" or (raw is None and mine is None) or raw == "":
        return None, mine
    if raw is None:
        return mine["id"], mine
    try:
        return practitioners().get(raw)["id"], mine
    except ValidationFailed as failed:
        errors.update(failed.fields)
        return None, mine


def _appointment_page(appointment_id: str, status: int = 200, error: str | None = None, form=None):
    from .forms import DeclineForm

    record = bookings().get(appointment_id)
    return render_template(
        "staff/appointment.html",
        record=record,
        released=bookings().is_released(record),
        email_suppressed=store().suppressions.get(record.get("patientEmail")),
        error=error,
        decline_form=form or DeclineForm(),
    ), status


@bp.get("/appointments/<appointment_id:appointment_id>")
def appointment(appointment_id: str):
    return _appointment_page(appointment_id)


def _run_action(appointment_id: str, action, done: str):
    """A decision's POST: run it, then back to the booking's page (or say why not)."""
    try:
        change = action()
    except ConflictingChange as conflict:
        return _appointment_page(appointment_id, 409, conflict_message(conflict))
    flash(done)
    if change.time_released is False:
        flash(
            "The time could not be offered again just now. Use “Offer this time again” "
            "to retry; nothing is double-booked."
        )
    return redirect(url_for("staff.appointment", appointment_id=appointment_id), 303)


@bp.post("/appointments/<appointment_id:appointment_id>/accept")
def accept(appointment_id: str):
    staff = auth.current_staff()
    return _run_action(
        appointment_id,
        lambda: bookings().accept(appointment_id, staff),
        "Accepted. The patient will be told by email.",
    )


@bp.post("/appointments/<appointment_id:appointment_id>/decline")
def decline(appointment_id: str):
    from .forms import DeclineForm

    form = DeclineForm()
    if not form.validate_on_submit():
        return _appointment_page(appointment_id, 400, form=form)
    staff = auth.current_staff()
    return _run_action(
        appointment_id,
        lambda: bookings().decline(appointment_id, staff, form.decisionReason.data),
        "Declined. The patient will be told by email, with your reason.",
    )


@bp.post("/appointments/<appointment_id:appointment_id>/cancel")
def cancel(appointment_id: str):
    staff = auth.current_staff()
    return _run_action(
        appointment_id,
        lambda: bookings().cancel_by_staff(appointment_id, staff),
        "Cancelled. The patient will be told by email.",
    )


@bp.post("/appointments/<appointment_id:appointment_id>/reoffer")
def reoffer(appointment_id: str):
    return _run_action(
        appointment_id,
        lambda: bookings().reoffer(appointment_id),
        "This time is offered to patients again.",
    )


# -- availability --------------------------------------------------------------------------


def _slots_page(form: AddSlotsForm, status: int = 200, error: str | None = None):
    errors: dict = {}
    try:
        start, end = parse_window(request.args)
    except ValidationFailed as failed:
        errors = failed.fields
        start = end = None
    # Straight from the table: staff see the truth, not the cache.
    slots = availability().read_open(start, end)
    return render_template(
        "staff/slots.html",
        practitioners=practitioners().all(),
        form=form,
        days=group_by_day(slots),
        start=request.args.get("from", ""),
        end=request.args.get("to", ""),
        filter_errors=errors,
        error=error,
    ), (400 if errors and status == 200 else status)


@bp.route("/slots", methods=["GET", "POST"])
def slots():
    from .forms import AddSlotsForm, practitioner_choices

    form = AddSlotsForm()
    form.practitioner.choices = practitioner_choices(practitioners().active())
    if not form.validate_on_submit():
        if request.method == "POST":
            return _slots_page(form, 400)
        if not form.start.data:
            form.start.data = availability().today()
        return _slots_page(form)
    first, last = form.start.data, form.end.data or form.start.data
    days = upcoming_days(first, (last - first).days + 1, form.skip_weekends.data)
    try:
        whose = practitioners().for_times(form.practitioner.data)
    except ValidationFailed as failed:
        return _slots_page(form, 400, failed.message)
    created, existing = availability().create(
        days, parse_times(form.times.data), practitioner=whose
    )
    flash(f"Added {created} new slot(s); {existing} already existed. Past times are skipped.")
    return redirect(url_for("staff.slots"), 303)


@bp.post("/slots/<appointment_id:appointment_id>/remove")
def remove_slot(appointment_id: str):
    try:
        removed = availability().remove(appointment_id)
    except ConflictingChange as conflict:
        from .forms import AddSlotsForm, practitioner_choices

        form = AddSlotsForm(formdata=None)
        form.practitioner.choices = practitioner_choices(practitioners().active())
        return _slots_page(form, 409, conflict_message(conflict))
    flash(f"Removed {removed['appointmentTime']} on {removed['appointmentDate']}.")
    return redirect(url_for("staff.slots"), 303)
