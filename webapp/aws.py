"""AWS clients: one per process, service, region and endpoint, created on first use.

boto3 is imported here and only when a client is first needed, so a request that never
touches AWS (a cache hit) never pays for loading it. All clients come from one session,
which parses each service model once.

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
    if service == "dynamodb":
        timeouts = {
            "connect_timeout": DYNAMODB_CONNECT_TIMEOUT,
            "read_timeout": DYNAMODB_READ_TIMEOUT,
            "attempts": DYNAMODB_ATTEMPTS,
        }
    else:
        timeouts = DEFAULT_TIMEOUTS
    client = _session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            connect_timeout=timeouts["connect_timeout"],
            read_timeout=timeouts["read_timeout"],
            retries={"total_max_attempts": timeouts["attempts"], "mode": "standard"},
        ),
    )
    # Checked before every attempt, retries included.
    client.meta.events.register("before-send", _check_budget)
    return client


def reset_clients() -> None:
    """Forget every client (tests start each case against a fresh mock)."""
    _clients.clear()
