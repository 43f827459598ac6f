"""Items DynamoDB reads for one cache-miss listing, as the table's history grows.

The table holds N past bookings (PENDING/ACCEPTED/DECLINED/CANCELLED, mostly in the past,
one in ten in the future), N/10 expired AVAILABLE slots nobody booked, and ~200 future
AVAILABLE slots. For each N the app serves `GET /appointment-slot` (all future slots) and
`GET /appointment-slot?from=..&to=..` (one week) with the cache invalidated first, and we
record what its Query calls read: ScannedCount and ConsumedCapacity (read units), taken
from the app's own botocore client. For contrast, the same listing done as a filtered
Scan of the base table.

    .venv/bin/python bench/listing_reads.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import benchlib

from webapp.extensions import services

FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)


class QueryRecorder:
    """Counts what the app's DynamoDB Query calls read, via botocore events."""

    def __init__(self, client):
        self.calls: list[dict] = []
        client.meta.events.register("provide-client-params.dynamodb.Query", self._ask_capacity)
        client.meta.events.register("after-call.dynamodb.Query", self._record)

    @staticmethod
    def _ask_capacity(params, **_):
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _record(self, parsed, **_):
        self.calls.append(
            {
                "scanned": parsed.get("ScannedCount", 0),
                "count": parsed.get("Count", 0),
                "units": parsed.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0),
            }
        )

    def reset(self) -> None:
        self.calls.clear()


def listing_reads(app, recorder: QueryRecorder, url: str) -> dict:
    service = services(app)
    service.cache.invalidate()
    recorder.reset()
    response = app.test_client().get(url)
    assert response.status_code == 200, response.status_code
    assert response.headers["X-Cache"] == "MISS", response.headers["X-Cache"]
    return {
        "calls": len(recorder.calls),
        "scanned": sum(call["scanned"] for call in recorder.calls),
        "units": sum(call["units"] for call in recorder.calls),
        "returned": len(response.json),
    }


def scan_reads(client, table: str, now_slot: str) -> dict:
    """The same listing as a filtered Scan of the base table: what no index would cost."""
    params = {
        "TableName": table,
        "FilterExpression": "#status = :available AND slotStart > :now",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":available": {"S": "AVAILABLE"}, ":now": {"S": now_slot}},
        "ReturnConsumedCapacity": "TOTAL",
    }
    calls = scanned = returned = 0
    units = 0.0
    while True:
        response = client.scan(**params)
        calls += 1
        scanned += response["ScannedCount"]
        returned += response["Count"]
        units += response.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
        if "LastEvaluatedKey" not in response:
            break
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return {"calls": calls, "scanned": scanned, "units": units, "returned": returned}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small tables, for a smoke run")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    available = 80 if args.quick else 200

    rows = []
    with benchlib.dynalite() as endpoint, benchlib.redis_prefix() as prefix:
        app = benchlib.make_app(endpoint, prefix)
        service = services(app)
        client = service.store.table.client
        table = service.store.table.name
        recorder = QueryRecorder(client)
        benchlib.batch_write(client, table, benchlib.available_items(available))
        today = benchlib.today()
        week = f"/appointment-slot?from={today + timedelta(days=1)}&to={today + timedelta(days=7)}"

        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            benchlib.batch_write(client, table, benchlib.history_items(size - loaded, loaded))
            expired = size // 10 - loaded // 10
            benchlib.batch_write(client, table, benchlib.expired_items(expired, loaded // 10))
            loaded = size
            total = size + size // 10 + available
            print(
                f"loaded {size:,} bookings + {size // 10:,} expired slots "
                f"+ {available} available ({total:,} items) in "
                f"{time.perf_counter() - started:.1f}s",
                flush=True,
            )
            scan = scan_reads(client, table, service.availability.now_slot())
            for label, url in (("all future", "/appointment-slot"), ("one week", week)):
                reads = listing_reads(app, recorder, url)
                rows.append(
                    [
                        f"{size:,}",
                        f"{total:,}",
                        label,
                        reads["calls"],
                        f"{reads['scanned']:,}",
                        reads["returned"],
                        f"{reads['units']:g}",
                        scan["calls"],
                        f"{scan['scanned']:,}",
                        f"{scan['units']:g}",
                    ]
                )

    print()
    print("Reads per cache-miss listing (index Query, as the app does it) vs a filtered Scan")
    print("(the Scan columns are for the all-future listing and repeat on the week row)")
    print()
    benchlib.print_table(
        [
            "bookings",
            "table items",
            "listing",
            "Query calls",
            "Query scanned",
            "returned",
            "Query RCU",
            "Scan calls",
            "Scan scanned",
            "Scan RCU",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
