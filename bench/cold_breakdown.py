"""Where a Lambda-shaped cold start of the web function spends its time, step by step.

Same set-up as bench/cold_start.py (unpacked read-only zip, Python 3.12, precompiled boto3
runtime directory, Redis over TLS, dynalite), but each fresh process times the pieces of
a cold start separately, in the order the app meets them:

1. the handler import (Lambda's init), split by `-X importtime` into top-level packages;
2. the first request's own pieces, measured in isolation in a second process: importing
   boto3, creating the session, creating the DynamoDB client (service model loading), the
   first Query (connection included), the second Query; importing redis-py, the first
   Redis command (TCP + TLS handshake) and the second;
3. a cProfile of the first request on the miss and the hit path (top functions by
   cumulative time).

    .venv/bin/python bench/cold_breakdown.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
import cold_start
import lambda_shape

from webapp.extensions import services

sys.path.insert(0, str(benchlib.ROOT / "scripts"))
import package_offline

STEPS = r"""
import sys, time, json, os
task, runtime = sys.argv[1:3]
sys.path[:] = [task, runtime] + [p for p in sys.path[1:] if p]
t = {}
def step(name, fn):
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    t[name] = [(time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000]
    return value
boto3 = step("import boto3", lambda: __import__("boto3"))
from botocore.config import Config
session = step("boto3 Session()", lambda: boto3.session.Session())
client = step("DynamoDB client (service model)", lambda: session.client(
    "dynamodb", region_name="us-east-1", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"],
    config=Config(connect_timeout=2, read_timeout=5,
                  retries={"max_attempts": 3, "mode": "standard"})))
query = dict(TableName="Appointments", IndexName="status-slotStart-index",
             KeyConditionExpression="#s = :a AND slotStart > :now",
             ExpressionAttributeNames={"#s": "status"},
             ExpressionAttributeValues={":a": {"S": "AVAILABLE"}, ":now": {"S": "2000-01-01"}})
step("first Query (connect + 200 items)", lambda: client.query(**query))
step("second Query (warm)", lambda: client.query(**query))
redis = step("import redis", lambda: __import__("redis"))
r = redis.Redis(host="127.0.0.1", port=int(os.environ["REDIS_PORT"]), ssl=True)
step("first Redis GET (TCP + TLS handshake)", lambda: r.get("nothing"))
step("second Redis GET (warm)", lambda: r.get("nothing"))
print(json.dumps(t))
"""

PROFILE = r"""
import sys, json, cProfile, pstats, io
task, runtime, event_file = sys.argv[1:4]
sys.path[:] = [task, runtime] + [p for p in sys.path[1:] if p]
import wsgi_handler
event = json.load(open(event_file))
profiler = cProfile.Profile()
profiler.enable()
response = wsgi_handler.handler(event, None)
profiler.disable()
out = io.StringIO()
pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
print(out.getvalue())
print("X-Cache:", (response.get("headers") or {}).get("X-Cache"))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    python = lambda_shape.find_python312()
    package_offline.package()
    runtime = lambda_shape.runtime_dir(python)
    with (
        tempfile.TemporaryDirectory(prefix="clinic-bench-breakdown-") as tmp,
        benchlib.dynalite() as endpoint,
        lambda_shape.tls_redis() as (redis_port, ca),
    ):
        app = benchlib.make_app(endpoint, None)
        store = services(app).store
        benchlib.batch_write(store.table.client, store.table.name, benchlib.available_items(200))
        benchlib.batch_write(store.table.client, store.table.name, benchlib.history_items(1_000))
        task = lambda_shape.unpack_task(package_offline.ZIP, Path(tmp) / "task")
        event_file = lambda_shape.write_event(Path(tmp))
        env = cold_start.app_env(lambda_shape.base_env(ca, task), endpoint, redis_port)
        cache = lambda_shape.tls_client(redis_port, ca)

        samples: list[dict] = []
        for _ in range(args.runs + 1):
            out = subprocess.run(
                [python, "-S", "-c", STEPS, str(task), str(runtime)],
                env=env, cwd=task, capture_output=True, text=True, check=True,
            )  # fmt: skip
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
        samples = samples[1:]  # the first warms the OS file cache
        print(f"\nFirst-request pieces in isolation, median of {args.runs} fresh processes:\n")
        benchlib.print_table(
            ["step", "wall ms", "CPU ms"],
            [
                [
                    name,
                    f"{statistics.median(s[name][0] for s in samples):.1f}",
                    f"{statistics.median(s[name][1] for s in samples):.1f}",
                ]
                for name in samples[0]
            ],
        )
        for case in ("miss", "hit"):
            if case == "miss":
                cache.flushdb()
            out = subprocess.run(
                [python, "-S", "-c", PROFILE, str(task), str(runtime), str(event_file)],
                env=env, cwd=task, capture_output=True, text=True, check=True,
            )  # fmt: skip
            print(f"\ncProfile of the first request, cache {case} (top 25 by cumulative time):")
            print(out.stdout)
        cache.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
