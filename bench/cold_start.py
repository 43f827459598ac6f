"""Lambda-shaped cold start of the packaged web function against the seed's design.

Each cold start is a fresh Python 3.12 process that imports the handler from the unpacked,
read-only deployment zip (boto3 from a separate precompiled runtime directory after it,
no byte code written) and serves one `GET /appointment-slot` (an API Gateway HTTP API v2
event) through `wsgi_handler.handler`. The baseline is a minimal Lambda with the seed's
design that the bench builds itself (see bench/lambda_shape.py). Both read the same
DynamoDB (dynalite: 200 future slots and 1,000 bookings) and the same Redis over TLS.

Cases, alternating between the two implementations, medians over the runs:
- cache miss: the Redis is emptied first, so the request reads DynamoDB and fills it;
- cache hit: the listing the miss just stored is served from Redis.
Reported: process start to response (the cold start), import (Lambda's init), the first
request, the RATIOS ours/baseline, and what the cache-hit path loads.

    .venv/bin/python bench/cold_start.py [--runs 9] [--quick]

Needs Python 3.12 (PYTHON312, pyenv or python3.12 on PATH; it stops if there is none),
redis-server and openssl, Node.js (dynalite), and `npm ci`. Packages the zip first when
it is missing or stale (scripts/package_offline.py).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import benchlib
import lambda_shape

from webapp.extensions import services

sys.path.insert(0, str(benchlib.ROOT / "scripts"))
import package_offline

HIT_TARGET = 0.50
MISS_TARGET = 0.80
APP_HANDLER = "wsgi_handler.handler"
BASELINE_HANDLER = "lambda_function.lambda_handler"
SLOTS = 200
BOOKINGS = 1_000


def app_env(common: dict[str, str], endpoint: str, redis_port: int) -> dict[str, str]:
    """The web function's environment as serverless.yml sets it (production settings)."""
    env = dict(common)
    env.update(
        APP_ENV="production",
        SECRET_KEY="bench-secret-" + "x" * 40,
        TABLE_NAME="Appointments",
        DYNAMODB_ENDPOINT_URL=endpoint,
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(redis_port),
        REDIS_TLS="true",
        CACHE_KEY_PREFIX="{clinic}",
        CACHE_TTL_SECONDS="600",
        CLINIC_TIMEZONE=benchlib.TIMEZONE,
        STATIC_URL="https://d111111abcdef8.cloudfront.net/static",
        CORS_ALLOWED_ORIGINS="https://d111111abcdef8.cloudfront.net",
        STRIP_STAGE_PATH="true",
        EMAIL_BACKEND="ses",
        MAIL_FROM="appointments@example.com",
        STAFF_NOTIFY_EMAIL="staff@example.com",
        PUBLIC_BASE_URL="https://abc123defg.execute-api.us-east-1.amazonaws.com",
    )
    return env


def baseline_env(common: dict[str, str], endpoint: str, redis_port: int) -> dict[str, str]:
    env = dict(common)
    env.update(
        TABLE_NAME="Appointments",
        DYNAMODB_ENDPOINT_URL=endpoint,
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(redis_port),
        REDIS_TLS="true",
        CACHE_TTL_SECONDS="600",
    )
    return env


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def import_breakdown(stderr: str) -> dict[str, float]:
    """Self time (ms) summed by root package from `-X importtime` output."""
    by_root: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            by_root[match.group(4).split(".")[0]] += int(match.group(1)) / 1000
    return by_root


def median_of(profiles: list[dict[str, float]]) -> dict[str, float]:
    names = set().union(*profiles)
    return {n: statistics.median(p.get(n, 0.0) for p in profiles) for n in names}


def check(result: dict, case: str, who: str) -> None:
    expected = "MISS" if case == "miss" else "HIT"
    if result["status"] != 200 or result["x_cache"] != expected or result["slots"] != SLOTS:
        raise RuntimeError(
            f"{who} {case}: status {result['status']}, X-Cache {result['x_cache']}, "
            f"{result['slots']} slots (expected 200, {expected}, {SLOTS})"
        )


def progress(message: str) -> None:
    sys.stderr.write(f"[cold start] {message}\n")
    sys.stderr.flush()


