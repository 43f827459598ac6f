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
    from .limits import Counters, Limits
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


def build_services(settings: Settings, redis_client: redis.Redis | None = None) -> Services:
    """Every service for one app; `redis_client` replaces the one made from settings."""
    from .availability import Availability
    from .bookings import Bookings
    from .cache import SlotCache
    from .limits import Counters, Limits
    from .store import Store

    store = Store(settings)
    cache = SlotCache(settings, client=redis_client)
    counters = Counters(settings, client=redis_client, store=store)
    return Services(
        settings=settings,
        store=store,
        cache=cache,
        counters=counters,
        limits=Limits(settings, counters),
        availability=Availability(settings, store, cache),
        bookings=Bookings(settings, store, cache),
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
