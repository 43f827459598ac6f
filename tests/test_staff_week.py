"""The staff grids: one practitioner's week and the day sheet, one Query per practitioner
(of the practitioner-slotStart index), initials only."""

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
    assert [name for name, _ in calls if name == "Scan"] == []
    assert len(queries) == 1 and queries[0]["IndexName"] == "practitioner-slotStart-index"
    assert 'href="/staff/week?week=2030-06-10&amp;practitioner=default" rel="next"' in html


def test_week_grid_bad_input_and_sign_in(app, client, staff_client, now):
    for query in ("week=2030-13-01", "practitioner=nobody"):
        response = staff_client.get(f"/staff/week?{query}")
        assert response.status_code == 400
        assert 'class="error"' in response.get_data(as_text=True)
    assert client.get("/staff/week").status_code == 303  # staff only


def test_reception_day_has_a_column_per_practitioner(
    app, staff_client, now, add_slot, make_booking, store
):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["add-practitioner", "Dr Jo Smith"])
    assert added.exit_code == 0, added.output
    add_slot("2030-06-04", "09:00")  # the clinic's default pool
    waiting = add_slot("2030-06-04", "09:30")
    make_booking(waiting, name="Grace Hopper")
    populate = ["populate-slots", "--days", "1", "--start", "2030-06-04", "--times", "09:00"]
    created = runner.invoke(args=[*populate, "--practitioner", "dr-jo-smith"])
    assert created.exit_code == 0, created.output
    add_slot("2030-06-05", "09:00")  # another day: not on this sheet
    calls = []
    store.table.client.meta.events.register(
        "provide-client-params.dynamodb",
        lambda event_name, params, **_: calls.append((event_name.rsplit(".", 1)[-1], params)),
    )
    response = staff_client.get("/staff/day?day=2030-06-04")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Day sheet: Tuesday 4 June 2030" in html
    header = html[html.index("<thead>") : html.index("</thead>")]
    assert ">Dr Jo Smith</th>" in header and header.count('<th scope="col">') == 3
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    rows = body.split("<tr>")[1:]
    assert [row.split("</th>")[0].rsplit(">", 1)[1] for row in rows] == ["09:00", "09:30"]
    assert rows[0].count('class="cell-open">Open') == 2  # both practitioners at 09:00
    assert f'<a href="/staff/appointments/{waiting}">Waiting GH</a>' in rows[1]
    assert "Hopper" not in html  # initials only
    queries = [params for name, params in calls if name in ("Query", "Scan")]
    # One per practitioner column, and one for the day's waitlist (its partition of the
    # status index); never a Scan.
    assert [name for name, _ in calls if name == "Scan"] == []
    assert len(queries) == 3
    assert sum(q["IndexName"] == "practitioner-slotStart-index" for q in queries) == 2
    waiting_queries = [q for q in queries if q["IndexName"] == "status-slotStart-index"]
    assert (
        len(waiting_queries) == 1 and ":waitlisted" in waiting_queries[0]["KeyConditionExpression"]
    )
    assert 'href="/staff/day?day=2030-06-05" rel="next"' in html


def test_reception_day_bad_input_and_sign_in(app, client, staff_client, now):
    response = staff_client.get("/staff/day?day=2030-02-31")
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert client.get("/staff/day").status_code == 303  # signed out: to the sign-in page


def test_items_made_before_the_index_appear_once_indexed(
    app, staff_client, client, now, add_slot, make_booking, store
):
    legacy = add_slot("2030-06-04", "09:00")
    booked = add_slot("2030-06-04", "09:30")
    make_booking(booked, name="Grace Hopper")
    for item_id in (legacy, booked):  # as items written before the index existed
        store.table.client.update_item(
            TableName=store.table.name,
            Key=store.table.key(item_id),
            UpdateExpression="REMOVE practitionerKey",
        )
    html = staff_client.get("/staff/week?week=2030-06-05").get_data(as_text=True)
    assert 'class="cell-open">Open' not in html
    assert f"/staff/appointments/{booked}" not in html
    runner = app.test_cli_runner()
    first = runner.invoke(args=["index-practitioners"])
    assert first.exit_code == 0, first.output
    assert "Indexed 2 item(s)" in first.output
    html = staff_client.get("/staff/week?week=2030-06-05").get_data(as_text=True)
    assert 'class="cell-open">Open' in html
    assert f'<a href="/staff/appointments/{booked}">Waiting GH</a>' in html
    assert store.table.get(legacy)["practitionerKey"] == "default"
    again = runner.invoke(args=["index-practitioners"])
    assert again.exit_code == 0, again.output
    assert "Indexed 0 item(s)" in again.output


def test_the_listing_never_shows_the_practitioner_key(client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    assert store.table.get(slot)["practitionerKey"] == "default"
    response = client.get("/appointment-slot")
    assert response.status_code == 200
    assert slot in response.get_data(as_text=True)
    assert "practitionerKey" not in response.get_data(as_text=True)
