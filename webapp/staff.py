"""Clinic staff: review bookings, accept or decline them, manage availability.

Two blueprints, both refusing anyone not signed in:
- `staff` (/staff/...): pages, signed session cookie, CSRF on every form. The only
  route open to anonymous visitors is the sign-in page itself (PUBLIC_ENDPOINTS).
- `staff_api` (/api/staff/...): JSON for scripts, HTTP Basic with a staff account on
  every request. It never reads the session cookie, so a forged cross-site request has no
  ambient credential to ride on; it also requires a JSON body on POST (a cross-site
  form cannot send one without a CORS preflight, which this API never grants), so even
  Basic credentials a browser cached cannot be replayed by another site. CSRF-exempt.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from . import auth
from .appointments import AppointmentNotFound, ConflictingChange
from .bookings import DASHBOARD_STATUSES, REASON_MAX, clean_reason, conflict_message, staff_view
from .cli import DEFAULT_TIMES, parse_times
from .errors import json_error
from .limits import RateLimited
from .services import booking_service
from .slots import upcoming_days
from .validation import APPOINTMENT_ID_MAX, ValidationFailed, parse_window

bp = Blueprint("staff", __name__, url_prefix="/staff")
api_bp = Blueprint("staff_api", __name__, url_prefix="/api/staff")

PUBLIC_ENDPOINTS = frozenset({"staff.login"})
ADD_SLOTS_MAX_DAYS = 92
API_PAGE_MAX = 100


# -- forms ---------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Please enter your email address.")]
    )
    password = PasswordField("Password", validators=[DataRequired("Please enter your password.")])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


class DeclineForm(FlaskForm):
    decisionReason = TextAreaField(
        "Reason (the patient will see this)",
        validators=[
            DataRequired("Please give a reason for declining; the patient will see it."),
            Length(
                max=REASON_MAX, message=f"Please keep the reason under {REASON_MAX} characters."
            ),
        ],
    )


def _times(form, field):
    try:
        parse_times(field.data or "")
    except Exception:
        raise ValidationError("Times must be HH:MM (24-hour), separated by commas.") from None


class AddSlotsForm(FlaskForm):
    start = DateField("First day", validators=[DataRequired("Please enter the first day.")])
    end = DateField("Last day (optional, for a range)", validators=[Optional()])
    times = StringField(
        "Start times (HH:MM, comma separated)",
        default=DEFAULT_TIMES,
        validators=[DataRequired("Please enter at least one time."), _times],
    )
    skip_weekends = BooleanField("Skip Saturdays and Sundays", default=True)

    def validate_end(self, field):
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError("The last day must not be before the first day.")
            if (field.data - self.start.data).days >= ADD_SLOTS_MAX_DAYS:
                raise ValidationError(f"Add at most {ADD_SLOTS_MAX_DAYS} days at a time.")


# -- access control ----------------------------------------------------------------------


@bp.before_request
def require_staff_session():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if auth.load_session_staff() is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("staff.login", next=target), 303)
    return None


@api_bp.before_request
def require_staff_credentials():
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        return _unauthorized()
    account = auth.authenticate(credentials.username or "", credentials.password or "")
    if account is None:
        return _unauthorized()
    auth.g.staff_email = account["email"]
    if request.method == "POST" and not request.is_json:
        return json_error(415, "Send a JSON body (Content-Type: application/json), even {}.")
    return None


def _unauthorized():
    return json_error(
        401,
        "Staff credentials are required (HTTP Basic: email and password).",
        **{"WWW-Authenticate": 'Basic realm="clinic staff", charset="UTF-8"'},
    )


@bp.after_request
@api_bp.after_request
def never_cache(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    # Only back into the staff area of this site: never an open redirect.
    if target and target.startswith("/staff/") and not target.startswith("/staff//"):
        return target
    return url_for("staff.dashboard")


# -- sign-in -----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            account = auth.authenticate(form.email.data, form.password.data)
        except RateLimited as limited:
            error, status = limited.message, 429
        else:
            if account is not None:
                auth.log_in(account)
                return redirect(_safe_next(request.args.get("next")), 303)
            error, status = auth.FAILED_MESSAGE, 401
    elif form.errors:
        status = 400
    response = render_template("staff/login.html", form=form, error=error)
    headers = {"Retry-After": "60"} if status == 429 else {}
    return response, status, headers


@bp.post("/logout")
def logout():
    if not ActionForm().validate_on_submit():
        return redirect(url_for("staff.dashboard"), 303)
    auth.log_out()
    flash("You have signed out.")
    return redirect(url_for("staff.login"), 303)


# -- bookings ------------------------------------------------------------------------------


def _filters(args) -> tuple[tuple[str, ...], date | None, date | None]:
    status = args.get("status", "")
    if status and status not in DASHBOARD_STATUSES:
        raise ValidationFailed("Unknown status.", {"status": ["Choose a listed status."]})
    start, end = parse_window(args)
    return ((status,) if status else DASHBOARD_STATUSES), start, end


def _id_or_404(appointment_id: str) -> str:
    if len(appointment_id) > APPOINTMENT_ID_MAX:
        raise AppointmentNotFound(appointment_id)
    return appointment_id


@bp.get("/")
def dashboard():
    errors: dict = {}
    try:
        statuses, start, end = _filters(request.args)
    except ValidationFailed as error:
        errors = error.fields
        statuses, start, end = DASHBOARD_STATUSES, None, None
    page = booking_service().dashboard(statuses, start, end, request.args.get("cursor") or None)
    next_args = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template(
        "staff/dashboard.html",
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
        action_form=ActionForm(),
    ), (400 if errors else 200)


def _appointment_page(appointment_id: str, status: int = 200, error: str | None = None, form=None):
    service = booking_service()
    record = service.get(appointment_id)
    return render_template(
        "staff/appointment.html",
        record=record,
        released=service.is_released(record),
        error=error,
        decline_form=form or DeclineForm(),
        action_form=ActionForm(),
    ), status


@bp.get("/appointments/<appointment_id>")
def appointment(appointment_id: str):
    return _appointment_page(_id_or_404(appointment_id))


def _run_action(appointment_id: str, action, done: str):
    """POST handler body: CSRF-checked action, then back to the booking's page."""
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


