"""Clinic staff: review bookings, accept or decline them, manage availability.

Two blueprints, both refusing anyone not signed in:
- `views.bp` (/staff/...): the pages, with a signed session cookie and CSRF on every form;
- `api.bp` (/api/staff/...): JSON for scripts, HTTP Basic on every request, CSRF-exempt.
`auth.py` holds the accounts, sign-in and the session; `forms.py` the pages' forms;
`schedule_views.py` and `schedule_api.py` add the practitioners, hours and closures
routes to those two blueprints (so the same guards run before them), `feed_views.py`
the calendar feed's page and endpoints, and `privacy_views.py` the patients' data
requests (export, erase) to both.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from ..settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    from ..extensions import csrf
    from . import (  # noqa: F401  (routes)
        api,
        auth,
        feed_views,
        grid_views,
        privacy_views,
        schedule_api,
        schedule_views,
        views,
    )

    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=settings.staff_session_minutes)
    # The cookie keeps the expiry set at sign-in rather than sliding with each request;
    # the lifetime itself is enforced from the sign-in time in the session (auth.py).
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    csrf.exempt(api.bp)  # HTTP Basic + JSON bodies only, never the session cookie
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(auth.create_staff_command)
