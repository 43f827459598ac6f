"""Rate-limit counters without Redis (`cache=false`): shared in the table, atomic under a
burst of simultaneous requests (dynalite), and still counted in-process if it fails."""

from __future__ import annotations

import pytest

from tests.helpers import booking_json, burst
from webapp.aws import reset_clients
from webapp.extensions import services
from webapp.limits import Counters
from webapp.store import Store


@pytest.fixture
def no_redis_app(make_dynalite_app):
    """The app on dynalite with no REDIS_HOST: what `cache=false` deploys."""
    return make_dynalite_app(REDIS_HOST=None, BOOKING_RATE_LIMIT="5")


def all_at_once(count: int, action) -> list:
    """`action(n)` for n in range(count), all at the same moment (tests.helpers.burst)."""
    return burst(*[(lambda n=n: action(n)) for n in range(count)])


def test_simultaneous_hits_each_get_their_own_count(no_redis_app):
    counters = services(no_redis_app).counters
    results = all_at_once(16, lambda _: counters.hit("burst", 600))
    assert sorted(count for count, _ in results) == list(range(1, 17))
    assert all(0 < ttl <= 600 for _, ttl in results)
    assert counters.peek("burst")[0] == 16

    store = services(no_redis_app).store
    item = store.table.get(f"ratelimit#{counters._prefix}:burst")
    assert "status" not in item and item["hits"] == 16 and "expiresAt" in item

    counters.reset("burst")
    assert counters.peek("burst") == (0, 0)


def test_a_burst_of_bookings_is_limited_across_clients(no_redis_app):
    def attempt(n: int) -> int:
        body = booking_json("20300604-0900", patientEmail=f"p{n}@example.com")
        return no_redis_app.test_client().post("/book-appointment", json=body).status_code

    statuses = all_at_once(12, attempt)
    # The slot does not exist: the 5 attempts within the limit get 404, the rest 429.
    assert sorted(statuses) == [404] * 5 + [429] * 7


def test_an_ended_window_starts_again(no_redis_app):
    counters = services(no_redis_app).counters
    store = services(no_redis_app).store
    counters.hit("ended", 600)
    counters.hit("ended", 600)
    # The window ended (TTL deletion lags): the item is still there, expired.
    store.table.client.update_item(
        TableName=store.table.name,
        Key=store.table.key(f"ratelimit#{counters._prefix}:ended"),
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )
    assert counters.peek("ended") == (0, 0)
    results = all_at_once(6, lambda _: counters.hit("ended", 600))
    assert sorted(count for count, _ in results) == [1, 2, 3, 4, 5, 6]


def test_a_failing_table_falls_back_to_in_process_counting(make_settings):
    from localdev.services import free_port

    reset_clients()
    settings = make_settings(
        REDIS_HOST=None, DYNAMODB_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"
    )
    counters = Counters(settings, store=Store(settings))
    assert counters.hit("down", 600)[0] == 1  # nothing listens there: counted in-process
    assert counters.hit("down", 600)[0] == 2
    assert counters.peek("down")[0] == 2
    reset_clients()
