"""Deployment package figures: zip size and the cold-start import of the packaged handler.

    python bench/package_size.py [--runs 9] [--python /path/to/python3.12]

Packages offline first if .serverless/ is missing or stale (scripts/package_offline.py).
The import figure is the wall time of `import wsgi_handler` (which builds the Flask app,
as Lambda's init phase does) in a fresh interpreter whose only path besides the standard
library is the unpacked zip, with no byte code written (Lambda's /var/task is read-only):
once as shipped (with the zip's Python 3.12 byte code) and once with that byte code
removed (every module compiled from source, as before the zip shipped it). It runs under
Python 3.12, the Lambda runtime's version (PYTHON312, pyenv or python3.12 on PATH) and
stops with an error when there is none. Lambda's own numbers also include downloading
the code and starting the runtime, and depend on memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import package_offline  # noqa: E402
from lambda_bytecode import NoPython312Error, find_python312  # noqa: E402

FAKE_ENV = {
    "APP_ENV": "production",
    "TABLE_NAME": "clinic-appointments-ci",
    "AWS_REGION": "us-east-1",
    "SECRET_KEY": "bench-secret-" + "x" * 40,
    "STATIC_URL": "https://d111111abcdef8.cloudfront.net/static",
    "CORS_ALLOWED_ORIGINS": "https://d111111abcdef8.cloudfront.net",
    "REDIS_HOST": "cache.invalid",  # never contacted at import
    "REDIS_TLS": "true",
    "CACHE_KEY_PREFIX": "{clinic}",
    "STRIP_STAGE_PATH": "true",
    "EMAIL_BACKEND": "ses",
    "MAIL_FROM": "appointments@example.com",
    "PUBLIC_BASE_URL": "https://abc123.execute-api.us-east-1.amazonaws.com",
}

PROBE = (
    "import sys, time; t = time.perf_counter(); sys.path.insert(0, sys.argv[1]); "
    "import wsgi_handler; assert not isinstance(wsgi_handler.wsgi_app, Exception); "
    "print(time.perf_counter() - t)"
)


def lambda_like_python(explicit: str | None) -> str:
    """--python as given, else a Python 3.12 (raises NoPython312Error: no other version)."""
    return explicit or find_python312()


def import_seconds(python: str, task: Path, runs: int, write_bytecode: bool) -> list[float]:
    flags = ["-I", "-S"] + ([] if write_bytecode else ["-B"])
    env = {"PATH": "/usr/bin:/bin", **FAKE_ENV}
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [python, *flags, "-c", PROBE, str(task)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(out.stdout.strip()))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--python", help="interpreter to time with (default: Python 3.12)")
    args = parser.parse_args()

    try:
        python = lambda_like_python(args.python)
    except NoPython312Error as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    package_offline.package()
    zip_path = package_offline.ZIP
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
        unzipped = sum(i.file_size for i in infos)
        bytecode = [i for i in infos if i.filename.endswith(".pyc")]
        with tempfile.TemporaryDirectory() as tmp:
            task = Path(tmp) / "task"
            archive.extractall(task)
            shipped = import_seconds(python, task, args.runs, write_bytecode=False)
            # For comparison: the same tree without byte code (compiled on every start).
            for folder in list(task.rglob("__pycache__")):
                shutil.rmtree(folder)
            source_only = import_seconds(python, task, args.runs, write_bytecode=False)

    figures = {
        "zip_bytes": zip_path.stat().st_size,
        "zip_mib": round(zip_path.stat().st_size / 2**20, 2),
        "unzipped_mib": round(unzipped / 2**20, 2),
        "files": len(infos),
        "pyc_files": len(bytecode),
        "pyc_unzipped_mib": round(sum(i.file_size for i in bytecode) / 2**20, 2),
        "python": version,
        "runs": args.runs,
        "import_ms_median": round(statistics.median(shipped) * 1000, 1),
        "import_ms_min": round(min(shipped) * 1000, 1),
        "import_ms_median_without_bytecode": round(statistics.median(source_only) * 1000, 1),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
