"""A staff account's calendar feed (calendar_feed.py): the page and the JSON endpoints to
create, rotate and revoke it. Routes on the staff blueprints, so their guards (session +
CSRF, or HTTP Basic) run first. The URL is shown once, when it is made: only its hash is
kept, so it cannot be shown again; a lost URL is replaced by rotating.
"""

from __future__ import annotations

from flask import jsonify, render_template, request

from ..calendar_feed import FeedChanged, calendar_feeds, feed_url, public_feed, webcal_url
from ..errors import json_error
from ..extensions import practitioners, settings
from ..validation import ValidationFailed, json_object
from . import auth
from .api import bp as api_bp
from .views import bp

CHANGED = "The feed was changed at the same moment elsewhere; nothing was changed. Try again."


def _urls(token: str) -> dict[str, str]:
    url = feed_url(settings(), token)
    return {"url": url, "webcalUrl": webcal_url(url)}


def _page(status: int = 200, **context):
    email = auth.current_staff()
    return render_template(
        "staff/calendar_feed.html",
        feed=public_feed(calendar_feeds().current(email)),
        practitioner=practitioners().linked_to(email),
        patient_names=settings().calendar_feed_patient_names,
        **context,
    ), status


@bp.route("/calendar-feed", methods=["GET", "POST"])
def calendar_feed_page():
    if request.method == "GET":
        return _page()
    email = auth.current_staff()
    action = request.form.get("action", "")
    try:
        if action == "create":
            made = calendar_feeds().create(email, request.form.get("includePending") == "y")
            # Rendered, not redirected: the URL must not travel in the (signed, readable)
            # session cookie as a flashed message.
            return _page(created=_urls(made.token))
        if action == "revoke":
            calendar_feeds().revoke(email)
            return _page(message="The calendar feed is turned off; its address no longer works.")
    except FeedChanged:
        return _page(409, error=CHANGED)
    return _page(400, error="Choose an action on this page.")


@api_bp.get("/calendar-feed")
def api_calendar_feed():
    return jsonify(feed=public_feed(calendar_feeds().current(auth.current_staff())))


@api_bp.post("/calendar-feed")
def api_create_calendar_feed():
    include = json_object().get("includePending", False)
    if not isinstance(include, bool):
        raise ValidationFailed(
            "Invalid includePending.", {"includePending": ["includePending must be true or false."]}
        )
    try:
        made = calendar_feeds().create(auth.current_staff(), include)
    except FeedChanged:
        return json_error(409, CHANGED)
    return jsonify(feed=public_feed(made.feed), **_urls(made.token)), 201


@api_bp.post("/calendar-feed/revoke")
def api_revoke_calendar_feed():
    json_object()
    try:
        calendar_feeds().revoke(auth.current_staff())
    except FeedChanged:
        return json_error(409, CHANGED)
    return jsonify(feed=None)
