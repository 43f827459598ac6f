"""Both performance goals in one run: the Lambda cold-start ratios and the throughput ratio.

    .venv/bin/python bench/lambda_perf.py            # 9 cold starts per case, 3 wrk rounds
    .venv/bin/python bench/lambda_perf.py --quick    # smoke run

Runs bench/cold_start.py (Lambda-shaped cold start against the seed-design baseline) and
bench/throughput.py (cached listing vs /livez through gunicorn, driven by wrk), prints
each one's table, then the three ratios against their targets. Prerequisites: those of
both scripts (Python 3.12, redis-server, openssl, Node.js + `npm ci`, wrk).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cold_start
import lambda_shape
import throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest numbers, for a smoke run")
    parser.add_argument("--runs", type=int, default=9, help="cold starts per case and function")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per endpoint")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--json", type=Path, help="also write all figures as JSON")
    args = parser.parse_args(argv)
    runs, profiles = (1, 1) if args.quick else (args.runs, 3)
    rounds, duration = (1, 1) if args.quick else (args.rounds, args.duration)

    try:
        cold = cold_start.measure(runs, profiles)
    except lambda_shape.NoPython312Error as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    cold_start.print_report(cold)
    served = throughput.measure(rounds, duration)
    throughput.print_report(served)

    print()
    print("== Summary (ours / baseline for the cold start; listing / floor for throughput)")
    lines = [
        ("cold start, cache hit", cold["hit_ratio"], "<=", cold_start.HIT_TARGET),
        ("cold start, cache miss", cold["miss_ratio"], "<=", cold_start.MISS_TARGET),
        ("cached listing throughput", served["ratio"], ">=", throughput.TARGET),
    ]
    for label, ratio, sense, target in lines:
        met = ratio <= target if sense == "<=" else ratio >= target
        verdict = "met" if met else "NOT met"
        print(f"{label:28} {ratio:5.2f}   target {sense} {target:.2f}   {verdict}")
    print(
        f"(cold-start ratios of process CPU time, less sensitive to other load on the machine: "
        f"hit {cold['hit_cpu_ratio']:.2f}, miss {cold['miss_cpu_ratio']:.2f}; "
        f"throughput per second of the app's CPU: {served['cpu_ratio']:.2f})"
    )
    if args.json:
        args.json.write_text(json.dumps({"cold_start": cold, "throughput": served}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
