"""Concurrency: a slot can never end up with two patients."""

from __future__ import annotations

import threading
from collections import Counter

from tests.conftest import booking_json

ATTEMPTS = 50


def test_fifty_simultaneous_bookings_have_exactly_one_winner(dynalite_app, now):
    service = dynalite_app.extensions["slots"]
    service.store.put_slot("race", "2030-06-04", "09:00", "t")
    barrier = threading.Barrier(ATTEMPTS)
    results: list[tuple[int, int]] = []

    def attempt(number: int) -> None:
        client = dynalite_app.test_client()
        body = booking_json(
            "race", patientName=f"Patient {number}", patientEmail=f"p{number}@example.com"
        )
        barrier.wait()
        response = client.post("/book-appointment", json=body)
        results.append((number, response.status_code))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(status for _, status in results) == {200: 1, 409: ATTEMPTS - 1}
    winner = next(number for number, status in results if status == 200)
    item = service.store.get("race")
    assert item["status"] == "PENDING"
    assert item["patientName"] == f"Patient {winner}"
    assert item["patientEmail"] == f"p{winner}@example.com"
