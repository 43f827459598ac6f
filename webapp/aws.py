"""AWS clients: one per process, service, region and endpoint, created on first use.

botocore is imported here and only when a client is first needed, so a request that never
touches AWS (a cache hit) never pays for loading it. The clients are botocore's own (the
ones boto3 would hand out): the app uses no boto3 resource, and importing boto3 on top
costs ~60 modules. All clients come from one session, which parses each service model
once, with a data loader that looks up only the service asked for (see `_loader`).
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
    from botocore.config import Config

    if _session is None:
        _session = _new_session()
    return _session.create_client(
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


def _new_session():
    import botocore.session

    session = botocore.session.Session()
    session.register_component("data_loader", _loader(session.get_config_variable("data_path")))
    return session


def _loader(data_path: str | None):
    """botocore's data loader (same search path as its own `create_loader`), except that
    checking a service name exists looks in that service's directories only. botocore's
    own check lists every directory of its data (some 440 services, once for the model and
    once for the endpoint rules): about half the CPU time of creating the first client."""
    import os

    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import Loader

    class KnownServices:
        """`name in known` for one name at a time; iterating lists them all (botocore
        only does that to name them in an UnknownServiceError)."""

        def __init__(self, loader: Loader, type_name: str):
            self._loader, self._type_name = loader, type_name

        def __contains__(self, name: object) -> bool:
            try:
                return isinstance(name, str) and bool(
                    self._loader.list_api_versions(name, self._type_name)
                )
            except DataNotFoundError:
                return False

        def __iter__(self):
            return iter(Loader.list_available_services(self._loader, self._type_name))

    class ServiceLoader(Loader):
        def list_available_services(self, type_name):
            return KnownServices(self, type_name)

    paths = [os.path.expanduser(os.path.expandvars(p)) for p in (data_path or "").split(os.pathsep)]
    return ServiceLoader(extra_search_paths=[p for p in paths if p])


def reset_clients() -> None:
    """Forget every client (tests start each case against a fresh mock)."""
    _clients.clear()
