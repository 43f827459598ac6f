"""Shared helpers for the benchmark scripts: local services, data loading, statistics.

Every benchmark talks only to 127.0.0.1: an in-memory dynalite on a free port (stopped
on exit) and the Redis at REDIS_HOST:REDIS_PORT (default 127.0.0.1:6379) under a unique
key prefix that is deleted on exit.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import statistics
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# dynalite accepts any credentials; never let a benchmark pick up real ones.
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)

from localdev.services import free_port, start_dynalite  # noqa: E402

REDIS_HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6379"))
TIMEZONE = "UTC"
HISTORY_STATUSES = ("PENDING", "ACCEPTED", "DECLINED", "CANCELLED")
SLOT_TIMES = ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "14:00", "14:30")


@contextlib.contextmanager
def dynalite() -> Iterator[str]:
    """An in-memory dynalite on a free local port; yields its endpoint URL."""
    port = free_port()
    process = start_dynalite(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except Exception:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def redis_prefix() -> Iterator[str]:
    """A unique cache key prefix on the local Redis, its keys deleted afterwards."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        raise SystemExit(f"Redis is required at {REDIS_HOST}:{REDIS_PORT}: {error}") from None
    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def app_env(endpoint: str | None, prefix: str | None, **extra: str) -> dict[str, str]:
    """Environment variables for the app under benchmark (production mode)."""
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "TABLE_NAME": "Appointments",
        "CLINIC_TIMEZONE": TIMEZONE,
        "CACHE_TTL_SECONDS": "600",
        "MAIL_FROM": "bookings@clinic.example",
        "LOG_LEVEL": "WARNING",  # one access line per request would drown the figures
        "PUBLIC_BASE_URL": "https://clinic.example",
    }
    if endpoint:
        env["DYNAMODB_ENDPOINT_URL"] = endpoint
    if prefix:
        env.update(REDIS_HOST=REDIS_HOST, REDIS_PORT=str(REDIS_PORT), CACHE_KEY_PREFIX=prefix)
    env.update(extra)
    return env


def make_app(endpoint: str, prefix: str | None, **extra: str):
    from webapp import create_app
    from webapp.extensions import services
    from webapp.settings import load_settings

    app = create_app(load_settings(app_env(endpoint, prefix, **extra)))
    logging.getLogger("botocore").setLevel(logging.WARNING)  # create_app logs at INFO
    services(app).store.table.create()
    return app


def today() -> date:
    return datetime.now(UTC).date()


def history_items(count: int, start_index: int = 0, seed: int = 1) -> Iterator[dict]:
    """`count` booked slots: mostly past (up to ~3 years back), one in ten in the future."""
    rng = random.Random(seed + start_index)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for index in range(start_index, start_index + count):
        if rng.random() < 0.1:
            day = today() + timedelta(days=rng.randint(1, 60))
        else:
            day = today() - timedelta(days=rng.randint(1, 3 * 365))
        time = rng.choice(SLOT_TIMES)
        yield {
            "appointmentId": f"h{index:07d}",
            "appointmentDate": day.isoformat(),
            "appointmentTime": time,
            "slotStart": f"{day.isoformat()}T{time}",
            "status": rng.choice(HISTORY_STATUSES),
            "patientName": f"Patient {index}",
            "patientEmail": f"patient{index}@example.com",
            "notes": "Follow-up visit" if index % 3 == 0 else "",
            "createdAt": now,
            "updatedAt": now,
            "requestedAt": now,
        }


def expired_items(count: int, start_index: int = 0, seed: int = 2) -> Iterator[dict]:
    """`count` past AVAILABLE slots nobody booked: they stay AVAILABLE forever."""
    rng = random.Random(seed + start_index)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for index in range(start_index, start_index + count):
        day = today() - timedelta(days=rng.randint(1, 3 * 365))
        time = rng.choice(SLOT_TIMES)
        yield {
            "appointmentId": f"x{index:07d}",
            "appointmentDate": day.isoformat(),
            "appointmentTime": time,
            "slotStart": f"{day.isoformat()}T{time}",
            "status": "AVAILABLE",
            "createdAt": now,
            "updatedAt": now,
        }


def available_items(count: int) -> Iterator[dict]:
    """`count` future AVAILABLE slots, SLOT_TIMES per day from tomorrow on."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for index in range(count):
        day = today() + timedelta(days=1 + index // len(SLOT_TIMES))
        time = SLOT_TIMES[index % len(SLOT_TIMES)]
        yield {
            "appointmentId": f"{day:%Y%m%d}-{time.replace(':', '')}",
            "appointmentDate": day.isoformat(),
            "appointmentTime": time,
            "slotStart": f"{day.isoformat()}T{time}",
            "status": "AVAILABLE",
            "createdAt": now,
            "updatedAt": now,
        }


def batch_write(client, table: str, items: Iterator[dict], threads: int = 8) -> int:
    """BatchWriteItem in chunks of 25 on a few threads, retrying unprocessed items."""
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize

    def to_request(item: dict) -> dict:
        return {"PutRequest": {"Item": {k: serialize(v) for k, v in item.items() if v != ""}}}

    def write(chunk: list[dict]) -> int:
        pending = {table: chunk}
        while pending:
            response = client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
        return len(chunk)

    chunks: list[list[dict]] = []
    chunk: list[dict] = []
    for item in items:
        chunk.append(to_request(item))
        if len(chunk) == 25:
            chunks.append(chunk)
            chunk = []
    if chunk:
        chunks.append(chunk)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(write, chunks))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p99": percentile(values, 0.99),
        "min": min(values),
        "max": max(values),
    }


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
