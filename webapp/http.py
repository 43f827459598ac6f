"""HTTP plumbing Flask leaves to the app: a request class and a URL converter.

- `ClinicRequest` decodes query strings that are not valid UTF-8 without failing, and
  treats JSON nested too deeply to parse as malformed.
- every request gets a total time budget for its AWS calls (aws.py);
- `AppointmentIdConverter` (`<appointment_id:...>` in routes) matches only ids of a length
  the table can hold, so an overlong id is a plain 404 before any view runs.
- `private(response)` marks a response that shows patient data or a private link.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler)
from flask import Flask, Request
from werkzeug.routing import UnicodeConverter
from werkzeug.utils import cached_property

from . import aws

APPOINTMENT_ID_MAX = 64


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

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """Like Flask's, and a body nested too deeply for the parser (`[` * 30000) is
        malformed JSON like any other, not a RecursionError (a 500)."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            return self.on_json_loading_failed(ValueError("JSON nested too deeply"))


class AppointmentIdConverter(UnicodeConverter):
    def __init__(self, url_map):
        super().__init__(url_map, minlength=1, maxlength=APPOINTMENT_ID_MAX)


def private(response):
    """For responses that show patient data or a private link: never stored by a cache,
    never indexed by a search engine."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def register_http(app: Flask) -> None:
    app.request_class = ClinicRequest
    app.url_map.converters["appointment_id"] = AppointmentIdConverter

    # Every request's AWS calls share one time budget (see aws.py).
    @app.before_request
    def start_aws_budget():
        aws.start_request_budget()

    @app.teardown_request
    def end_aws_budget(_error=None):
        aws.end_request_budget()
