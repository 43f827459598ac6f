"""Where the app's per-process services are built, and how code reaches them.

`init_app` builds them once per app (the factory calls it); views, the CLI and the
staff package reach them through the typed accessors below, never through
`app.extensions` or `app.config` directly. Building is cheap: the DynamoDB client and the
Redis connection are made on first use, so a cache hit never loads boto3; CSRF protection
loads flask_wtf (and wtforms) only when a request needs it, so listing slots never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app, request

if TYPE_CHECKING:
    import redis

    from .availability import Availability
    from .bookings import Bookings
    from .cache import SlotCache
    from .closures import Closures
    from .dashboard import Dashboard
    from .limits import Counters, Limits
    from .practitioners import Practitioners
    from .rescheduling import Rescheduling
    from .schedule import Schedule
    from .settings import Settings
    from .store import Store
    from .waitlist import Waitlist

EXTENSION_KEY = "clinic"


class LazyCSRFProtect:
    """flask_wtf's CSRFProtect, set up at create time but imported on first need: a request
    whose method CSRF checks (POST, PUT, PATCH, DELETE) or a page that renders a token.

    `init_app` does what `CSRFProtect.init_app` does (the same config defaults, template
    globals and one before-request check); the check itself, the tokens and the errors are
    flask_wtf's own (`CSRFProtect.protect`, `generate_csrf`, `CSRFError`).
    """

    def __init__(self) -> None:
        self._exempt: list = []
        self._protect = None

    def exempt(self, view):
        """Like `CSRFProtect.exempt`: a view, a view's dotted name, or a blueprint."""
        if view not in self._exempt:
            self._exempt.append(view)
        if self._protect is not None:
            self._protect.exempt(view)
        return view

    def real(self):
        """flask_wtf's CSRFProtect, imported and given every exemption on first use."""
        if self._protect is None:
            from flask_wtf.csrf import CSRFProtect

            protect = CSRFProtect()
            for view in self._exempt:
                protect.exempt(view)
            self._protect = protect
        return self._protect

    def init_app(self, app: Flask) -> None:
        app.extensions["csrf"] = self
        app.config.setdefault("WTF_CSRF_ENABLED", True)
        app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", True)
        app.config["WTF_CSRF_METHODS"] = set(
            app.config.get("WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"])
        )
        app.config.setdefault("WTF_CSRF_FIELD_NAME", "csrf_token")
        app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
        app.config.setdefault("WTF_CSRF_META_NAME", "csrf-token")
        app.config.setdefault("WTF_CSRF_TIME_LIMIT", 3600)
        app.config.setdefault("WTF_CSRF_SSL_STRICT", True)
        app.jinja_env.globals["csrf_token"] = generate_csrf
        app.jinja_env.globals["csrf_meta_tag"] = csrf_meta_tag
        app.context_processor(lambda: {"csrf_token": generate_csrf, "csrf_meta_tag": csrf_meta_tag})

        @app.before_request
        def csrf_protect():
            config = app.config
            if not config["WTF_CSRF_ENABLED"] or not config["WTF_CSRF_CHECK_DEFAULT"]:
                return
            if request.method not in config["WTF_CSRF_METHODS"]:
                return
            blueprint = app.blueprints.get(request.blueprint or "")
            if blueprint is not None and blueprint in self._exempt:
                return  # the JSON APIs: no need to load flask_wtf to skip them
            self.real().protect(apply_exemptions=True)


def generate_csrf(*args, **kwargs):
    from flask_wtf.csrf import generate_csrf

    return generate_csrf(*args, **kwargs)


def csrf_meta_tag(*args, **kwargs):
    from flask_wtf.csrf import csrf_meta_tag

    return csrf_meta_tag(*args, **kwargs)


csrf = LazyCSRFProtect()


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    cache: SlotCache
    counters: Counters
    limits: Limits
    availability: Availability
    bookings: Bookings
    dashboard: Dashboard
    rescheduling: Rescheduling
    practitioners: Practitioners
    schedule: Schedule
    closures: Closures
    waitlist: Waitlist


def build_services(settings: Settings, redis_client: redis.Redis | None = None) -> Services:
    """Every service for one app; `redis_client` replaces the one made from settings."""
    from .availability import Availability
    from .bookings import Bookings
    from .cache import SlotCache
    from .closures import Closures
    from .dashboard import Dashboard
    from .limits import Counters, Limits
    from .practitioners import Practitioners
    from .rescheduling import Rescheduling
    from .schedule import Schedule
    from .store import Store
    from .waitlist import Waitlist

    store = Store(settings)
    cache = SlotCache(settings, client=redis_client)
    counters = Counters(settings, client=redis_client, store=store)
    bookings = Bookings(settings, store, cache)
    practitioners = Practitioners(settings, store, cache)
    schedule = Schedule(settings, store, cache, practitioners)
    return Services(
        settings=settings,
        store=store,
        cache=cache,
        counters=counters,
        limits=Limits(settings, counters),
        availability=Availability(settings, store, cache),
        bookings=bookings,
        dashboard=Dashboard(settings, store),
        rescheduling=Rescheduling(settings, store, cache),
        practitioners=practitioners,
        schedule=schedule,
        closures=Closures(settings, store, cache, practitioners, schedule, bookings),
        waitlist=Waitlist(settings, store, practitioners),
    )


def init_app(app: Flask, settings: Settings, redis_client: redis.Redis | None = None) -> None:
    csrf.init_app(app)
    app.extensions[EXTENSION_KEY] = build_services(settings, redis_client)


def services(app: Flask | None = None) -> Services:
    """The services of `app`, or of the app handling the current request or command."""
    return (app or current_app).extensions[EXTENSION_KEY]


def settings() -> Settings:
    return services().settings


def store() -> Store:
    return services().store


def cache() -> SlotCache:
    return services().cache


def counters() -> Counters:
    return services().counters


def limits() -> Limits:
    return services().limits


def availability() -> Availability:
    return services().availability


def dashboard() -> Dashboard:
    return services().dashboard


def bookings() -> Bookings:
    return services().bookings


def rescheduling() -> Rescheduling:
    return services().rescheduling


def practitioners() -> Practitioners:
    return services().practitioners


def schedule() -> Schedule:
    return services().schedule


def closures() -> Closures:
    return services().closures


def waitlist() -> Waitlist:
    return services().waitlist
