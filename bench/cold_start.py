"""Cold start: a fresh Python process imports the Lambda entry and serves one listing.

Each run is a new interpreter that imports `serverless_wsgi` and `webapp.wsgi.app` (what the
serverless-wsgi Lambda handler loads) and passes a real API Gateway REST (v1) event for
`GET /appointment-slot` to `serverless_wsgi.handle_request(app, event, context)`:
- cache hit: Redis already holds the listing (filled by the preceding miss run);
- cache miss: the cache is invalidated first, so the request Queries DynamoDB (dynalite).
Reported: median over runs of the whole process (spawn to exit, as the parent sees it),
of the import + app creation, and of the first request, plus whether boto3/botocore were
imported by the time the response was ready. Then an import-time breakdown from
`python -X importtime` for both paths.

    .venv/bin/python bench/cold_start.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import benchlib

from webapp.extensions import services

# What runs inside each fresh interpreter: the Lambda entry and its first request.
CHILD = """
import time
started = time.perf_counter()
import json, sys
import serverless_wsgi
from webapp.wsgi import app
imported = time.perf_counter()


class LambdaContext:
    function_name = "clinic-web"
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    memory_limit_in_mb = 1024


response = serverless_wsgi.handle_request(app, json.loads(sys.argv[1]), LambdaContext())
served = time.perf_counter()
headers = response.get("headers") or {}
headers.update((k, v[0]) for k, v in (response.get("multiValueHeaders") or {}).items())
print(json.dumps({
    "import_ms": (imported - started) * 1000,
    "request_ms": (served - imported) * 1000,
    "status": response["statusCode"],
    "x_cache": headers.get("X-Cache"),
    "slots": len(json.loads(response["body"])),
    "botocore": "botocore" in sys.modules,
    "boto3": "boto3" in sys.modules,
    "modules": len(sys.modules),
}))
"""


def api_gateway_v1_event() -> dict:
    """A REST API (v1) proxy-integration event for GET /appointment-slot."""
    host = "abc123defg.execute-api.ap-southeast-2.amazonaws.com"
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Viewer-Country": "AU",
        "Host": host,
        "Origin": "https://clinic.example.org",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "Via": "2.0 0123456789abcdef.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "Xb1S7Dc0NpLzX4o3PXbE6cGUwUJuBL1b0ZxXxk5n5Gc2oA9i7u3Z0w==",
        "X-Amzn-Trace-Id": "Root=1-66a1b2c3-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7, 130.176.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": "/appointment-slot",
        "path": "/appointment-slot",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/appointment-slot",
            "httpMethod": "GET",
            "extendedRequestId": "Abc1DEfGHIjkLmN=",
            "requestTime": "01/Jan/2030:00:00:00 +0000",
            "path": "/prod/appointment-slot",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123defg",
            "requestTimeEpoch": 1893456000000,
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "identity": {
                "sourceIp": "203.0.113.7",
                "userAgent": headers["User-Agent"],
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
            },
            "domainName": host,
            "apiId": "abc123defg",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def child_env(endpoint: str, prefix: str) -> dict[str, str]:
    env = {
        key: os.environ[key]
        for key in ("PATH", "LANG", "HOME", "TMPDIR", "SYSTEMROOT")
        if key in os.environ
    }
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=str(benchlib.ROOT),
    )
    env.update(benchlib.app_env(endpoint, prefix))
    return env


def run_child(env: dict[str, str], event: str, *flags: str) -> tuple[dict, float, str]:
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, *flags, "-c", CHILD, event],
        env=env,
        cwd=benchlib.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    if process.returncode != 0:
        raise SystemExit(f"child failed ({process.returncode}):\n{process.stderr}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    return result, wall_ms, process.stderr


def bare_interpreter_ms() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=30)
    return (time.perf_counter() - started) * 1000


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def import_breakdown(stderr: str) -> tuple[dict[str, float], dict[str, float], float]:
    """(self ms by root package, cumulative ms of depth-0 imports, total ms)."""
    by_root: dict[str, float] = defaultdict(float)
    top_level: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        by_root[name.split(".")[0]] += int(self_us) / 1000
        if not indent:
            top_level[name] += int(cumulative_us) / 1000
    return by_root, top_level, sum(by_root.values())


def median_profile(profiles: list[tuple]) -> tuple[dict[str, float], dict[str, float], float]:
    """Per-name median over several import-time profiles (a name absent in a run counts 0)."""

    def merge(index: int) -> dict[str, float]:
        names = set().union(*(profile[index] for profile in profiles))
        return {
            name: statistics.median(profile[index].get(name, 0.0) for profile in profiles)
            for name in names
        }

    return merge(0), merge(1), statistics.median(profile[2] for profile in profiles)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each, for a smoke run")
    parser.add_argument("--runs", type=int, help="fresh processes per case")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 15)
    importtime_runs = 1 if args.quick else 5
    event = json.dumps(api_gateway_v1_event())

    results: dict[str, list[tuple[dict, float]]] = {"hit": [], "miss": []}
    with benchlib.dynalite() as endpoint, benchlib.redis_prefix() as prefix:
        app = benchlib.make_app(endpoint, prefix)
        store = services(app).store
        benchlib.batch_write(store.table.client, store.table.name, benchlib.available_items(200))
        benchlib.batch_write(store.table.client, store.table.name, benchlib.history_items(1_000))
        cache = services(app).cache
        env = child_env(endpoint, prefix)
        run_child(env, event)  # warm the OS file cache and __pycache__ once, untimed

        for _ in range(runs):
            cache.invalidate()  # this run misses and fills the cache ...
            result, wall = run_child(env, event)[:2]
            assert result["x_cache"] == "MISS", result
            results["miss"].append((result, wall))
            result, wall = run_child(env, event)[:2]  # ... so this one hits
            assert result["x_cache"] == "HIT", result
            results["hit"].append((result, wall))
        bare = statistics.median(bare_interpreter_ms() for _ in range(runs))

        miss_profiles, hit_profiles = [], []
        for _ in range(importtime_runs):
            cache.invalidate()
            miss_profiles.append(import_breakdown(run_child(env, event, "-X", "importtime")[2]))
            hit_profiles.append(import_breakdown(run_child(env, event, "-X", "importtime")[2]))
        miss_imports, hit_imports = median_profile(miss_profiles), median_profile(hit_profiles)

    print()
    print(
        f"Fresh process per run, first GET /appointment-slot through serverless_wsgi "
        f"(API Gateway v1 event); median of {runs} runs; bare `python -c pass`: {bare:.0f} ms"
    )
    print()
    rows = []
    for case in ("hit", "miss"):
        samples = results[case]
        first = samples[0][0]
        rows.append(
            [
                f"cache {case}",
                f"{statistics.median(wall for _, wall in samples):.0f}",
                f"{statistics.median(r['import_ms'] for r, _ in samples):.0f}",
                f"{statistics.median(r['request_ms'] for r, _ in samples):.1f}",
                first["status"],
                first["slots"],
                "yes" if any(r["botocore"] for r, _ in samples) else "no",
                first["modules"],
            ]
        )
    benchlib.print_table(
        [
            "case",
            "process ms",
            "import+app ms",
            "first request ms",
            "status",
            "slots",
            "botocore loaded",
            "modules",
        ],
        rows,
    )

    print()
    print("Import time by root package: self time summed, ms, median of")
    print(f"{importtime_runs} `python -X importtime` runs (which adds its own overhead) per path:")
    print()
    roots = sorted(
        set(hit_imports[0]) | set(miss_imports[0]),
        key=lambda name: -max(hit_imports[0].get(name, 0), miss_imports[0].get(name, 0)),
    )
    rows = [
        [name, f"{hit_imports[0].get(name, 0):.1f}", f"{miss_imports[0].get(name, 0):.1f}"]
        for name in roots[:15]
    ]
    rows.append(["(all)", f"{hit_imports[2]:.1f}", f"{miss_imports[2]:.1f}"])
    benchlib.print_table(["package", "hit ms", "miss ms"], rows)

    print()
    print("Top-level imports by cumulative time (ms), cache-miss process:")
    print()
    top = sorted(miss_imports[1].items(), key=lambda item: -item[1])[:10]
    benchlib.print_table(
        ["module", "miss ms", "hit ms"],
        [[name, f"{ms:.1f}", f"{hit_imports[1].get(name, 0):.1f}"] for name, ms in top],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
