"""Only requests that came through the site's CloudFront distribution (WAF) are served.

With `wafRateLimit` the stack puts CloudFront and a WAF web ACL in front of the API, and
CloudFront adds the header `X-Origin-Verify` with a generated secret to every request it
forwards; the web function gets the same value as `ORIGIN_VERIFY_SECRET`. The API's own
`execute-api` address stays reachable, so without this check anyone could bypass the WAF
through it. When the variable is set, every request without the matching header is
refused with 403, health checks included: they come through CloudFront like everything
else, and an exception would leave a path that skips the WAF. Unset (no WAF), nothing
is checked.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask, abort, request

from .settings import Settings

HEADER = "X-Origin-Verify"

log = logging.getLogger(__name__)


def register_origin_verification(app: Flask, settings: Settings) -> None:
    secret = settings.origin_verify_secret
    if not secret:
        return
    expected = secret.encode()

    @app.before_request
    def verify_origin():
        given = request.headers.get(HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):  # constant time
            log.warning("request refused: it did not come through the site's CloudFront")
            abort(403)
