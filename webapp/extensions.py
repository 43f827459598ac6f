"""Where the app's per-process services are built, and how code reaches them.

`init_app` builds them once per app (the factory calls it); views, the CLI and the
staff package reach them through the typed accessors below, never through
`app.extensions` or `app.config` directly. Building is cheap: the DynamoDB client and the
Redis connection are made on first use, so a cache hit never loads boto3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

if TYPE_CHECKING:
    import redis

    from .availability import Availability
    from .bookings import Bookings
    from .cache import SlotCache
    from .closures import Closures
    from .limits import Counters, Limits
    from .practitioners import Practitioners
    from .rescheduling import Rescheduling
    from .schedule import Schedule
    from .settings import Settings
    from .store import Store

EXTENSION_KEY = "clinic"

csrf = CSRFProtect()


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    cache: SlotCache
    counters: Counters
    limits: Limits
    availability: Availability
    bookings: Bookings
    rescheduling: Rescheduling
    practitioners: Practitioners
    schedule: Schedule
    closures: Closures


def build_services(settings: Settings, redis_client: redis.Redis | None = None) -> Services:
    """Every service for one app; `redis_client` replaces the one made from settings."""
    from .availability import Availability
    from .bookings import Bookings
    from .cache import SlotCache
    from .closures import Closures
    from .limits import Counters, Limits
    from .practitioners import Practitioners
    from .rescheduling import Rescheduling
    from .schedule import Schedule
    from .store import Store

    store = Store(settings)
    cache = SlotCache(settings, client=redis_client)
    counters = Counters(settings, client=redis_client)
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
        rescheduling=Rescheduling(settings, store, cache),
        practitioners=practitioners,
        schedule=schedule,
        closures=Closures(settings, store, cache, practitioners, schedule, bookings),
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
