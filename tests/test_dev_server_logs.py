"""The real development server (`flask run`) never writes a manage link's token to its
log, whatever the status: Werkzeug colours the access lines of non-200 answers, and
those lines must be dropped like the others. Its lines are plain text, without colours."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from localdev.services import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "eyJhIjoiMjAzMDA2MDQtMDkwMCJ9.NotARealSignatureButLooksLikeOne123"


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"flask run exited: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("flask run did not start")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (local)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_flask_run_logs_no_manage_token_for_any_status(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "local",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "FLASK_DEBUG": "0",
    }
    for name in ("REDIS_HOST", "DYNAMODB_ENDPOINT_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process)
        base = f"http://127.0.0.1:{port}"
        # An invalid token is refused before any data is read: 404, a coloured line.
        assert status_of(f"{base}/manage/{TOKEN}") == 404
        assert status_of(f"{base}/manage/{TOKEN}/cancel") == 404
        assert status_of(f"{base}/livez") == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "/manage/<token>" in stderr  # our own access line, by its rule
    assert TOKEN not in stderr
    assert "NotARealSignature" not in stderr
    # Readable plain lines: the start-up banner's colour codes are gone too.
    assert "development server" in stderr and "\x1b[" not in stderr
