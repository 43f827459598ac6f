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
- The session stores the address, a fingerprint of the password hash, the account's
  session epoch and the sign-in time; each request checks them against the account
  item it reads anyway (no extra read):
  - changing the password (running create-staff again) signs every session out;
  - signing out moves the account's epoch on, which ends every session of that person,
    not just this browser's: a cookie copied or left behind on a shared reception
    computer stops working too, and staff sign in again in seconds;
  - a session lasts STAFF_SESSION_MINUTES from sign-in, whatever the activity: the
    sign-in time is in the signed session and checked here, so a cookie Flask reissues
    on each request cannot extend it.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
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
# Tolerated difference between the clocks of two instances (sign-in on one, use on another).
CLOCK_SKEW_SECONDS = 60
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


def _epoch(account: dict[str, Any]) -> int:
    return int(account.get("sessionEpoch", 0))


def _now_seconds() -> int:
    # Wall-clock time, not the clinic's clock: a session's age is real time.
    return int(time.time())


def log_in(account: dict[str, Any]) -> None:
    session.clear()  # nothing from before sign-in survives it (session fixation)
    session.permanent = True
    session[SESSION_KEY] = {
        "email": account["email"],
        "v": _session_version(account["passwordHash"]),
        "e": _epoch(account),
        "t": _now_seconds(),
    }


def log_out() -> None:
    """End this person's sessions server-side (every one; see above), then this cookie."""
    data = session.get(SESSION_KEY)
    if isinstance(data, dict) and isinstance(data.get("email"), str):
        store().staff.end_sessions(data["email"])
    session.clear()


def load_session_staff() -> str | None:
    """The signed-in staff address, checked against the account on every request."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("email"), str):
        return None
    signed_in_at = data.get("t")
    lifetime = settings().staff_session_minutes * 60
    if (
        not isinstance(signed_in_at, int)
        or not -CLOCK_SKEW_SECONDS <= _now_seconds() - signed_in_at < lifetime
    ):
        session.pop(SESSION_KEY, None)
        return None
    account = store().staff.get(data["email"])
    if (
        account is None
        or _session_version(account["passwordHash"]) != data.get("v")
        or _epoch(account) != data.get("e")
    ):
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