def measure(
    runs: int,
    profile_runs: int,
    boto3_version: str | None = None,
    memory_mb: int | None = None,
    strip_bytecode: bool = False,
) -> dict:
    python = lambda_shape.find_python312()
    progress(f"Python 3.12: {python}; packaging if the zip is stale")
    package_offline.package()
    progress("runtime directory (boto3, precompiled) and baseline task directory")
    runtime = lambda_shape.runtime_dir(python, boto3_version)
    baseline_task = lambda_shape.baseline_task_dir(python)
    progress("dynalite, redis-server with TLS, loading the table")

    with (
        tempfile.TemporaryDirectory(prefix="clinic-bench-cold-") as tmp,
        benchlib.dynalite() as endpoint,
        lambda_shape.tls_redis() as (redis_port, ca),
        lambda_shape.cpu_share(memory_mb) as preexec,
    ):
        app = benchlib.make_app(endpoint, None)  # creates the table with the app's schema
        store = services(app).store
        benchlib.batch_write(store.table.client, store.table.name, benchlib.available_items(SLOTS))
        benchlib.batch_write(store.table.client, store.table.name, benchlib.history_items(BOOKINGS))

        task = lambda_shape.unpack_task(package_offline.ZIP, Path(tmp) / "task")
        if strip_bytecode:  # what the zip was before it shipped byte code
            for folder in list(task.rglob("__pycache__")):
                shutil.rmtree(folder)
        event_file = lambda_shape.write_event(Path(tmp))
        listing = {"app": lambda_shape.tree_listing(task)}
        listing["baseline"] = lambda_shape.tree_listing(baseline_task)
        lambda_shape.make_read_only(task)
        lambda_shape.make_read_only(baseline_task)
        cache = lambda_shape.tls_client(redis_port, ca)
        app_environment = app_env(lambda_shape.base_env(ca, task), endpoint, redis_port)
        setups = {
            "app": (task, APP_HANDLER, app_environment),
            "baseline": (
                baseline_task,
                BASELINE_HANDLER,
                baseline_env(lambda_shape.base_env(ca, baseline_task), endpoint, redis_port),
            ),
        }

        def cold(who: str, *flags: str) -> tuple[dict, str]:
            task_dir, handler, env = setups[who]
            return lambda_shape.run_cold_start(
                python, task_dir, runtime, handler, event_file, env, *flags, preexec=preexec
            )

        progress(f"{runs} rounds of 4 cold starts, then {profile_runs} import profiles")
        try:
            # One untimed round: the files in the OS cache, as on a warm Lambda host.
            cache.flushdb()
            for who in setups:
                cold(who)
            results: dict[tuple[str, str], list[dict]] = defaultdict(list)
            for index in range(runs):
                order = ("app", "baseline") if index % 2 == 0 else ("baseline", "app")
                cache.flushdb()
                for case in ("miss", "hit"):
                    for who in order:
                        result = cold(who)[0]
                        check(result, case, who)
                        results[(who, case)].append(result)

            profiles: dict[str, list[dict[str, float]]] = defaultdict(list)
            for _ in range(profile_runs):
                cache.flushdb()
                for case in ("miss", "hit"):
                    profiles[case].append(import_breakdown(cold("app", "-X", "importtime")[1]))
        finally:
            cache.close()
            lambda_shape.make_writable(task)
            lambda_shape.make_writable(baseline_task)
        for who, (task_dir, _, _) in setups.items():
            added = lambda_shape.tree_listing(task_dir) - listing[who]
            if added:
                raise RuntimeError(f"the runs wrote into the {who} task directory: {added}")
        lambda_shape.assert_no_bytecode(baseline_task)

    first_hit = results[("app", "hit")][0]
    report = {
        "memory_mb": memory_mb,
        "strip_bytecode": strip_bytecode,
        "python": python,
        "python_version": lambda_shape.python_version(python),
        "runs": runs,
        "slots": SLOTS,
        "bookings": BOOKINGS,
        "cases": {},
        "hit_modules": first_hit["modules"],
        "hit_stdlib_modules": first_hit["stdlib_modules"],
        "hit_packages": first_hit["packages"],
        "baseline_hit_modules": results[("baseline", "hit")][0]["modules"],
        "miss_packages": results[("app", "miss")][0]["packages"],
        "files": first_hit["files"],
        "baseline_files": results[("baseline", "hit")][0]["files"],
        "import_profile": {case: median_of(p) for case, p in profiles.items()},
        "profile_runs": profile_runs,
    }
    for (who, case), samples in results.items():
        report["cases"][f"{who} {case}"] = {
            key: statistics.median(s[key] for s in samples)
            for key in ("process_ms", "import_ms", "request_ms", "cpu_ms")
        } | {
            "botocore": any(s["botocore"] for s in samples),
            "modules": samples[0]["modules"],
        }
    for case in ("hit", "miss"):
        ours = report["cases"][f"app {case}"]["process_ms"]
        theirs = report["cases"][f"baseline {case}"]["process_ms"]
        report[f"{case}_ratio"] = ours / theirs
        report[f"{case}_cpu_ratio"] = (
            report["cases"][f"app {case}"]["cpu_ms"] / report["cases"][f"baseline {case}"]["cpu_ms"]
        )
    return report


