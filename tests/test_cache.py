"""Slot cache behaviour against a real Redis."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from tests.helpers import REDIS_HOST, REDIS_PORT, booking_json
from tests.tcp_proxy import TcpProxy
from webapp.cache import BYPASS, HIT, MISS, SlotCache
from webapp.extensions import services


@pytest.fixture
def proxy():
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT)
    yield proxy
    proxy.close()


def _ids(response):
    return [slot["appointmentId"] for slot in response.json]


def test_miss_then_hit(client, now, add_slot):
    add_slot("2030-06-04", "09:00")
    first = client.get("/appointment-slot")
    second = client.get("/appointment-slot")
    assert first.headers["X-Cache"] == MISS
    assert second.headers["X-Cache"] == HIT
    assert first.json == second.json


def test_windows_are_cached_separately(client, now, add_slot):
    add_slot("2030-06-04", "09:00")
    add_slot("2030-06-05", "09:00")
    assert client.get("/appointment-slot").headers["X-Cache"] == MISS
    narrow = client.get("/appointment-slot?from=2030-06-05")
    assert narrow.headers["X-Cache"] == MISS
    assert _ids(narrow) == ["20300605-0900"]
    assert client.get("/appointment-slot?from=2030-06-05").headers["X-Cache"] == HIT


def test_booking_invalidates_so_the_slot_disappears_at_once(client, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    other = add_slot("2030-06-04", "10:00")
    assert client.get("/appointment-slot").headers["X-Cache"] == MISS
    assert client.get("/appointment-slot").headers["X-Cache"] == HIT
    assert client.post("/book-appointment", json=booking_json(slot)).status_code == 200
    after = client.get("/appointment-slot")
    assert after.headers["X-Cache"] == MISS
    assert _ids(after) == [other]


def test_entries_expire_after_the_ttl(app, client, now, add_slot, redis_server):
    add_slot("2030-06-04", "09:00")
    client.get("/appointment-slot")
    cache = services(app).cache
    ttl = redis_server.ttl(cache.slots_key)
    assert 0 < ttl <= services(app).settings.cache_ttl_seconds


def test_cache_never_holds_patient_data(app, client, now, add_slot, redis_server):
    slot = add_slot("2030-06-04", "09:00")
    add_slot("2030-06-04", "10:00")
    client.post("/book-appointment", json=booking_json(slot, notes="private notes"))
    client.get("/appointment-slot")
    client.get("/appointment-slot?from=2030-06-04&to=2030-06-04")
    prefix = services(app).settings.cache_key_prefix
    dump = ""
    for key in redis_server.scan_iter(f"{prefix}:*"):
        kind = redis_server.type(key)
        if kind == b"hash":
            dump += json.dumps(
                {k.decode(): v.decode() for k, v in redis_server.hgetall(key).items()}
            )
        elif kind == b"string":
            dump += redis_server.get(key).decode()
    assert "AVAILABLE" in dump  # the cache really was filled
    for secret in ("Ada", "ada@example.com", "private notes", "PENDING"):
        assert secret not in dump


def test_redis_refusing_connections_means_bypass(make_app, now):
    app = make_app(REDIS_PORT="1")  # nothing listens on port 1
    service = services(app)
    service.store.appointments.put_slot("s1", "2030-06-04", "09:00", "t")
    client = app.test_client()
    listing = client.get("/appointment-slot")
    assert listing.status_code == 200
    assert listing.headers["X-Cache"] == BYPASS
    assert _ids(listing) == ["s1"]
    booked = client.post("/book-appointment", json=booking_json("s1"))
    assert booked.status_code == 200
    assert _ids(client.get("/appointment-slot")) == []


def test_no_redis_configured_means_bypass(make_app, now):
    app = make_app(REDIS_HOST=None)
    assert app.test_client().get("/appointment-slot").headers["X-Cache"] == BYPASS


def test_hung_redis_costs_one_timeout_not_one_per_request(make_app, now):
    hung = TcpProxy(REDIS_HOST, REDIS_PORT, silent=True)
    try:
        app = make_app(
            REDIS_PORT=str(hung.port),
            REDIS_TIMEOUT_SECONDS="0.2",
            REDIS_RETRY_AFTER_SECONDS="60",
        )
        client = app.test_client()
        outcomes = [client.get("/appointment-slot").headers["X-Cache"] for _ in range(5)]
        assert outcomes == [BYPASS] * 5
        assert hung.accepted == 1  # later requests never tried the hung server again
    finally:
        hung.close()


def test_cache_resumes_and_owed_invalidation_is_delivered(make_app, now, proxy):
    app = make_app(REDIS_PORT=str(proxy.port), REDIS_RETRY_AFTER_SECONDS="0.2")
    service = services(app)
    service.store.appointments.put_slot("s1", "2030-06-04", "09:00", "t")
    service.store.appointments.put_slot("s2", "2030-06-04", "10:00", "t")
    client = app.test_client()
    assert client.get("/appointment-slot").headers["X-Cache"] == MISS
    assert client.get("/appointment-slot").headers["X-Cache"] == HIT

    proxy.down()
    assert client.post("/book-appointment", json=booking_json("s1")).status_code == 200
    during = client.get("/appointment-slot")
    assert during.headers["X-Cache"] == BYPASS and _ids(during) == ["s2"]

    proxy.up()
    time.sleep(0.3)  # let the back-off window pass
    after = client.get("/appointment-slot")
    assert after.headers["X-Cache"] == MISS  # the stale list was dropped first
    assert _ids(after) == ["s2"]
    assert client.get("/appointment-slot").headers["X-Cache"] == HIT


def test_fill_is_discarded_when_invalidated_meanwhile(make_settings, redis_server):
    cache = SlotCache(make_settings())
    outcome, slots, epoch = cache.get("w")
    assert (outcome, slots) == (MISS, None)
    cache.invalidate()  # a booking lands while the reader queries DynamoDB
    cache.fill("w", '[{"appointmentId":"stale"}]', 0, epoch)
    assert cache.get("w")[0] == MISS
    outcome, _, fresh_epoch = cache.get("w")
    cache.fill("w", '[{"appointmentId":"fresh"}]', 0, fresh_epoch)
    assert cache.get("w")[:2] == (HIT, '[{"appointmentId":"fresh"}]')


def test_a_cached_list_is_not_served_once_its_first_slot_starts(client, now, add_slot, monkeypatch):
    add_slot("2030-06-03", "11:00")  # the frozen clock says 10:00 in Melbourne
    add_slot("2030-06-03", "12:00")
    assert client.get("/appointment-slot").headers["X-Cache"] == MISS
    assert client.get("/appointment-slot").headers["X-Cache"] == HIT
    # 11:00 arrives within the TTL: the cached body would offer a slot that has begun.
    from webapp import clock

    monkeypatch.setattr(clock, "utcnow", lambda: now + timedelta(hours=1))
    listing = client.get("/appointment-slot")
    assert listing.headers["X-Cache"] == MISS
    assert _ids(listing) == ["20300603-1200"]


def test_a_hit_serves_the_stored_body_as_it_is(client, now, add_slot):
    add_slot("2030-06-04", "09:00")
    miss = client.get("/appointment-slot")
    hit = client.get("/appointment-slot")
    assert hit.headers["X-Cache"] == HIT
    assert hit.data == miss.data and hit.mimetype == "application/json"
