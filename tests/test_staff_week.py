"""The staff week grid: one practitioner's week, one Query per status, initials only."""

from __future__ import annotations

from webapp.extensions import services


def test_week_grid_shows_open_waiting_accepted_and_closed(
    app, staff_client, now, add_slot, make_booking, store
):
    add_slot("2030-06-04", "09:00")
    waiting = add_slot("2030-06-04", "09:30")
    accepted = add_slot("2030-06-05", "10:00")
    closed = add_slot("2030-06-06", "11:00")
    make_booking(waiting, name="Grace Brewster Hopper")
    make_booking(accepted, name="Ada Lovelace")
    services(app).bookings.accept(accepted, "staff@example.com")
    services(app).availability.remove(closed)
    calls = []
    store.table.client.meta.events.register(
        "provide-client-params.dynamodb",
        lambda event_name, params, **_: calls.append((event_name.rsplit(".", 1)[-1], params)),
    )
    response = staff_client.get("/staff/week?week=2030-06-05")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Week of Monday 3 June 2030" in html
    assert f'<a href="/staff/appointments/{waiting}">Waiting GBH</a>' in html
    assert f'<a href="/staff/appointments/{accepted}">AL</a>' in html
    assert 'class="cell-open">Open' in html and 'class="cell-closed">Closed' in html
    assert 'aria-current="date">Mon 3 <span class="today-mark">(today)' in html
    assert "Lovelace" not in html and '@example.com"' not in html  # initials only
    queries = [params for name, params in calls if name in ("Query", "Scan")]
    assert len(queries) == 4 and all(q["IndexName"] == "status-slotStart-index" for q in queries)
    assert 'href="/staff/week?week=2030-06-10&amp;practitioner=default" rel="next"' in html


def test_week_grid_bad_input_and_sign_in(app, client, staff_client, now):
    for query in ("week=2030-13-01", "practitioner=nobody"):
        response = staff_client.get(f"/staff/week?{query}")
        assert response.status_code == 400
        assert 'class="error"' in response.get_data(as_text=True)
    assert client.get("/staff/week").status_code == 303  # staff only
