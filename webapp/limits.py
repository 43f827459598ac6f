"""Every limit on how often a client may act, and the counters behind them.

- `Counters`: fixed-window counters. They live in Redis when it answers, so every Lambda
  container and web worker shares them; without Redis configured (`cache=false`), in the
  table (`store/counters.py`), shared just the same. When that store fails, a counter
  falls back to this process's memory: weaker (one container only), but a limit is never
  silently switched off.
- `Limits`: the app's limits over those counters: booking attempts and waitlist joins
  per client, and
  failed staff sign-ins per account and per client.
- `fingerprint`: keys and log lines hold no personal data, only keyed hashes.

(The cap on open requests per email address needs the table; it is in bookings.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from typing import TYPE_CHECKING

import redis
from flask import request

from .cache import redis_client
from .extensions import settings as app_settings
from .i18n import N_
from .settings import Settings

if TYPE_CHECKING:
    from .store import Store
    from .store.counters import TableCounters

log = logging.getLogger(__name__)

# Marked for the catalog: a patient page shows it in the patient's language.
BOOKING_RATE_LIMITED = N_(
    "You have made several booking requests in a short time. Please wait a few minutes "
    "and try again, or call the clinic."
)
WAITLIST_RATE_LIMITED = N_(
    "You have asked to join the waitlist several times in a short time. Please wait a few "
    "minutes and try again, or call the clinic."
)
SIGN_IN_THROTTLED = "Too many sign-in attempts. Please wait a few minutes and try again."

_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""

# Take one unit of a budget: count it only while the count is under the limit, in one
# step, so simultaneous requests can never all see "under the limit". Returns
# {1 if taken, count, seconds until the window ends}.
_CLAIM_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('TTL', KEYS[1])
if count >= tonumber(ARGV[2]) then
  if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return {0, count, ttl}
end
count = redis.call('INCR', KEYS[1])
if count == 1 or ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {1, count, ttl}
"""

