"""AWS clients: one per process, service, region and endpoint, created on first use.

botocore is imported here and only when a client is first needed, so a request that never
touches AWS (a cache hit) never pays for loading it. The clients are botocore's own (the
ones boto3 would hand out): the app uses no boto3 resource, and importing boto3 on top
costs ~60 modules. All clients come from one session, which parses each service model
once, with a data loader that looks up only the service asked for (see `_loader`).

Time budget. The web function times out after 10 s, and API Gateway then answers a bare
502. So DynamoDB, which a person is waiting on, gets short timeouts and one retry
(`DYNAMODB_CONFIG`), and each web request has a total budget for AWS calls
(`start_request_budget`): once it is spent, no further attempt is sent and the call fails like
a timeout, which the app answers with its 503 and `Retry-After`. The worst case of a
request against a DynamoDB that accepts connections and never answers is the budget
plus one attempt (`worst_case_seconds`), well inside the function's timeout.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from functools import cache
from typing import Any

DYNAMODB_CONNECT_TIMEOUT = 1.0
DYNAMODB_READ_TIMEOUT = 2.0
DYNAMODB_ATTEMPTS = 2  # the first try and one retry
REQUEST_BUDGET_SECONDS = 4.0
DYNAMODB_TIMEOUTS = {
    "connect_timeout": DYNAMODB_CONNECT_TIMEOUT,
    "read_timeout": DYNAMODB_READ_TIMEOUT,
    "attempts": DYNAMODB_ATTEMPTS,
}
# Other services (SES from the notifier, which no person waits on).
DEFAULT_TIMEOUTS = {"connect_timeout": 2, "read_timeout": 5, "attempts": 3}

_clients: dict[tuple, Any] = {}
_lock = threading.Lock()
_session = None
_deadline: ContextVar[float | None] = ContextVar("aws_deadline", default=None)


def worst_case_seconds() -> float:
    """The longest a web request can wait on DynamoDB: its budget, then one last attempt
    begun just before the budget ran out."""
    return REQUEST_BUDGET_SECONDS + DYNAMODB_CONNECT_TIMEOUT + DYNAMODB_READ_TIMEOUT


def start_request_budget(seconds: float | None = None) -> None:
    """From now, AWS calls in this context share `seconds` (default
    REQUEST_BUDGET_SECONDS); past it, no further attempt is sent."""
    budget = REQUEST_BUDGET_SECONDS if seconds is None else seconds
    _deadline.set(time.monotonic() + budget)


def end_request_budget() -> None:
    _deadline.set(None)


@cache
def _budget_spent_error() -> type[Exception]:
    from botocore.exceptions import BotoCoreError

    class BudgetSpent(BotoCoreError):
        """Not retryable (unlike a timeout); the store turns it into a 503 like one."""

        fmt = "The request's time budget for AWS calls is spent"

    return BudgetSpent


def _check_budget(**_) -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() >= deadline:
        raise _budget_spent_error()()


def aws_client(
    service: str,
    region: str,
    endpoint_url: str | None = None,
    *,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    total_attempts: int | None = None,
):
    """The process's client for this service, region, endpoint and timeouts.

    Unset timeouts take the service's defaults (DynamoDB's short ones, see above).
    `total_attempts` counts the first call too: 1 means botocore never retries by itself
    (for calls that must not be repeated blindly, such as sending an email)."""
    defaults = DYNAMODB_TIMEOUTS if service == "dynamodb" else DEFAULT_TIMEOUTS
    key = (
        service,
        region,
        endpoint_url,
        defaults["connect_timeout"] if connect_timeout is None else connect_timeout,
        defaults["read_timeout"] if read_timeout is None else read_timeout,
        defaults["attempts"] if total_attempts is None else total_attempts,
    )
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
    from botocore.config import Config

    if _session is None:
        _session = _new_session()
    client = _session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": total_attempts, "mode": "standard"},
        ),
    )
    # Checked before every attempt, retries included.
    client.meta.events.register("before-send", _check_budget)
    return client


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
