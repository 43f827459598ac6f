"""The public calendar feed route: `GET /calendar/<feed_token>.ics` (calendar_feed.py).

Outside the staff blueprints on purpose: calendar apps fetch it with no session and no
password, so the token is the only credential. Any bad token is a plain 404 (never a 500,
never a hint which part was wrong). Fetches are limited per feed (CALENDAR_FEED_RATE_LIMIT
per 10 minutes, an atomic counter, so a burst gets no more); a calendar client polls every
few minutes at most, so the limit only stops a leaked URL being hammered.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, Response, request

from .calendar_feed import calendar_feeds
from .extensions import counters, practitioners, settings
from .limits import fingerprint

log = logging.getLogger(__name__)

bp = Blueprint("calendar_feed", __name__)

RATE_WINDOW_SECONDS = 600
CACHE_SECONDS = 300


def _plain(status: int, text: str, **headers) -> Response:
    response = Response(text + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
    return response


@bp.get("/calendar/<feed_token>.ics")
def feed(feed_token: str):
    service = calendar_feeds()
    found = service.resolve(feed_token)
    if found is None:
        return _plain(404, "There is no such calendar feed.")
    key = fingerprint(settings(), "feed", found["feedId"])
    count, retry_after = counters().hit(f"feed:{key}", RATE_WINDOW_SECONDS)
    if count > settings().calendar_feed_rate_limit:
        log.warning("calendar feed refused reason=rate_limit feed=%s", key)
        return _plain(
            429,
            "Too many requests for this feed; try again later.",
            **{"Retry-After": str(max(1, retry_after))},
        )
    linked = practitioners().linked_to(found["staffEmail"])
    who = linked["id"] if linked else None
    title = f"{settings().clinic_name}: {linked['name'] if linked else 'appointments'}"
    body = service.render(service.bookings(found, who), title)
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response.set_etag(etag)
    return response.make_conditional(request)