# Give one unit back (an attempt that turned out not to count); never below zero and
# never bringing back an expired window.
_RELEASE_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RateLimited(Exception):
    """Too many attempts; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, int(retry_after))


def fingerprint(settings: Settings, kind: str, value: str) -> str:
    """A keyed, truncated hash: stable for counting and logging, useless to a reader."""
    digest = hmac.new(settings.secret_key.encode(), f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def client_ip() -> str:
    """The client's address for per-client limits.

    Behind API Gateway, serverless-wsgi sets REMOTE_ADDR from the caller's source IP.
    With a CDN or WAF in front, that is the proxy's address; then TRUSTED_CLIENT_IP_HEADER
    names the header the proxy sets (e.g. CloudFront-Viewer-Address), and only it is read.
    X-Forwarded-For is client-controlled and never read (settings refuse to name it).
    """
    header = app_settings().trusted_client_ip_header
    if header:
        address = parse_client_address(request.headers.get(header, ""))
        if address:
            return address
    return request.remote_addr or "unknown"


def parse_client_address(value: str) -> str | None:
    """`198.51.100.10`, `198.51.100.10:46532`, `[2001:db8::1]:46532` or
    `2001:db8::1:46532` (CloudFront's form) -> the address; None if it is not one."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    candidates = []
    host, _, port = value.rpartition(":")
    if host and port.isdigit():
        candidates.append(host)
    candidates.append(value)
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


class Counters:
    def __init__(
        self,
        settings: Settings,
        client: redis.Redis | None = None,
        store: Store | None = None,
    ):
        self._settings = settings
        self._client = client
        # The table's counters, used only when no Redis is configured (`REDIS_HOST` unset,
        # no client given); reached on first use, so a request that counts nothing never
        # loads boto3.
        self._store = store if client is None and not settings.redis_host else None
        self._prefix = f"{settings.cache_key_prefix}:limits"
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._local: dict[str, tuple[int, float]] = {}
        self._script = None
        self._claim_script = None
        self._release_script = None

    def _redis(self) -> redis.Redis | None:
        if time.monotonic() < self._down_until:
            return None
        if self._client is None:
            if not self._settings.redis_host:
                return None
            self._client = redis_client(self._settings)
        return self._client

    def _failed(self, error: Exception, store: str = "redis") -> None:
        self._down_until = time.monotonic() + self._settings.redis_retry_after_seconds
        log.warning(
            "%s unavailable for counters (%s); counting in-process", store, type(error).__name__
        )

    def _shared_table(self) -> TableCounters | None:
        if self._store is None or time.monotonic() < self._down_until:
            return None
        return self._store.counters

    def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event; (events in the current window, seconds until it resets)."""
        full_key = f"{self._prefix}:{key}"
        client = self._redis()
        if client is not None:
            try:
                if self._script is None:
                    self._script = client.register_script(_HIT_SCRIPT)
                count, ttl = self._script(keys=[full_key], args=[window])
                return int(count), int(ttl)
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        table = self._shared_table()
        if table is not None:
            try:
                return table.hit(full_key, window)
            except Exception as error:  # throttling, network, ...: never switch a limit off
                self._failed(error, "dynamodb")
        return self._local_hit(full_key, window)

    def peek(self, key: str) -> tuple[int, int]:
        """(events in the current window, seconds until it resets) without counting."""
        full_key = f"{self._prefix}:{key}"
        client = self._redis()
        if client is not None:
            try:
                pipe = client.pipeline(transaction=False)
                pipe.get(full_key)
                pipe.ttl(full_key)
                count, ttl = pipe.execute()
                remote = (int(count or 0), max(int(ttl), 0))
                # Failures counted while Redis was down still count.
                local = self._local_peek(full_key)
                return (remote, local)[local[0] > remote[0]]
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        table = self._shared_table()
        if table is not None:
            try:
                remote = table.peek(full_key)
                local = self._local_peek(full_key)
                return (remote, local)[local[0] > remote[0]]
            except Exception as error:
                self._failed(error, "dynamodb")
        return self._local_peek(full_key)

    def claim(self, key: str, limit: int, window: int) -> tuple[bool, int, int]:
        """Count one event only if fewer than `limit` are counted in the window, atomically.

        (taken, events counted, seconds until the window resets)."""
        full_key = f"{self._prefix}:{key}"
        client = self._redis()
        if client is not None:
            try:
                if self._claim_script is None:
                    self._claim_script = client.register_script(_CLAIM_SCRIPT)
                taken, count, ttl = self._claim_script(keys=[full_key], args=[window, limit])
                return bool(taken), int(count), int(ttl)
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        table = self._shared_table()
        if table is not None:
            try:
                return table.claim(full_key, limit, window)
            except Exception as error:  # throttling, network, ...: never switch a limit off
                self._failed(error, "dynamodb")
        return self._local_claim(full_key, limit, window)

    def release(self, key: str) -> None:
        """Give back one event counted by `claim` (never below zero)."""
        full_key = f"{self._prefix}:{key}"
        client = self._redis()
        if client is not None:
            try:
                if self._release_script is None:
                    self._release_script = client.register_script(_RELEASE_SCRIPT)
                self._release_script(keys=[full_key])
                return
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        table = self._shared_table()
        if table is not None:
            try:
                table.release(full_key)
                return
            except Exception as error:
                self._failed(error, "dynamodb")
        with self._lock:
            count, expires = self._local.get(full_key, (0, 0.0))
            if count > 0 and expires > time.monotonic():
                self._local[full_key] = (count - 1, expires)

    def reset(self, key: str) -> None:
        full_key = f"{self._prefix}:{key}"
        with self._lock:
            self._local.pop(full_key, None)
        client = self._redis()
        if client is not None:
            try:
                client.delete(full_key)
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        table = self._shared_table()
        if table is not None:
            try:
                table.reset(full_key)
            except Exception as error:
                self._failed(error, "dynamodb")

    def _local_hit(self, key: str, window: int) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            if len(self._local) > 10_000:
                self._local = {k: v for k, v in self._local.items() if v[1] > now}
            count, expires = self._local.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + window
            count += 1
            self._local[key] = (count, expires)
        return count, int(expires - now) + 1

    def _local_peek(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            count, expires = self._local.get(key, (0, 0.0))
        if expires <= now:
            return 0, 0
        return count, int(expires - now) + 1

    def _local_claim(self, key: str, limit: int, window: int) -> tuple[bool, int, int]:
        now = time.monotonic()
        with self._lock:
            if len(self._local) > 10_000:
                self._local = {k: v for k, v in self._local.items() if v[1] > now}
            count, expires = self._local.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + window
            taken = count < limit
            if taken:
                count += 1
                self._local[key] = (count, expires)
        return taken, count, int(expires - now) + 1


class Limits:
    """The limits of this app, each a named method over the shared counters."""

    def __init__(self, settings: Settings, counters: Counters):
        self.settings = settings
        self.counters = counters

    def count_booking_attempt(self, client: str) -> None:
        """Count a booking attempt of this client; RateLimited past the limit."""
        self._count_client("book", "booking", client, BOOKING_RATE_LIMITED)

    def count_waitlist_join(self, client: str) -> None:
        """Count an attempt to join the waitlist: the booking attempts' limit and window,
        counted apart (one does not use up the other); RateLimited past the limit."""
        self._count_client("waitlist", "waitlist", client, WAITLIST_RATE_LIMITED)

    def _count_client(self, prefix: str, what: str, client: str, message) -> None:
        settings = self.settings
        key = fingerprint(settings, "ip", client)
        count, retry_after = self.counters.hit(
            f"{prefix}:ip:{key}", settings.booking_rate_window_seconds
        )
        if count > settings.booking_rate_limit:
            log.warning("%s refused reason=rate_limit client=%s", what, key)
            raise RateLimited(message, retry_after)

    def _sign_in_keys(self, email: str, client: str) -> list[tuple[str, int]]:
        settings = self.settings
        return [
            (
                f"login:acct:{fingerprint(settings, 'email', email)}",
                settings.login_max_failures_per_account,
            ),
            (
                f"login:ip:{fingerprint(settings, 'ip', client)}",
                settings.login_max_failures_per_client,
            ),
        ]

    def claim_sign_in_attempt(self, email: str, client: str) -> list[str]:
        """Count a sign-in attempt BEFORE its password is checked; RateLimited when the
        account or the client has used up its attempts. Returns the keys counted, for
        `sign_in_succeeded`.

        Each key is a budget claimed atomically (Redis Lua or the in-process lock), so a
        burst of simultaneous attempts gets at most `limit` password checks, never one per
        request. Refused attempts are not counted: the window is not extended by them.
        """
        claimed: list[str] = []
        for key, limit in self._sign_in_keys(email, client):
            taken, _, retry_after = self.counters.claim(
                key, limit, self.settings.login_lockout_seconds
            )
            if not taken:
                for earlier in claimed:
                    self.counters.release(earlier)
                log.warning(
                    "staff sign-in refused reason=throttled client=%s",
                    fingerprint(self.settings, "ip", client),
                )
                raise RateLimited(SIGN_IN_THROTTLED, retry_after)
            claimed.append(key)
        return claimed

    def sign_in_succeeded(self, claimed: list[str]) -> None:
        """A correct password gives back only the attempt it claimed itself.

        Nothing else is reset: failures made before it (from this client or any other)
        keep counting until their window ends, so "4 wrong, then 1 right" repeated still
        reaches the limit, and a person signing in cannot clear an attacker's count."""
        for key in claimed:
            self.counters.release(key)
