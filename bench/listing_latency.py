"""Listing latency through the Flask app: cache hit vs cache miss, median and p99.

The app runs in this process and is called through Flask's test client (full WSGI stack:
routing, CORS, security headers, JSON), with a real Redis at 127.0.0.1:6379 (unique key
prefix) and an in-memory dynalite holding ~200 future AVAILABLE slots and past bookings.
Hit: the listing is cached. Miss: the cache is invalidated before each request (outside
the timed part), so each request Queries dynalite and refills Redis. Bypass: no Redis.

    .venv/bin/python bench/listing_latency.py [--quick] [--requests N]
"""

from __future__ import annotations

import argparse
import time

import benchlib

from webapp.extensions import services


def timed_requests(app, count: int, expect: str, before=None) -> list[float]:
    client = app.test_client()
    timings = []
    for _ in range(count):
        if before:
            before()
        started = time.perf_counter()
        response = client.get("/appointment-slot")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        assert response.headers["X-Cache"] == expect, response.headers["X-Cache"]
        timings.append(elapsed * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few requests, for a smoke run")
    parser.add_argument("--requests", type=int, help="timed requests per case")
    args = parser.parse_args()
    count = args.requests or (20 if args.quick else 1000)
    history = 1_000 if args.quick else 10_000
    available = 200
    warmup = 5 if args.quick else 50

    results = {}
    with benchlib.dynalite() as endpoint, benchlib.redis_prefix() as prefix:
        app = benchlib.make_app(endpoint, prefix)
        store = services(app).store
        benchlib.batch_write(
            store.table.client, store.table.name, benchlib.available_items(available)
        )
        benchlib.batch_write(store.table.client, store.table.name, benchlib.history_items(history))
        cache = services(app).cache
        bypass_app = benchlib.make_app(endpoint, None)

        timed_requests(app, warmup, "MISS", before=cache.invalidate)
        timed_requests(bypass_app, warmup, "BYPASS")
        results["hit"] = timed_requests(app, count, "HIT")
        results["miss"] = timed_requests(app, count, "MISS", before=cache.invalidate)
        results["bypass (no Redis)"] = timed_requests(bypass_app, count, "BYPASS")
        body = len(app.test_client().get("/appointment-slot").data)

    print()
    print(
        f"GET /appointment-slot via Flask test client: {available} slots returned "
        f"({body:,} bytes), {history:,} past bookings in the table, {count} requests per case"
    )
    print()
    rows = []
    for case, timings in results.items():
        stats = benchlib.summary(timings)
        rows.append(
            [case, stats["n"]] + [f"{stats[key]:.2f}" for key in ("median", "p99", "min", "max")]
        )
    benchlib.print_table(["case", "requests", "median ms", "p99 ms", "min ms", "max ms"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
