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


def aws_client(service: str, region: str, endpoint_url: str | None = None):
    key = (service, region, endpoint_url)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _create(service, region, endpoint_url)
                _clients[key] = client
    return client


def _create(service: str, region: str, endpoint_url: str | None):
    global _session
    import boto3
    from botocore.config import Config

    if _session is None:
        _session = boto3.session.Session()
    return _session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        # Short timeouts: a user is waiting, and Lambda bills the wait.
        config=Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def reset_clients() -> None:
    """Forget every client (tests start each case against a fresh mock)."""
    _clients.clear()
