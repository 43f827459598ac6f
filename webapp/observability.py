"""Structured logs: one JSON object per line, a request id on every line, one access line.

- `configure_logging` installs our formatter once per process (Lambda and gunicorn
  reuse the process across app builds): JSON in production, one readable line per
  record for people running the site locally. Calling it again only adjusts the level.
- `RequestLogMiddleware` wraps the WSGI app. It takes a well-formed incoming
  `X-Request-Id` or makes one, echoes it in the response, keeps it (and the Lambda request
  id, which serverless-wsgi passes in the WSGI environ) in a context variable that the
  formatter adds to every line logged while the request runs, and writes one access line
  per request: method, path (never the query string), status, latency, cache outcome.
- Patient data never goes into logs: the access line names no body, no query string, and
  routes that carry a secret in their path are logged by their URL rule; the libraries that
  log request payloads at DEBUG (botocore, urllib3) are held at WARNING whatever LOG_LEVEL.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Set by a Flask hook: the URL rule to log instead of a path that carries a secret.
LOG_PATH_ENVIRON_KEY = "clinic.log_path"
MAX_LOGGED_PATH = 256

# Loggers that write request bodies or headers at DEBUG level: never below WARNING.
_PAYLOAD_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")

_context: ContextVar[dict[str, str] | None] = ContextVar("clinic_request_context", default=None)
access_log = logging.getLogger("webapp.access")

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time, level, logger, message, request ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context.get() or {})
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        # ASCII only: a raw U+2028 or U+0085 would split the line for some log readers.
        return json.dumps(entry, default=str)


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class ReadableFormatter(logging.Formatter):
    """For local development: `10:00:00 INFO GET /path 200 3.1ms HIT`, no JSON."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        if record.name == access_log.name:
            text = (
                f"{getattr(record, 'method', '')} {getattr(record, 'path', '')} "
                f"{getattr(record, 'status', '')} {getattr(record, 'duration_ms', '')}ms"
            )
            cache = getattr(record, "cache", None)
            text += f" {cache}" if cache else ""
        else:
            # Without the development server's colour codes (its start-up banner): the
            # readable lines are plain text in any terminal or file.
            text = f"{record.name}: {_ANSI_ESCAPE.sub('', record.getMessage())}"
        line = f"{stamp} {record.levelname:<7} {text}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test capture, gunicorn, Lambda)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_DEV_SERVER_ACCESS_LINE = re.compile(r'\] "[A-Z]+ \S* HTTP/[0-9.]+" [0-9]{3} ')


class DropDevServerAccessLines(logging.Filter):
    """The development server's own access line holds the path and query string (a manage
    link's token among them); ours replaces it. Werkzeug colours lines of non-200 answers,
    so the colour codes are removed before matching."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _ANSI_ESCAPE.sub("", record.getMessage())
        return not _DEV_SERVER_ACCESS_LINE.search(message)


_MARK = "_clinic_json_logging"


def configure_logging(
    level: str = "INFO", root: logging.Logger | None = None, readable: bool = False
) -> None:
    """Install our logging on the root logger once; later calls only change the level and
    the format. `readable`: one plain line per record (local development) instead of JSON.

    On AWS Lambda the runtime has already put its own handler on the root logger (it
    writes to the function's log stream): that handler gets our formatter instead of a
    second handler printing every line twice.
    """
    root = root or logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, _MARK, False)]
    if not ours:
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and root.handlers:
            ours = list(root.handlers)
        else:
            ours = [_StderrHandler()]
            root.addHandler(ours[0])
        for handler in ours:
            setattr(handler, _MARK, True)
    formatter_class = ReadableFormatter if readable else JsonFormatter
    for handler in ours:
        if not isinstance(handler.formatter, formatter_class):
            handler.setFormatter(formatter_class())
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name in _PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropDevServerAccessLines) for f in werkzeug.filters):
        werkzeug.addFilter(DropDevServerAccessLines())


@contextmanager
def lambda_invocation(context) -> Iterator[None]:
    """For Lambda handlers that are not HTTP (stream, schedule): tag every line logged
    during the invocation with its Lambda request id."""
    aws_request_id = str(getattr(context, "aws_request_id", "") or uuid.uuid4().hex)
    token = _context.set({"request_id": aws_request_id, "aws_request_id": aws_request_id})
    try:
        yield
    finally:
        _reset(token)


def current_request_id() -> str | None:
    context = _context.get()
    return context.get("request_id") if context else None


def _request_ids(environ: dict) -> dict[str, str]:
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    ids = {"request_id": incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex}
    lambda_context = environ.get("serverless.context")
    aws_request_id = getattr(lambda_context, "aws_request_id", None)
    if aws_request_id:
        ids["aws_request_id"] = str(aws_request_id)
    return ids


class RequestLogMiddleware:
    """WSGI middleware: request id in, request id out, one access line per request."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        ids = _request_ids(environ)
        token = _context.set(ids)
        started = time.perf_counter()
        logged = []

        def log_once(status: str, cache: str | None) -> None:
            if not logged:
                logged.append(True)
                self._log_access(environ, status, cache, started)

        def start_with_id(status: str, headers: list, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, ids["request_id"]))
            # The body is built by now (Flask responses are not streamed): log here, so
            # the line is written even when a caller never reads or closes the body.
            log_once(status, next((v for k, v in headers if k.lower() == "x-cache"), None))
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start_with_id)
        except BaseException:
            log_once("500", None)
            _reset(token)
            raise
        return _ClosingIterator(body, lambda: _reset(token))

    @staticmethod
    def _log_access(environ: dict, status: str, cache: str | None, started: float) -> None:
        path = environ.get(LOG_PATH_ENVIRON_KEY) or _wsgi_text(environ.get("PATH_INFO", ""))
        code = status.split(" ", 1)[0]
        access_log.info(
            "request",
            extra={
                "method": environ.get("REQUEST_METHOD", ""),
                "path": path[:MAX_LOGGED_PATH],
                "status": int(code) if code.isdigit() else 0,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "cache": cache,
            },
        )


def _wsgi_text(value: str) -> str:
    """WSGI strings carry the raw bytes as latin-1; show them as the UTF-8 they were."""
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


def _reset(token) -> None:
    try:
        _context.reset(token)
    except ValueError:  # closed from another context than the one that started it
        _context.set(None)


class _ClosingIterator:
    """Pass the body through; run `on_close` once, when it is exhausted or closed."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]):
        self._body = body
        self._iterator = iter(body)
        self._on_close = on_close
        self._finished = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._iterator)
        except StopIteration:
            self._done()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()

    def _done(self) -> None:
        # Servers close the body; some callers only read it to the end. Once either way.
        if not self._finished:
            self._finished = True
            self._on_close()


def register_request_logging(app) -> None:
    """Wrap the WSGI app; routes whose URL holds a secret are logged by their rule."""
    from flask import request

    app.wsgi_app = RequestLogMiddleware(app.wsgi_app)

    @app.before_request
    def _remember_loggable_path():
        rule = request.url_rule
        if rule is not None and any("token" in name for name in rule.arguments):
            request.environ[LOG_PATH_ENVIRON_KEY] = rule.rule
