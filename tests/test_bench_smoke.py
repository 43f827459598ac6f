"""Each benchmark runs to completion in --quick mode and prints its figures.

No timing is asserted: these only keep the scripts working as the code changes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize(
    "script, expected",
    [
        ("listing_reads.py", ["Query scanned", "Scan scanned", "all future", "one week"]),
        ("listing_latency.py", ["median ms", "p99 ms", "hit", "miss", "bypass"]),
        ("cold_start.py", ["cache hit", "cache miss", "botocore loaded", "by root package"]),
    ],
)
def test_bench_script_runs_quick(script, expected, redis_server):
    process = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    for text in expected:
        assert text in process.stdout, f"{text!r} missing from:\n{process.stdout}"
