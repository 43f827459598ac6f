"""Patient pages through the Flask test client."""

from __future__ import annotations

import re

from tests.helpers import csrf_token


def _book_form(client, slot, **fields):
    page = client.get(f"/book/{slot}")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "patientName": "Ada Lovelace",
        "patientEmail": "ada@example.com",
        "notes": "",
    }
    data.update(fields)
    return client.post(f"/book/{slot}", data=data)


def test_index_preselects_the_first_free_day_in_the_calendar(client, now, add_slot):
    add_slot("2030-06-04", "09:00")
    add_slot("2030-06-04", "09:30")
    add_slot("2030-06-05", "11:00")
    html = client.get("/").get_data(as_text=True)
    # The calendar: each free day a link named by its date and count; others marked.
    assert 'aria-current="date"><span class="visually-hidden">Tuesday </span>4<' in html
    assert '>1<span class="visually-hidden"> free time</span>' in html
    assert "Thursday 6 June: no free times" in html
    assert "Monday 3 June, today: no free times" in html
    assert '<th scope="col"><abbr title="Monday">Mon</abbr></th>' in html
    # The first free day's times, and only that day's.
    assert "Times on Tuesday 4 June" in html and "Australia/Melbourne" in html
    assert 'href="/book/20300604-0900"' in html and 'href="/book/20300604-0930"' in html
    assert "/book/20300605-1100" not in html


def test_index_day_and_week_links(client, now, add_slot):
    assert "No appointments available" in client.get("/").get_data(as_text=True)
    add_slot("2030-06-04", "09:00")
    add_slot("2030-06-06", "09:00")
    add_slot("2030-07-10", "10:00")
    html = client.get("/?day=2030-06-06").get_data(as_text=True)
    assert "20300606-0900" in html and "20300604-0900" not in html
    assert 'href="/?day=2030-06-04&amp;week=2030-06-03"' in html
    assert 'href="/?week=2030-07-01" rel="next"' in html and 'rel="prev"' not in html
    later = client.get("/?week=2030-07-01").get_data(as_text=True)
    assert "20300710-1000" in later and 'href="/?week=2030-06-03" rel="prev"' in later
    empty = client.get("/?day=2030-06-10").get_data(as_text=True)
    assert "No appointments available on this day" in empty
    # The old list's filter still opens its first day.
    assert "20300606-0900" in client.get("/?from=2030-06-06&to=2030-06-07").get_data(as_text=True)


def test_index_shows_inline_error_for_bad_day(client, now, add_slot):
    add_slot("2030-06-04", "09:00")
    for query in ("day=2030-02-31", "week=nope", "day=9999-12-31", "week=0001-01-01"):
        response = client.get(f"/?{query}")
        assert response.status_code == 400, query
        html = response.get_data(as_text=True)
        assert 'aria-invalid="true"' in html and 'id="filter-day-error"' in html
        assert "20300604-0900" in html  # the first free day is still offered


def test_booking_post_redirect_get_to_confirmation(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    response = _book_form(client, slot, notes="Knee pain")
    assert response.status_code == 303
    confirmation = client.get(response.headers["Location"])
    html = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200
    for expected in ("Tuesday 4 June 2030", "09:00", slot, "PENDING"):
        assert expected in html
    item = store.appointments.get(slot)
    assert item["status"] == "PENDING" and item["notes"] == "Knee pain"


def test_invalid_form_shows_inline_errors_and_keeps_input(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    response = _book_form(client, slot, patientName="Ada", patientEmail="ada@", notes="x" * 1001)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and 'id="error-summary"' in html
    assert "valid email address" in html and "under 1000 characters" in html
    assert 'value="Ada"' in html and 'value="ada@"' in html
    assert 'aria-describedby="patientEmail-error"' in html
    assert store.appointments.get(slot)["status"] == "AVAILABLE"


def test_form_input_is_escaped(client, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    html = _book_form(client, slot, patientEmail='"><script>alert(1)</script>').get_data(
        as_text=True
    )
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html or "&#34;&gt;&lt;script" in html


def test_missing_csrf_token_is_rejected(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    response = client.post(
        f"/book/{slot}", data={"patientName": "Ada", "patientEmail": "ada@example.com"}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert store.appointments.get(slot)["status"] == "AVAILABLE"


def test_forged_csrf_token_is_rejected(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    client.get(f"/book/{slot}")
    response = client.post(
        f"/book/{slot}",
        data={"csrf_token": "forged", "patientName": "Ada", "patientEmail": "ada@example.com"},
    )
    assert response.status_code == 400
    assert store.appointments.get(slot)["status"] == "AVAILABLE"


def test_slot_taken_meanwhile_is_explained_kindly(app, client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    other = add_slot("2030-06-04", "10:00")
    page = client.get(f"/book/{slot}")
    token = csrf_token(page.get_data(as_text=True))
    # Someone else books through the API between page load and submit.
    rival = {"appointmentId": slot, "patientName": "Grace", "patientEmail": "g@example.com"}
    assert app.test_client().post("/book-appointment", json=rival).status_code == 200
    response = client.post(
        f"/book/{slot}",
        data={"csrf_token": token, "patientName": "Ada", "patientEmail": "ada@example.com"},
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "no longer available" in html and "just before you" in html
    assert f"/book/{other}" in html  # offers the list again
    assert store.appointments.get(slot)["patientName"] == "Grace"


def test_booking_page_for_past_or_taken_or_unknown_slot(client, now, add_slot):
    past = add_slot("2030-06-03", "09:00")
    response = client.get(f"/book/{past}")
    assert response.status_code == 409 and "already started" in response.get_data(as_text=True)
    assert client.get("/book/unknown").status_code == 404
    assert client.get("/book/" + "x" * 200).status_code == 404


def test_error_pages_are_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert "Back to available times" in response.get_data(as_text=True)


def test_assets_have_content_hash_and_local_route(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/styles\.css\?v=[0-9a-f]{12})"', html)
    js = re.search(r'src="(/static/app\.js\?v=[0-9a-f]{12})"', html)
    assert css and js
    asset = client.get(css.group(1))
    assert asset.status_code == 200
    assert "max-age=31536000" in asset.headers["Cache-Control"]


def test_assets_point_at_static_url_when_set(make_app):
    app = make_app(STATIC_URL="https://cdn.example.net/assets/")
    response = app.test_client().get("/")
    html = response.get_data(as_text=True)
    assert re.search(r'href="https://cdn\.example\.net/assets/styles\.css\?v=[0-9a-f]{12}"', html)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://cdn.example.net" in csp


def test_no_inline_script_or_style(client, future_slot):
    for path in ("/", f"/book/{future_slot}"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "style=" not in html and "<style" not in html
