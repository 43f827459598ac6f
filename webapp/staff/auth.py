"""Staff accounts: password hashing, sign-in with throttling, the session, the CLI command.

- Accounts live in the Appointments table as `staff#<email>` items (see store/staff.py)
  with a scrypt hash (werkzeug), never the password.
- Sign-in answers the same message and status for an unknown address and a wrong
  password, and an unknown address still pays for one hash, so neither the words nor the
  timing tell which addresses have accounts.
- Attempts are counted per account and per client address BEFORE the password is
  checked (limits.Limits: an atomic claim in Redis, or in-process when Redis is down).
  Past the limit, attempts are refused without a password check until the window ends.
  A correct password gives back only its own attempt; earlier failures keep counting.
- The session stores the address and a fingerprint of the password hash: changing the
  password (running create-staff again) signs every existing session out.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from functools import cache
from typing import Any

import click
from flask import g, session
from flask.cli import with_appcontext
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..extensions import limits, settings, store
from ..limits import client_ip, fingerprint

log = logging.getLogger(__name__)

SESSION_KEY = "staff"
PASSWORD_MIN = 12
PASSWORD_MAX = 256
EMAIL_MAX = 254
HASH_METHOD = "scrypt"
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


def _session_version(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def authenticate(email: str, password: str) -> dict[str, Any] | None:
    """The account for these credentials, or None. Raises RateLimited when throttled."""
    email = normalize_email(email)
    client = client_ip()
    claimed = limits().claim_sign_in_attempt(email, client)

    account = None
    if 0 < len(email) <= EMAIL_MAX and 0 < len(password or "") <= PASSWORD_MAX:
        account = store().staff.get(email)
    stored = account["passwordHash"] if account else _dummy_hash()
    valid = check_password_hash(stored, (password or "")[:PASSWORD_MAX])
    if account is None or not valid:
        log.info("staff sign-in failed client=%s", fingerprint(settings(), "ip", client))
        return None
    limits().sign_in_succeeded(claimed)
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
    account = store().staff.get(data["email"])
    if account is None or _session_version(account["passwordHash"]) != data.get("v"):
        session.pop(SESSION_KEY, None)
        return None
    g.staff_email = account["email"]
    return account["email"]


def current_staff() -> str:
    return g.staff_email


# -- the command that creates accounts ------------------------------------------------


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
    created = store().staff.put(email, hash_password(password), clock.iso_timestamp())
    if created:
        click.echo(f"Created staff account {email}.")
    else:
        click.echo(f"Updated the password of {email}; their existing sessions are signed out.")
