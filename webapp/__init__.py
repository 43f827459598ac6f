"""Clinic appointment booking: the Flask application factory.

`create_app()` builds the app; the module attribute `app` (created on first access) is
the WSGI object used by `flask --app webapp run` and by serverless-wsgi on Lambda.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_cors import CORS
from flask_wtf.csrf import CSRFProtect

from .observability import configure_logging, register_request_logging
from .settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
MAX_REQUEST_BYTES = 64 * 1024

csrf = CSRFProtect()

__all__ = ["ConfigError", "create_app"]


def create_app(settings: Settings | None = None, cache_client=None) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    app = Flask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        WTF_CSRF_TIME_LIMIT=None if not settings.is_production else 3600,
        TESTING=settings.app_env == "test",
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    from .security import ClinicRequest

    app.request_class = ClinicRequest
    _register_extensions(app, settings, cache_client)
    _register_blueprints(app)
    _register_templating(app, settings)

    from .errors import register_error_handlers
    from .security import register_security_headers

    register_error_handlers(app)
    register_security_headers(app, settings)

    from .cli import register_commands

    register_commands(app)
    register_request_logging(app)
    return app


def _register_extensions(app: Flask, settings: Settings, cache_client) -> None:
    from . import auth
    from .bookings import BookingService
    from .cache import SlotCache
    from .slots import SlotService

    csrf.init_app(app)
    cache = SlotCache(settings, client=cache_client)
    app.extensions["slots"] = SlotService(settings, cache)
    app.extensions["bookings"] = BookingService(app.extensions["slots"])
    auth.init_app(app, settings, redis_client=cache_client)


def _register_blueprints(app: Flask) -> None:
    from . import api, ops, pages, staff

    settings: Settings = app.config["SETTINGS"]
    csrf.exempt(api.bp)  # JSON only, no cookies: nothing for a forged request to ride on
    csrf.exempt(staff.api_bp)  # HTTP Basic + JSON bodies only, never the session cookie
    CORS(
        app,
        resources=[r"/appointment-slot", r"/book-appointment"],
        origins=list(settings.cors_allowed_origins),
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type"],
        expose_headers=["X-Cache"],
        max_age=600,
    )
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(staff.api_bp)
    app.register_blueprint(ops.bp)


def _register_templating(app: Flask, settings: Settings) -> None:
    from .assets import register_assets

    register_assets(app, settings.static_url)
    app.jinja_env.filters["long_date"] = _long_date
    app.jinja_env.filters["clinic_time"] = lambda value: _clinic_time(value, settings.tz)
    app.jinja_env.globals.update(
        clinic_name=settings.clinic_name,
        clinic_timezone=settings.clinic_timezone,
    )


def _long_date(value: str) -> str:
    from datetime import date

    return date.fromisoformat(value).strftime("%A %-d %B %Y")


def _clinic_time(value: str, tz) -> str:
    """A stored UTC timestamp (2026-11-25T09:58:19Z) as staff read it, in the clinic's zone."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz)
    except (AttributeError, TypeError, ValueError):
        return str(value)
    return moment.strftime("%a %-d %b %Y, %H:%M")


def __getattr__(name: str):
    # The WSGI app is built on first access so importing the package (tests, tools)
    # does not read the environment as a side effect.
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
