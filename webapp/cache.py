"""The Redis cache of available slots. Optional by design: any Redis trouble means BYPASS.

Layout: one hash holds every cached window, so invalidation is a single DEL. A field is a
window; its value is `<valid until>|<JSON body>`: the listing's response body exactly as
served (public slot fields only, never patient data), so a hit sends it without decoding
and re-encoding it, and the Unix time at which its first slot starts. At that moment the
entry stops being served (a MISS refills it), so a cached list never offers a slot that
has begun, even within the TTL. An `epoch` counter
bumped on every invalidation guards against a slow reader writing a list it read before
the change: the fill only lands if the epoch is still the one seen before reading DynamoDB.

When Redis fails, the cache stays off for `redis_retry_after_seconds` so requests do not
each pay the timeout again; an invalidation that could not be delivered is retried first
thing when Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import clock
from .settings import Settings

log = logging.getLogger(__name__)

HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"

# Write the window only if no invalidation happened since the reader saw `epoch`.
# The hash expires TTL seconds after its first window was written (works on Redis 6 too).
_FILL_SCRIPT = """
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 1
"""


_clients: dict[tuple, redis.Redis] = {}
_clients_lock = threading.Lock()


def redis_client(settings: Settings) -> redis.Redis:
    """One client (one connection pool) per process and server, created on first use."""
    key = (
        settings.redis_host,
        settings.redis_port,
        settings.redis_tls,
        settings.redis_timeout_seconds,
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis(
                    host=settings.redis_host,
                    port=settings.redis_port,
                    ssl=settings.redis_tls,
                    socket_connect_timeout=settings.redis_timeout_seconds,
                    socket_timeout=settings.redis_timeout_seconds,
                    health_check_interval=30,
                    # Fail fast: a retry would pay the timeout again.
                    retry=Retry(NoBackoff(), 0),
                    decode_responses=True,
                )
                _clients[key] = client
    return client


class SlotCache:
    def __init__(self, settings: Settings, client: redis.Redis | None = None):
        self.ttl = settings.cache_ttl_seconds
        self.retry_after = settings.redis_retry_after_seconds
        self.slots_key = f"{settings.cache_key_prefix}:slots:available"
        self.epoch_key = f"{settings.cache_key_prefix}:slots:epoch"
        self._client = client
        self._settings = settings
        self._down_until = 0.0
        self._invalidation_owed = False
        self._fill = None

    @property
    def enabled(self) -> bool:
        return self._client is not None or bool(self._settings.redis_host)

    def _redis(self) -> redis.Redis | None:
        if not self.enabled or time.monotonic() < self._down_until:
            return None
        if self._client is None:
            self._client = redis_client(self._settings)
        return self._client

    def _failed(self, action: str, error: Exception) -> None:
        self._down_until = time.monotonic() + self.retry_after
        log.warning(
            "redis unavailable during %s (%s); bypassing cache for %.0fs",
            action,
            type(error).__name__,
            self.retry_after,
        )

    def _settle_owed_invalidation(self, client: redis.Redis) -> None:
        if self._invalidation_owed:
            self._drop(client)
            self._invalidation_owed = False

    def _drop(self, client: redis.Redis) -> None:
        pipe = client.pipeline(transaction=True)
        pipe.incr(self.epoch_key)
        pipe.delete(self.slots_key)
        pipe.execute()

    def get(self, window: str) -> tuple[str, str | None, str | None]:
        """(outcome, the cached body or None, epoch token for a later fill)."""
        client = self._redis()
        if client is None:
            return BYPASS, None, None
        try:
            self._settle_owed_invalidation(client)
            # One round trip for a hit; the epoch is read only on a miss, still before
            # the caller reads DynamoDB, which is all the fill's guard needs.
            cached = client.hget(self.slots_key, window)
            if cached is not None:
                valid_until, _, body = cached.partition("|")
                until = int(valid_until) if valid_until.isdigit() else 0  # 0: nothing starts
                if not until or clock.utcnow().timestamp() < until:
                    return HIT, body, None
            epoch = client.get(self.epoch_key)
        except (redis.RedisError, OSError) as error:
            self._failed("read", error)
            return BYPASS, None, None
        return MISS, None, epoch or "0"

    def fill(self, window: str, body: str, valid_until: int, epoch: str | None) -> None:
        """Cache `body` for `window` until `valid_until` (Unix time) or the TTL, whichever
        comes first; nothing if an invalidation happened since `epoch` was read."""
        if epoch is None:
            return
        client = self._redis()
        if client is None:
            return
        try:
            if self._fill is None:
                self._fill = client.register_script(_FILL_SCRIPT)
            self._fill(
                keys=[self.slots_key, self.epoch_key],
                args=[epoch, window, f"{valid_until}|{body}", self.ttl],
            )
        except (redis.RedisError, OSError) as error:
            self._failed("fill", error)

    def invalidate(self) -> None:
        """Forget every cached window; owed until delivered if Redis is unreachable."""
        if not self.enabled:
            return
        client = self._redis()
        if client is None:
            self._invalidation_owed = True
            return
        try:
            self._drop(client)
            self._invalidation_owed = False
        except (redis.RedisError, OSError) as error:
            self._invalidation_owed = True
            self._failed("invalidate", error)

    def ping(self) -> bool:
        client = self._redis()
        if client is None:
            return False
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError) as error:
            self._failed("ping", error)
            return False
