"""Load and fault drill against the real stack: gunicorn + dynalite + a dedicated Redis.

    .venv/bin/python -m bench.load            # full run, prints the figures
    .venv/bin/python -m bench.load --quick    # small numbers (what CI runs through pytest)

1. Contention: N concurrent booking attempts on S slots -> exactly S bookings, N-S
   conflicts, no errors, no double booking (checked in the table afterwards).
2. Throughput and p50/p99 of the cached listing, of /livez (the framework floor: same
   server, middleware and logging, no I/O) and of booking; ratio listing/floor.
3. Redis killed mid-run (the stack's own redis-server, never a shared one): every request
   still answers 200 with X-Cache: BYPASS; the p99 increase is reported; Redis restarted,
   the cache resumes (HIT again).

Every loop is bounded by a request count (and the resume probe by a deadline as well);
the run stops by itself. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from localdev.stack import Stack

PROFILES = {
    "quick": dict(
        workers=2,
        threads=4,
        attempts=200,
        slots=20,
        listing=300,
        floor=300,
        booking=60,
        listing_slots=200,
        concurrency=8,
        outage=300,
    ),
    "full": dict(
        workers=4,
        threads=8,
        attempts=200,
        slots=20,
        listing=5000,
        floor=5000,
        booking=1000,
        listing_slots=200,
        concurrency=16,
        outage=3000,
    ),
}


@dataclass
class Result:
    status: int
    latency: float  # seconds
    cache: str | None = None
    body: bytes = b""
    error: str | None = None
    started: float = 0.0


@dataclass
class Summary:
    name: str
    results: list[Result]
    wall: float
    extra: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.results)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.error or r.status >= 500 or r.status == 0)

    def percentile(self, q: float, results: list[Result] | None = None) -> float:
        values = sorted(r.latency for r in (self.results if results is None else results))
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))] * 1000

    @property
    def rps(self) -> float:
        return self.count / self.wall if self.wall else float("nan")

    def row(self) -> dict:
        return {
            "requests": self.count,
            "errors": self.errors,
            "req_per_s": round(self.rps, 1),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "statuses": dict(Counter(r.status for r in self.results)),
            "cache": dict(Counter(r.cache for r in self.results if r.cache)),
            **self.extra,
        }


class Client:
    """One keep-alive connection per thread; reconnects after a failure."""

    def __init__(self, url: str):
        self.host, self.port = url.removeprefix("http://").split(":")
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
            self._local.conn = conn
        return conn

    def request(self, method: str, path: str, body: dict | None = None) -> Result:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        started = time.perf_counter()
        try:
            conn = self._connection()
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return Result(
                status=response.status,
                latency=time.perf_counter() - started,
                cache=response.getheader("X-Cache"),
                body=payload,
                started=started,
            )
        except (OSError, http.client.HTTPException) as error:
            self._local.conn = None
            return Result(0, time.perf_counter() - started, error=repr(error), started=started)


def run(
    client: Client,
    make_request: Callable[[int], tuple[str, str, dict | None]],
    total: int,
    concurrency: int,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[Result], float]:
    """`total` requests over `concurrency` threads; request i is make_request(i)."""
    results: list[Result | None] = [None] * total
    counter = iter(range(total))
    lock = threading.Lock()
    done = [0]

    def worker():
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            results[index] = client.request(*make_request(index))
            if on_done:
                with lock:
                    done[0] += 1
                    finished = done[0]
                on_done(finished)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None], time.perf_counter() - started


# -- 1. contention ----------------------------------------------------------------------------


def contention(stack: Stack, attempts: int, slot_count: int) -> dict:
    slots = stack.add_slots(slot_count, first_day="2031-03-03")
    patients = [
        (slots[i % slot_count], f"Contender {i}", f"contender{i}@example.com")
        for i in range(attempts)
    ]
    barrier = threading.Barrier(attempts)
    results: list[Result | None] = [None] * attempts

    def attempt(index: int) -> None:
        slot, name, email = patients[index]
        client = Client(stack.url)  # a connection of its own: all really at once
        body = {"appointmentId": slot, "patientName": name, "patientEmail": email}
        barrier.wait(timeout=60)
        results[index] = client.request("POST", "/book-appointment", body)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started

    statuses = Counter(r.status for r in results)
    winners: dict[str, list[int]] = {}
    for index, result in enumerate(results):
        if result.status == 200:
            winners.setdefault(patients[index][0], []).append(index)

    store = stack.store
    double_bookings = mismatches = not_pending = 0
    for slot in slots:
        item = store.appointments.get(slot)
        won = winners.get(slot, [])
        if len(won) > 1:
            double_bookings += 1
        if item["status"] != "PENDING":
            not_pending += 1
        for index in won:
            _, name, email = patients[index]
            if (item.get("patientName"), item.get("patientEmail")) != (name, email):
                mismatches += 1
    return {
        "attempts": attempts,
        "slots": slot_count,
        "booked": statuses.get(200, 0),
        "conflicts": statuses.get(409, 0),
        "errors": attempts - statuses.get(200, 0) - statuses.get(409, 0),
        "double_bookings": double_bookings,
        "slots_not_pending": not_pending,
        "winner_mismatches": mismatches,
        "slots_without_winner": sum(1 for slot in slots if slot not in winners),
        "statuses": dict(statuses),
        "wall_s": round(wall, 2),
    }


# -- 2. throughput ----------------------------------------------------------------------------


def throughput(stack: Stack, profile: dict) -> dict:
    client = Client(stack.url)
    concurrency = profile["concurrency"]
    stack.add_slots(profile["listing_slots"], first_day="2033-01-03")

    warm = client.request("GET", "/appointment-slot")
    listed = len(json.loads(warm.body))
    listing = Summary(
        "cached listing",
        *run(client, lambda i: ("GET", "/appointment-slot", None), profile["listing"], concurrency),
        extra={"slots_listed": listed},
    )
    floor = Summary(
        "floor (/livez)",
        *run(client, lambda i: ("GET", "/livez", None), profile["floor"], concurrency),
    )
    health = Summary(
        "/healthz (DynamoDB + Redis)",
        *run(client, lambda i: ("GET", "/healthz", None), profile["floor"] // 5, concurrency),
    )

    # Bookable slots are added after the listing phases, so they do not lengthen the list.
    to_book = stack.add_slots(profile["booking"], first_day="2032-01-05")

    def book(i: int):
        body = {
            "appointmentId": to_book[i],
            "patientName": f"Load Patient {i}",
            "patientEmail": f"load{i}@example.com",
        }
        return "POST", "/book-appointment", body

    booking = Summary("booking", *run(client, book, profile["booking"], concurrency))
    phases = [listing, floor, health, booking]
    return {
        "phases": {p.name: p.row() for p in phases},
        "listing_to_floor_throughput": round(listing.rps / floor.rps, 3),
        "listing_to_floor_p50": round(listing.percentile(0.5) / floor.percentile(0.5), 3),
    }


# -- 3. Redis killed mid-run ------------------------------------------------------------------


def redis_outage(stack: Stack, total: int, concurrency: int, resume_deadline: float = 20.0):
    client = Client(stack.url)
    for _ in range(50):  # warm: the listing is cached
        if client.request("GET", "/appointment-slot").cache == "HIT":
            break
    killed_at: list[float] = []

    def kill_halfway(finished: int) -> None:
        if finished == total // 2 and not killed_at:
            stack.kill_redis()
            killed_at.append(time.perf_counter())

    results, wall = run(
        client, lambda i: ("GET", "/appointment-slot", None), total, concurrency, kill_halfway
    )
    kill_time = killed_at[0]
    before = [r for r in results if r.started + r.latency < kill_time]
    after = [r for r in results if r.started > kill_time]
    summary = Summary("listing, Redis killed halfway", results, wall)

    stack.start_redis()
    restarted = time.perf_counter()
    probe: list[str] = []
    first_hit_after = None
    deadline = restarted + resume_deadline
    while time.perf_counter() < deadline and len(probe) < 5000:
        result = client.request("GET", "/appointment-slot")
        probe.append(result.cache if result.status == 200 else f"status {result.status}")
        if result.cache == "HIT" and first_hit_after is None:
            first_hit_after = time.perf_counter() - restarted
        if probe[-20:] == ["HIT"] * 20:
            break
        time.sleep(0.01)

    return {
        "requests": len(results),
        "non_200": sum(1 for r in results if r.status != 200),
        "before_kill": dict(Counter(r.cache for r in before)),
        "after_kill": dict(Counter(r.cache for r in after)),
        "p50_before_ms": round(summary.percentile(0.5, before), 2),
        "p99_before_ms": round(summary.percentile(0.99, before), 2),
        "p50_after_ms": round(summary.percentile(0.5, after), 2),
        "p99_after_ms": round(summary.percentile(0.99, after), 2),
        "p99_increase_ms": round(
            summary.percentile(0.99, after) - summary.percentile(0.99, before), 2
        ),
        "resume_probe": dict(Counter(probe)),
        "resumed": probe[-20:] == ["HIT"] * 20,
        "first_hit_after_restart_s": round(first_hit_after, 2) if first_hit_after else None,
    }


# -- report -----------------------------------------------------------------------------------


def run_all(profile_name: str = "quick", workers: int | None = None) -> dict:
    profile = dict(PROFILES[profile_name])
    if workers:
        profile["workers"] = workers
    with Stack(workers=profile["workers"], threads=profile["threads"]) as stack:
        report = {
            "profile": profile_name,
            "server": f"gunicorn {profile['workers']} workers x {profile['threads']} threads",
            "contention": contention(stack, profile["attempts"], profile["slots"]),
            "throughput": throughput(stack, profile),
            "redis_outage": redis_outage(stack, profile["outage"], profile["concurrency"]),
        }
        log = stack.log_text()
        report["log_lines"] = log.count("\n")
        report["patient_data_in_logs"] = any(
            marker in log for marker in ("@example.com", "Contender ", "Load Patient")
        )
    return report


def print_report(report: dict) -> None:
    c = report["contention"]
    print(f"== {report['profile']} run; {report['server']}; dynalite; dedicated redis-server")
    print(
        f"contention: {c['attempts']} attempts on {c['slots']} slots -> {c['booked']} booked, "
        f"{c['conflicts']} conflicts, {c['errors']} errors, {c['double_bookings']} double "
        f"bookings, {c['winner_mismatches']} winner/table mismatches ({c['wall_s']} s)"
    )
    t = report["throughput"]
    print(f"{'phase':32} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, row in t["phases"].items():
        print(
            f"{name:32} {row['requests']:>8} {row['errors']:>6} {row['req_per_s']:>8} "
            f"{row['p50_ms']:>8} {row['p99_ms']:>8}  cache={row['cache'] or '-'}"
        )
    print(
        f"cached listing / floor: throughput x{t['listing_to_floor_throughput']}, "
        f"p50 x{t['listing_to_floor_p50']}"
    )
    r = report["redis_outage"]
    print(
        f"redis killed after {r['requests'] // 2} of {r['requests']} listing requests: "
        f"{r['non_200']} non-200; before {r['before_kill']} after {r['after_kill']}"
    )
    print(
        f"  p99 {r['p99_before_ms']} ms -> {r['p99_after_ms']} ms "
        f"(+{r['p99_increase_ms']} ms); p50 {r['p50_before_ms']} -> {r['p50_after_ms']} ms"
    )
    print(
        f"  restarted: first HIT after {r['first_hit_after_restart_s']} s; "
        f"probe {r['resume_probe']}; resumed={r['resumed']}"
    )
    print(
        f"logs: {report['log_lines']} lines, patient data in logs: {report['patient_data_in_logs']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers, for CI")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    args = parser.parse_args(argv)
    report = run_all("quick" if args.quick else "full", args.workers)
    print_report(report)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    ok = (
        report["contention"]["errors"] == 0
        and report["contention"]["double_bookings"] == 0
        and report["redis_outage"]["non_200"] == 0
        and report["redis_outage"]["resumed"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
