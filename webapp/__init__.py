"""Clinic appointment booking: the Flask application factory.

`create_app()` builds the app as a list of small `register_*` steps. `webapp/wsgi.py`
holds the one app a server runs (`app = create_app()`): serverless-wsgi on Lambda and
gunicorn point at it; `flask --app webapp` finds `create_app` here by itself.

The tree:
- `api.py` (the seed's public JSON API), `self_service.py` (a booking's patient in JSON)
  and `pages.py` (the patient pages);
- `staff/`: the staff pages, the staff JSON API and sign-in;
- `availability.py` (open times), `bookings.py` (a patient's request and its
  lifecycle) and `rescheduling.py` (moving it): the use cases the views call;
- `store/`: every read and write of the DynamoDB table;
- `notifications/`: the emails, sent by a Lambda of their own;
- cross-cutting: `extensions.py` (services), `settings.py`, `cache.py`, `limits.py`,
  `validation.py`, `errors.py`, `security.py`, `http.py`, `observability.py`, `clock.py`.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_cors import CORS

from . import extensions
from .observability import configure_logging, register_request_logging
from .settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
MAX_REQUEST_BYTES = 64 * 1024

__all__ = ["ConfigError", "create_app"]


def create_app(settings: Settings | None = None, redis_client=None) -> Flask:
    """The app for `settings` (default: from the environment). `redis_client` replaces the
    Redis client the settings describe (tests point it at a broken or private server)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, readable=settings.log_format == "text")
    app = Flask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        WTF_CSRF_TIME_LIMIT=None if not settings.is_production else 3600,
        TESTING=settings.app_env == "test",
    )
    app.json.sort_keys = False
    register_http(app)
    register_origin_verification(app, settings)
    extensions.init_app(app, settings, redis_client)
    register_blueprints(app, settings)
    register_templating(app, settings)
    register_error_handlers(app)
    register_security_headers(app, settings)
    register_commands(app)
    register_request_logging(app)
    return app


def register_origin_verification(app: Flask, settings: Settings) -> None:
    from .origin import register_origin_verification

    register_origin_verification(app, settings)


def register_http(app: Flask) -> None:
    from .http import register_http

    register_http(app)


def register_blueprints(app: Flask, settings: Settings) -> None:
    from . import (
        api,
        calendar_subscription,
        confirm_pages,
        ops,
        pages,
        self_service,
        staff,
        waitlist_pages,
    )

    extensions.csrf.exempt(api.bp)  # JSON only, no cookies: nothing for a forged request
    extensions.csrf.exempt(self_service.bp)  # the same; the token in the path is the key
    # A mail provider's one-click unsubscribe (RFC 8058) comes without cookies.
    extensions.csrf.exempt("webapp.waitlist_pages.leave_one_click")
    CORS(
        app,
        resources=[
            r"/appointment-slot",
            r"/book-appointment",
            r"/join-waitlist",
            r"/my-appointment/.*",
        ],
        origins=list(settings.cors_allowed_origins),
        # Open to every origin (the seed's default): say "*" rather than echo each Origin.
        send_wildcard=settings.cors_allowed_origins == ("*",),
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type"],
        expose_headers=["X-Cache"],
        max_age=600,
    )
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(confirm_pages.bp)
    app.register_blueprint(waitlist_pages.bp)
    app.register_blueprint(self_service.bp)
    staff.init_app(app, settings)
    app.register_blueprint(calendar_subscription.bp)
    app.register_blueprint(ops.bp)


def register_templating(app: Flask, settings: Settings) -> None:
    from . import i18n
    from .assets import register_assets

    register_assets(app, settings.static_url)
    i18n.init_app(app, settings)  # the language, and dates written in it
    app.jinja_env.globals.update(
        clinic_name=settings.clinic_name,
        clinic_timezone=settings.clinic_timezone,
    )


def register_error_handlers(app: Flask) -> None:
    from .errors import register_error_handlers

    register_error_handlers(app)


def register_security_headers(app: Flask, settings: Settings) -> None:
    from .security import register_security_headers

    register_security_headers(app, settings)


def register_commands(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)
