"""The booking form sent twice without JavaScript (a double click, or back and submit
again): the patient who just booked the slot is shown their booking, nobody else is."""

from __future__ import annotations

from tests.helpers import burst, csrf_token

FIELDS = {"patientName": "Ada Lovelace", "patientEmail": "ada@example.com", "notes": ""}


def filled_form(client, slot, **fields):
    page = client.get(f"/book/{slot}")
    return {"csrf_token": csrf_token(page.text), **FIELDS, **fields}


def test_submitting_twice_shows_the_booking_both_times(client, add_slot, now):
    slot = add_slot("2030-06-04", "09:00")
    data = filled_form(client, slot)
    first = client.post(f"/book/{slot}", data=data)
    again = client.post(f"/book/{slot}", data=data)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert "/manage/" in again.headers["Location"]


def test_simultaneous_double_click_leads_both_to_the_one_booking(dynalite_app, now):
    from webapp.extensions import services

    store = services(dynalite_app).store
    for number in range(4):  # a fresh slot and browser each round
        slot = f"20300604-{900 + number:04d}"
        store.appointments.put_slot(slot, "2030-06-04", f"09:{number:02d}", "t")
        client = dynalite_app.test_client()
        data = filled_form(client, slot, patientEmail=f"ADA{number}@example.com")

        def submit(client=client, slot=slot, data=data):
            return client.post(f"/book/{slot}", data=data)

        first, second = burst(submit, submit)
        assert first.status_code == second.status_code == 303
        assert first.headers["Location"] == second.headers["Location"]
        assert "/manage/" in first.headers["Location"]


def test_another_browser_or_another_address_still_sees_it_taken(app, client, add_slot, now):
    slot = add_slot("2030-06-04", "09:00")
    open_slot = add_slot("2030-06-04", "10:00")  # a page whose form gives a CSRF token
    assert client.post(f"/book/{slot}", data=filled_form(client, slot)).status_code == 303

    other_browser = app.test_client()
    taken = other_browser.post(f"/book/{slot}", data=filled_form(other_browser, open_slot))
    assert taken.status_code == 409 and "/manage/" not in taken.text

    other_address = client.post(
        f"/book/{slot}", data=filled_form(client, open_slot, patientEmail="bo@example.com")
    )
    assert other_address.status_code == 409
