"""The waitlist under simultaneous requests, against dynalite (atomic conditional writes):
the cap per address and the per-client rate limit (counted in Redis, or in the table when
there is no Redis) hold for a burst of joins, and of everyone offered a freed time exactly
one books it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.helpers import burst, csrf_token
from tests.test_waitlist import offer_link, outbox
from webapp import clock
from webapp.extensions import services
from webapp.store.appointments import PatientDetails


def body(email: str, first: date, last: date) -> dict:
    return {
        "patientName": "Ada Lovelace",
        "patientEmail": email,
        "fromDate": first.isoformat(),
        "toDate": last.isoformat(),
    }


def test_a_burst_of_joins_gets_exactly_the_cap(dynalite_app):
    today = clock.today(services(dynalite_app).settings.tz)
    first, last = today + timedelta(days=1), today + timedelta(days=5)
    variants = ["ada@example.com", "ADA@example.com", "ada+1@example.com", "ada+2@example.com"]
    actions = [
        (lambda v=v: dynalite_app.test_client().post("/join-waitlist", json=body(v, first, last)))
        for v in variants * 2
    ]
    codes = sorted(response.status_code for response in burst(*actions))
    limit = services(dynalite_app).settings.waitlist_max_entries_per_email
    assert codes == [201] * limit + [409] * (len(actions) - limit)


@pytest.mark.parametrize("counted_in", ["redis", "table"])
def test_a_burst_of_joins_from_one_client_gets_exactly_the_rate_limit(
    make_dynalite_app, counted_in
):
    app = make_dynalite_app(
        BOOKING_RATE_LIMIT="4", **({"REDIS_HOST": None} if counted_in == "table" else {})
    )
    today = clock.today(services(app).settings.tz)
    first, last = today + timedelta(days=1), today + timedelta(days=5)
    bodies = [body(f"p{n}@example.com", first, last) for n in range(12)]
    actions = [(lambda b=b: app.test_client().post("/join-waitlist", json=b)) for b in bodies]
    codes = sorted(response.status_code for response in burst(*actions))
    assert codes == [201] * 4 + [429] * 8


def test_of_everyone_offered_a_freed_time_exactly_one_books_it(dynalite_app, tmp_path):
    service = services(dynalite_app)
    today = clock.today(service.settings.tz)
    day = today + timedelta(days=3)
    people = [f"p{n}@example.com" for n in range(4)]
    for person in people:
        response = dynalite_app.test_client().post(
            "/join-waitlist", json=body(person, today + timedelta(days=1), day)
        )
        assert response.status_code == 201
    slot = f"{day.strftime('%Y%m%d')}-1000"
    service.store.appointments.put_slot(slot, day.isoformat(), "10:00", clock.iso_timestamp())
    service.bookings.book(slot, PatientDetails("Someone", "someone@example.com"))
    service.bookings.cancel_by_staff(slot, "staff@clinic.example")
    links = [offer_link(message) for message in outbox(tmp_path, "waitlist-offer")]
    assert len(links) == len(people)
    clients = [dynalite_app.test_client() for _ in links]
    tokens = [csrf_token(c.get(link).text) for c, link in zip(clients, links, strict=True)]
    responses = burst(
        *[
            (lambda c=c, link=link, t=t: c.post(link, data={"csrf_token": t}))
            for c, link, t in zip(clients, links, tokens, strict=True)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [303] + [409] * (len(people) - 1)