def _require_csrf(form: FlaskForm) -> None:
    if not form.validate_on_submit():
        abort(400, "The form has expired. Please go back, reload the page and try again.")


@bp.post("/appointments/<appointment_id>/accept")
def accept(appointment_id: str):
    _require_csrf(ActionForm())
    staff = auth.current_staff()
    return _run_action(
        _id_or_404(appointment_id),
        lambda: booking_service().accept(appointment_id, staff),
        "Accepted. The patient will be told by email.",
    )


@bp.post("/appointments/<appointment_id>/decline")
def decline(appointment_id: str):
    appointment_id = _id_or_404(appointment_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            _require_csrf(form)
        return _appointment_page(appointment_id, 400, form=form)
    staff = auth.current_staff()
    return _run_action(
        appointment_id,
        lambda: booking_service().decline(appointment_id, staff, form.decisionReason.data),
        "Declined. The patient will be told by email, with your reason.",
    )


@bp.post("/appointments/<appointment_id>/cancel")
def cancel(appointment_id: str):
    _require_csrf(ActionForm())
    staff = auth.current_staff()
    return _run_action(
        _id_or_404(appointment_id),
        lambda: booking_service().cancel_by_staff(appointment_id, staff),
        "Cancelled. The patient will be told by email.",
    )


@bp.post("/appointments/<appointment_id>/reoffer")
def reoffer(appointment_id: str):
    _require_csrf(ActionForm())
    return _run_action(
        _id_or_404(appointment_id),
        lambda: booking_service().reoffer(appointment_id),
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
    slots = booking_service().upcoming_slots(start, end)
    from .pages import group_by_day

    return render_template(
        "staff/slots.html",
        form=form,
        days=group_by_day(slots),
        start=request.args.get("from", ""),
        end=request.args.get("to", ""),
        filter_errors=errors,
        error=error,
        action_form=ActionForm(),
    ), (400 if errors and status == 200 else status)


@bp.route("/slots", methods=["GET", "POST"])
def slots():
    form = AddSlotsForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            if form.csrf_token.errors:
                _require_csrf(form)
            return _slots_page(form, 400)
        if not form.start.data:
            form.start.data = booking_service().slots.today()
        return _slots_page(form)
    first, last = form.start.data, form.end.data or form.start.data
    days = upcoming_days(first, (last - first).days + 1, form.skip_weekends.data)
    created, existing = booking_service().add_slots(days, parse_times(form.times.data))
    flash(f"Added {created} new slot(s); {existing} already existed. Past times are skipped.")
    return redirect(url_for("staff.slots"), 303)


@bp.post("/slots/<appointment_id>/remove")
def remove_slot(appointment_id: str):
    _require_csrf(ActionForm())
    try:
        removed = booking_service().remove_slot(_id_or_404(appointment_id))
    except ConflictingChange as conflict:
        return _slots_page(AddSlotsForm(formdata=None), 409, conflict_message(conflict))
    flash(f"Removed {removed['appointmentTime']} on {removed['appointmentDate']}.")
    return redirect(url_for("staff.slots"), 303)


# -- JSON API ------------------------------------------------------------------------------


def _payload() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return payload


@api_bp.get("/appointments")
def api_list():
    statuses, start, end = _filters(request.args)
    raw_limit = request.args.get("limit", "")
    limit = None
    if raw_limit:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= API_PAGE_MAX:
            raise ValidationFailed(
                "Invalid limit.", {"limit": [f"limit must be 1 to {API_PAGE_MAX}."]}
            )
        limit = int(raw_limit)
    page = booking_service().dashboard(
        statuses, start, end, request.args.get("cursor") or None, limit
    )
    return jsonify(
        appointments=[staff_view(item) for item in page.items], nextCursor=page.next_cursor
    )


@api_bp.get("/appointments/<appointment_id>")
def api_get(appointment_id: str):
    return jsonify(appointment=staff_view(booking_service().get(_id_or_404(appointment_id))))


def _api_change(change):
    body = {"appointment": staff_view(change.record)}
    if change.time_released is not None:
        body["timeReleased"] = change.time_released
    return jsonify(body)


@api_bp.post("/appointments/<appointment_id>/accept")
def api_accept(appointment_id: str):
    _payload()
    change = booking_service().accept(_id_or_404(appointment_id), auth.current_staff())
    return _api_change(change)


@api_bp.post("/appointments/<appointment_id>/decline")
def api_decline(appointment_id: str):
    reason = clean_reason(_payload().get("decisionReason"))
    change = booking_service().decline(_id_or_404(appointment_id), auth.current_staff(), reason)
    return _api_change(change)


@api_bp.post("/appointments/<appointment_id>/cancel")
def api_cancel(appointment_id: str):
    _payload()
    change = booking_service().cancel_by_staff(_id_or_404(appointment_id), auth.current_staff())
    return _api_change(change)
