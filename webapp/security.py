"""Security headers on every response: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from flask import Flask

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