def print_report(report: dict) -> None:
    print()
    print(
        f"Lambda-shaped cold start, Python {report['python_version']}: fresh process per run, "
        f"first GET /appointment-slot ({report['slots']} slots) through the handler, "
        f"HTTP API v2 event; median of {report['runs']} runs per case, alternating"
    )
    if report["strip_bytecode"]:
        print("The zip's byte code REMOVED: every module of ours compiled from source")
    if report["memory_mb"]:
        share = report["memory_mb"] / lambda_shape.MB_PER_VCPU
        print(
            f"CPU limited to {share:.2f} of one core, as Lambda gives {report['memory_mb']} MB "
            "(a rough emulation)"
        )
    print()
    rows = []
    for case in ("hit", "miss"):
        for who, label in (("app", "ours"), ("baseline", "baseline (seed design)")):
            figures = report["cases"][f"{who} {case}"]
            rows.append(
                [
                    f"cache {case}",
                    label,
                    f"{figures['process_ms']:.0f}",
                    f"{figures['import_ms']:.0f}",
                    f"{figures['request_ms']:.1f}",
                    f"{figures['cpu_ms']:.0f}",
                    "yes" if figures["botocore"] else "no",
                    figures["modules"],
                ]
            )
    benchlib.print_table(
        [
            "case",
            "function",
            "start to response ms",
            "import ms",
            "first request ms",
            "process CPU ms",
            "botocore loaded",
            "modules",
        ],
        rows,
    )
    print()
    for case, target in (("hit", HIT_TARGET), ("miss", MISS_TARGET)):
        ratio = report[f"{case}_ratio"]
        verdict = "met" if ratio <= target else "NOT met"
        print(
            f"RATIO cache {case} (ours/baseline): {ratio:.2f}  "
            f"(target <= {target:.2f}: {verdict}); "
            f"same ratio of process CPU time: {report[f'{case}_cpu_ratio']:.2f}"
        )
    print()
    print(
        f"Cache-hit path imports {report['hit_modules']} modules "
        f"({report['hit_stdlib_modules']} of them standard library; the baseline's hit: "
        f"{report['baseline_hit_modules']}). Top-level packages beyond the standard library:"
    )
    print("  " + ", ".join(report["hit_packages"]))
    extra = sorted(set(report["miss_packages"]) - set(report["hit_packages"]))
    print("Added by the cache-miss path: " + (", ".join(extra) or "nothing"))
    print()
    print(
        f"Import time by root package, ours (self time summed, ms, median of "
        f"{report['profile_runs']} `-X importtime` runs, which adds overhead of its own):"
    )
    print()
    hit, miss = report["import_profile"]["hit"], report["import_profile"]["miss"]
    roots = sorted(set(hit) | set(miss), key=lambda n: -max(hit.get(n, 0), miss.get(n, 0)))
    rows = [[n, f"{hit.get(n, 0):.1f}", f"{miss.get(n, 0):.1f}"] for n in roots[:15]]
    rows.append(["(all)", f"{sum(hit.values()):.1f}", f"{sum(miss.values()):.1f}"])
    benchlib.print_table(["package", "hit ms", "miss ms"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per case, for a smoke run")
    parser.add_argument("--runs", type=int, help="cold starts per case and function (default 9)")
    parser.add_argument("--runtime-boto3", help="boto3 version of the runtime directory")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="MB",
        help="limit each cold start's CPU to what Lambda gives this memory size (needs root)",
    )
    parser.add_argument(
        "--strip-bytecode",
        action="store_true",
        help="remove the zip's byte code first (the package as it was before it shipped any)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 9)
    try:
        report = measure(
            runs, 1 if args.quick else 3, args.runtime_boto3, args.memory, args.strip_bytecode
        )
    except lambda_shape.NoPython312Error as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
