"""Staff accounts: password hashing, sign-in with throttling, the session, the CLI command.

- Accounts live in the Appointments table as `staff#<email>` items (see appointments.py)
  with a scrypt hash (werkzeug), never the password.
- Sign-in answers the same message and status for an unknown address and a wrong
  password, and an unknown address still pays for one hash, so neither the words nor the
  timing tell which addresses have accounts.
- Failed attempts are counted per account and per client address (limits.Counters:
  Redis, or in-process when Redis is down). Past the limit, attempts are refused before
  any password is checked until the window ends.
- The session stores the address and a fingerprint of the password hash: changing the
  password (running create-staff again) signs every existing session out.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from datetime import timedelta
from functools import cache
from typing import Any

import click
from flask import Flask, current_app, g, request, session
from flask.cli import with_appcontext
from werkzeug.security import check_password_hash, generate_password_hash

from . import clock
from .limits import Counters, RateLimited, fingerprint
from .services import slot_service
from .settings import Settings

log = logging.getLogger(__name__)

SESSION_KEY = "staff"
PASSWORD_MIN = 12
PASSWORD_MAX = 256
EMAIL_MAX = 254
HASH_METHOD = "scrypt"
THROTTLED_MESSAGE = "Too many sign-in attempts. Please wait a few minutes and try again."
FAILED_MESSAGE = "The email address or password is not correct."


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


@cache
def _dummy_hash() -> str:
    # Checked against when the account does not exist, so that costs the same time.
    import secrets

    return hash_password(secrets.token_urlsafe(24))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def counters() -> Counters:
    return current_app.extensions["limits"]


def client_ip() -> str:
    # Behind API Gateway, serverless-wsgi sets REMOTE_ADDR from the caller's source IP;
    # X-Forwarded-For is client-controlled and deliberately ignored.
    return request.remote_addr or "unknown"


def _session_version(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def authenticate(email: str, password: str) -> dict[str, Any] | None:
    """The account for these credentials, or None. Raises RateLimited when throttled."""
    settings: Settings = current_app.config["SETTINGS"]
    email = normalize_email(email)
    client = fingerprint(settings, "ip", client_ip())
    keys = (
        (
            f"login:acct:{fingerprint(settings, 'email', email)}",
            settings.login_max_failures_per_account,
        ),
        (f"login:ip:{client}", settings.login_max_failures_per_client),
    )
    for key, limit in keys:
        count, retry_after = counters().peek(key)
        if count >= limit:
            log.warning("staff sign-in refused reason=throttled client=%s", client)
            raise RateLimited(THROTTLED_MESSAGE, retry_after or settings.login_lockout_seconds)

    account = None
    if 0 < len(email) <= EMAIL_MAX and 0 < len(password or "") <= PASSWORD_MAX:
        account = slot_service().store.get_staff(email)
    stored = account["passwordHash"] if account else _dummy_hash()
    valid = check_password_hash(stored, (password or "")[:PASSWORD_MAX])
    if account is None or not valid:
        for key, _ in keys:
            counters().hit(key, settings.login_lockout_seconds)
        log.info("staff sign-in failed client=%s", client)
        return None
    counters().reset(keys[0][0])
    return account


def log_in(account: dict[str, Any]) -> None:
    session.clear()  # nothing from before sign-in survives it (session fixation)
    session.permanent = True
    session[SESSION_KEY] = {
        "email": account["email"],
        "v": _session_version(account["passwordHash"]),
    }


def log_out() -> None:
    session.clear()


def load_session_staff() -> str | None:
    """The signed-in staff address, checked against the account on every request."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("email"), str):
        return None
    account = slot_service().store.get_staff(data["email"])
    if account is None or _session_version(account["passwordHash"]) != data.get("v"):
        session.pop(SESSION_KEY, None)
        return None
    g.staff_email = account["email"]
    return account["email"]


def current_staff() -> str:
    return g.staff_email


# -- command line ----------------------------------------------------------------------


@click.command("create-staff")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@with_appcontext
def create_staff_command(email: str, password_stdin: bool):
    """Create a staff account, or set a new password for an existing one."""
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise click.UsageError(
            f"The password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long."
        )
    store = slot_service().store
    created = store.put_staff(email, hash_password(password), clock.iso_timestamp())
    if created:
        click.echo(f"Created staff account {email}.")
    else:
        click.echo(f"Updated the password of {email}; their existing sessions are signed out.")


def init_app(app: Flask, settings: Settings, redis_client=None) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=settings.staff_session_minutes)
    app.extensions["limits"] = Counters(settings, client=redis_client)
    app.cli.add_command(create_staff_command)
