"""AWS clients: one per process, service, region and endpoint, created on first use.

boto3 is imported here and only when a client is first needed, so a request that never
touches AWS (a cache hit) never pays for loading it. All clients come from one session,
which parses each service model once.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[tuple, Any] = {}
_lock = threading.Lock()
_session = None


def aws_client(
    service: str,
    region: str,
    endpoint_url: str | None = None,
    *,
    connect_timeout: float = 2,
    read_timeout: float = 5,
    total_attempts: int = 4,
):
    """Short timeouts by default: a user is waiting, and Lambda bills the wait.

    `total_attempts` counts the first call too: 1 means botocore never retries by itself
    (for calls that must not be repeated blindly, such as sending an email)."""
    key = (service, region, endpoint_url, connect_timeout, read_timeout, total_attempts)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _create(*key)
                _clients[key] = client
    return client


def _create(
    service: str,
    region: str,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    total_attempts: int,
):
    global _session
    import boto3
    from botocore.config import Config

    if _session is None:
        _session = boto3.session.Session()
    return _session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": total_attempts, "mode": "standard"},
        ),
    )


def reset_clients() -> None:
    """Forget every client (tests start each case against a fresh mock)."""
    _clients.clear()
