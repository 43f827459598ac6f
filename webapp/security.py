"""Security headers on every response; a request class that survives hostile input."""

from __future__ import annotations

from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler)
from flask import Flask, Request
from werkzeug.utils import cached_property

from .settings import Settings


def content_security_policy(settings: Settings) -> str:
    assets = "'self'" + (f" {settings.static_url_origin}" if settings.static_url else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {assets}",
            f"style-src {assets}",
            f"img-src {assets} data:",
            f"font-src {assets}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def register_security_headers(app: Flask, settings: Settings) -> None:
    csp = content_security_policy(settings)
    fixed = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if settings.is_production:
        fixed["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    @app.after_request
    def add_security_headers(response):
        for name, value in fixed.items():
            response.headers.setdefault(name, value)
        return response


class ClinicRequest(Request):
    """Werkzeug decodes raw (not percent-encoded) query bytes as strict UTF-8 and fails
    with a 500 on anything else; here invalid bytes stay percent-encoded instead, as
    werkzeug already does for percent-encoded ones and for form bodies."""

    @cached_property
    def args(self):
        return self.parameter_storage_class(
            parse_qsl(
                self.query_string.decode(errors="werkzeug.url_quote"),
                keep_blank_values=True,
                errors="werkzeug.url_quote",
            )
        )
