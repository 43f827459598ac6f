"""Build the deployment package offline: `serverless package --stage ci`, no AWS account.

    python scripts/package_offline.py            # package if missing or out of date
    python scripts/package_offline.py --force    # package again

The output lands in .serverless/ (CloudFormation template + zip). Nothing here talks to
AWS: the credentials are dummies, and packaging only renders the template and builds the
zip (pip downloads Lambda-platform wheels from the package index), then
scripts/serverless-bytecode.js adds byte code compiled by Python 3.12 to the zip (the
build fails without a Python 3.12: see scripts/lambda_bytecode.py).
Used by tests/infra and bench/package_size.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "ci"
SERVICE = "clinic-appointments"
OUT_DIR = ROOT / ".serverless"
TEMPLATE = OUT_DIR / "cloudformation-template-update-stack.json"
ZIP = OUT_DIR / f"{SERVICE}.zip"
SERVERLESS_BIN = ROOT / "node_modules" / ".bin" / "serverless"

# A change to any of these makes the package stale.
INPUT_FILES = (
    "serverless.yml",
    "requirements.txt",
    "requirements-lambda.txt",
    "package.json",
    "package-lock.json",
    "scripts/lambda_bytecode.py",
    "scripts/serverless-bytecode.js",
    "scripts/serverless-catalogs.js",
)
INPUT_DIRS = ("webapp", "templates", "static")

# Environment variables that could point the CLI at a real account, or change its output.
_SCRUBBED_PREFIXES = ("AWS_", "SLS_", "SERVERLESS_")


def offline_env(python_bin: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="offline-packaging-dummy-secret",  # noqa: S106
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHON_BIN=python_bin or sys.executable,
    )
    return env


def _newest_input_mtime() -> float:
    newest = 0.0
    for name in INPUT_FILES:
        path = ROOT / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    for name in INPUT_DIRS:
        for path in (ROOT / name).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


def packaged_stage() -> str | None:
    """The stage the template in .serverless/ was built for (None if there is none)."""
    try:
        template = json.loads(TEMPLATE.read_text())
    except (OSError, ValueError):
        return None
    name = template.get("Resources", {}).get("WebLambdaFunction", {}).get("Properties", {})
    function_name = name.get("FunctionName", "")
    prefix, suffix = f"{SERVICE}-", "-web"
    if function_name.startswith(prefix) and function_name.endswith(suffix):
        return function_name[len(prefix) : -len(suffix)]
    return None


def is_stale() -> bool:
    if not (TEMPLATE.exists() and ZIP.exists()) or packaged_stage() != STAGE:
        return True
    built = min(TEMPLATE.stat().st_mtime, ZIP.stat().st_mtime)
    return built < _newest_input_mtime()


def ensure_node_modules() -> None:
    if SERVERLESS_BIN.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; Node.js 20+ and npm are needed to package")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, stdout=sys.stderr)


def package(force: bool = False, python_bin: str | None = None) -> bool:
    """Package unless up to date; True if it ran. Raises CalledProcessError on failure."""
    if not force and not is_stale():
        return False
    ensure_node_modules()
    result = subprocess.run(
        [str(SERVERLESS_BIN), "package", "--stage", STAGE],
        cwd=ROOT,
        env=offline_env(python_bin),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        # A failed build can leave a zip behind (e.g. without its byte code when no Python
        # 3.12 was found): never let it pass for an up-to-date package.
        ZIP.unlink(missing_ok=True)
        raise subprocess.CalledProcessError(
            result.returncode, result.args, output=result.stdout, stderr=result.stderr
        )
    if not (TEMPLATE.exists() and ZIP.exists()):
        raise RuntimeError(f"serverless package left no template/zip in {OUT_DIR}")
    return True


def package_into(out_dir: Path, *extra_args: str, python_bin: str | None = None) -> Path:
    """Package into out_dir with extra CLI arguments (e.g. a --param); returns the template.
    Always packages; leaves .serverless/'s own package alone."""
    ensure_node_modules()
    result = subprocess.run(
        [str(SERVERLESS_BIN), "package", "--stage", STAGE, "--package", str(out_dir), *extra_args],
        cwd=ROOT,
        env=offline_env(python_bin),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, result.args, output=result.stdout, stderr=result.stderr
        )
    return out_dir / TEMPLATE.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="package even if up to date")
    args = parser.parse_args()
    try:
        ran = package(force=args.force)
    except subprocess.CalledProcessError as error:
        sys.stderr.write(f"{error.stdout}\n{error.stderr}\n")
        return error.returncode or 1
    print(("packaged " if ran else "up to date: ") + str(OUT_DIR.relative_to(ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
