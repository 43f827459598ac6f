"""Cached listing vs the framework floor, requests per second through gunicorn, driven by wrk.

The whole site runs on real servers on free 127.0.0.1 ports (localdev/stack.py: gunicorn,
dynalite in memory, a redis-server of its own). The listing holds 200 future slots and is
cached in Redis before timing starts. wrk (C, one thread, keep-alive connections) then
drives, alternately, `GET /livez` (the floor: same server, middleware, access log and
security headers, no I/O) and the cached `GET /appointment-slot`, several rounds each;
the medians and their RATIO (listing / floor) are printed.

    .venv/bin/python bench/throughput.py [--rounds 3] [--duration 5] [--quick]

Needs wrk, from Debian's packages: `sudo apt-get install wrk`.

Server settings: 2 gunicorn worker processes (gthread) with 4 threads each. This machine
has 2 cores, shared by gunicorn, wrk, Redis and dynalite. The work per request is Python
holding the GIL, so only processes add CPU parallelism: one worker per core; more processes
only add context switches and memory. Threads let a worker overlap one request's Redis
round trip with another request's Python, and gthread keeps connections alive (sync
workers close each one, which would measure TCP set-up rather than the app). wrk gets one
thread and 16 connections: a single C thread saturates this server while using a
fraction of a core (its CPU share is printed), which leaves the rest to the server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import shutil
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import benchlib  # also puts the project root on sys.path

from localdev.stack import Stack

WORKERS = 2
THREADS = 4
CONNECTIONS = 16
TARGET = 0.80
SLOTS = 200


WSGI_TARGET = "webapp.wsgi:app"  # what localdev's stack serves


class GunicornStack(Stack):
    """localdev's stack, with gunicorn's threaded worker named (not left to inference)."""

    def gunicorn_args(self) -> list[str]:
        return ["--worker-class", "gthread", *super().gunicorn_args()]


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "error: wrk is required (Debian package `wrk`): sudo apt-get install -y wrk"
        )
    return found


def run_wrk(wrk: str, url: str, duration: float, connections: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{round(duration)}s", "--timeout", "5s", url],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{process.stdout}\n{process.stderr}")
    out = process.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if rps is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rps": float(rps.group(1)),
        "requests": int(total.group(1)),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "wrk_cpu_share": cpu / duration,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system), from /proc: time the host
    steals from this machine is not in it."""
    # Fields after the command's closing parenthesis; utime and stime are 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(stack: Stack) -> tuple[float, float]:
    """(gunicorn's master and workers, the stack's redis-server): CPU seconds so far."""
    master = stack._gunicorn.pid
    workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    app = sum(cpu_seconds(pid) for pid in [master, *map(int, workers)])
    return app, cpu_seconds(stack._redis.pid) if stack._redis is not None else 0.0


def get(url: str) -> tuple[int, str | None, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, response.headers.get("X-Cache"), response.read()


def measure(rounds: int, duration: float, workers: int = WORKERS, threads: int = THREADS) -> dict:
    wrk = wrk_binary()
    with GunicornStack(workers=workers, threads=threads) as stack:
        # add_slots writes on 16 threads through one client with 10 pooled connections.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        stack.add_slots(SLOTS, first_day="2033-01-03")
        listing_url, floor_url = f"{stack.url}/appointment-slot", f"{stack.url}/livez"
        for _ in range(20):  # every worker has a client; the cache is shared in Redis
            status, cache, body = get(listing_url)
            if cache == "HIT":
                break
        if status != 200 or cache != "HIT" or len(json.loads(body)) != SLOTS:
            raise RuntimeError(f"listing not cached: {status} {cache} {len(body)} bytes")
        run_wrk(wrk, floor_url, 1, CONNECTIONS)  # warm-up, untimed
        run_wrk(wrk, listing_url, 1, CONNECTIONS)
        samples: dict[str, list[dict]] = {"floor": [], "listing": []}
        for index in range(rounds):
            order = ("floor", "listing") if index % 2 == 0 else ("listing", "floor")
            for name in order:
                url = floor_url if name == "floor" else listing_url
                app_before, redis_before = server_cpu(stack)
                sample = run_wrk(wrk, url, duration, CONNECTIONS)
                app_after, redis_after = server_cpu(stack)
                sample["app_cpu"] = app_after - app_before
                sample["redis_cpu"] = redis_after - redis_before
                samples[name].append(sample)
            time.sleep(0.2)
        status, cache, body = get(listing_url)
        still_cached = status == 200 and cache == "HIT" and len(json.loads(body)) == SLOTS
    report = {
        "server": f"gunicorn {workers} workers (gthread) x {threads} threads, {WSGI_TARGET}",
        "load": f"wrk -t1 -c{CONNECTIONS} -d{duration:g}s, {rounds} rounds alternating",
        "still_cached": still_cached,
    }
    for name, runs in samples.items():
        report[name] = {
            "rps_median": statistics.median(r["rps"] for r in runs),
            "rps_all": [r["rps"] for r in runs],
            "requests": sum(r["requests"] for r in runs),
            "errors": sum(r["non_2xx"] + r["socket_errors"] for r in runs),
            "wrk_cpu_share": statistics.median(r["wrk_cpu_share"] for r in runs),
            # Requests per second of the app's CPU (gunicorn's processes): what a core
            # serves, whatever else the host runs. Redis (ElastiCache in AWS, another
            # machine) is counted apart: microseconds of its CPU per request.
            "per_cpu_second": sum(r["requests"] for r in runs)
            / max(sum(r["app_cpu"] for r in runs), 1e-9),
            "redis_us_per_request": 1e6
            * sum(r["redis_cpu"] for r in runs)
            / max(sum(r["requests"] for r in runs), 1),
        }
    report["ratio"] = report["listing"]["rps_median"] / report["floor"]["rps_median"]
    report["cpu_ratio"] = report["listing"]["per_cpu_second"] / report["floor"]["per_cpu_second"]
    return report


def print_report(report: dict) -> None:
    print()
    print(f"Throughput through {report['server']}; {report['load']}")
    print()
    rows = []
    for name, label in (("floor", "GET /livez (floor)"), ("listing", "GET /appointment-slot")):
        r = report[name]
        rows.append(
            [
                label,
                f"{r['rps_median']:.0f}",
                " / ".join(f"{v:.0f}" for v in r["rps_all"]),
                r["requests"],
                r["errors"],
                f"{100 * r['wrk_cpu_share']:.0f}%",
                f"{r['per_cpu_second']:.0f}",
                f"{r['redis_us_per_request']:.0f}",
            ]
        )
    benchlib.print_table(
        [
            "endpoint",
            "req/s median",
            "req/s per round",
            "requests",
            "errors",
            "wrk CPU",
            "req per app CPU-s",
            "Redis CPU µs/req",
        ],
        rows,
    )
    print()
    verdict = "met" if report["ratio"] >= TARGET else "NOT met"
    print(
        f"RATIO cached listing / floor (requests/s): {report['ratio']:.2f}  "
        f"(target >= {TARGET:.2f}: {verdict})"
    )
    print(
        f"(the same ratio per second of the app's CPU, which time the host takes from this "
        f"machine does not blur: {report['cpu_ratio']:.2f})"
    )
    if not report["still_cached"]:
        print("warning: the listing was no longer a cache hit after the run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per endpoint")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s, for a smoke run")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per process")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    rounds, duration = (1, 1) if args.quick else (args.rounds, args.duration)
    report = measure(rounds, duration, args.workers, args.threads)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    errors = report["floor"]["errors"] + report["listing"]["errors"]
    return 0 if errors == 0 and report["still_cached"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
