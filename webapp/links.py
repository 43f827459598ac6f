"""Absolute links: always on the configured PUBLIC_BASE_URL, never the request's Host.

Every link the app hands out (the JSON API's `manageUrl`, the manage page, emails,
calendar UIDs) is built here or from `public_base_url`, so they all agree, and a client
cannot make the app print links to a host of its choosing by sending a forged `Host`
header. The notifier runs without Flask, so paths are plain strings; a test checks they
match the routes.
"""

from __future__ import annotations

from .settings import Settings


def public_url(settings: Settings, path: str) -> str:
    """`path` (starting with /) on the site's public address."""
    if not path.startswith("/"):
        raise ValueError("path must start with /")
    return f"{settings.public_base_url}{path}"


def manage_url(settings: Settings, token: str) -> str:
    """The patient's private link to see or cancel a request (route `pages.manage`)."""
    return public_url(settings, f"/manage/{token}")


def waitlist_leave_url(settings: Settings, token: str) -> str:
    """A waitlist entry's link to leave the waitlist (route `waitlist_pages.leave`)."""
    return public_url(settings, f"/waitlist/leave/{token}")


def waitlist_one_click_leave_url(settings: Settings, token: str) -> str:
    """The `List-Unsubscribe` address a mail provider POSTs to (RFC 8058 one-click,
    route `waitlist_pages.leave_one_click`)."""
    return public_url(settings, f"/waitlist/leave/{token}/one-click")


def waitlist_offer_url(settings: Settings, token: str) -> str:
    """The link that books a time offered to a waitlist entry (`waitlist_pages.offer`)."""
    return public_url(settings, f"/waitlist/offer/{token}")
