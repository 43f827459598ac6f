"""The waitlist in Spanish: an entry remembers the language it was made in (the page's, or
the JSON API's Accept-Language), its emails (joined, offer) are written in it, its pages
follow the page's language, and a booking made from an offer records the page's."""

from __future__ import annotations

import re
from datetime import date

from tests.helpers import csrf_token
from tests.test_waitlist import (
    free_a_time,
    join_json,
    leave_link,
    offer_link,
    outbox,
    text_of,
    tick,
)
from webapp import manage_links
from webapp.extensions import services


def _entries(app, day=date(2030, 6, 10)):
    return services(app).store.waitlist.covering(day, 28)


def _html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_spanish_page_join_records_spanish_and_its_emails_are_spanish(
    app, add_slot, monkeypatch, tmp_path
):
    tick(monkeypatch, 1)
    client = app.test_client()
    client.set_cookie("lang", "es")
    page = client.get("/waitlist")
    assert '<html lang="es">' in page.text
    assert "Inscribirse en la lista de espera" in page.text and "Desde" in page.text
    form = {"csrf_token": csrf_token(page.text), **join_json()}
    done = client.post("/waitlist", data=form)
    assert done.status_code == 200
    assert "Está en la lista de espera" in done.text
    assert "del miércoles, 5 de junio de 2030 al miércoles, 12 de junio de 2030" in done.text
    (entry,) = _entries(app)
    assert entry["language"] == "es"

    (joined,) = outbox(tmp_path, "waitlist-joined")
    assert joined["Subject"].strip() == (
        "Test Clinic: está en la lista de espera para una cita del miércoles, 5 de junio de "
        "2030 al miércoles, 12 de junio de 2030"
    )
    text = text_of(joined)
    assert text.startswith("Estimado/a paciente:\n\nEstá en la lista de espera de Test Clinic")
    assert "Para salir ahora de la lista de espera" in text and "/waitlist/leave/" in text
    assert "Este es un mensaje automático de Test Clinic." in text
    assert '<html lang="es">' in _html_of(joined) and "Salir de la lista de espera" in _html_of(
        joined
    )

    tick(monkeypatch, 5)
    free_a_time(app, add_slot, time="14:30")
    (offer,) = outbox(tmp_path, "waitlist-offer")
    assert offer["Subject"].strip() == (
        "Test Clinic: hay una hora libre el lunes, 10 de junio de 2030 a las 14:30"
    )
    text = text_of(offer)
    assert "Ha quedado libre una hora que usted espera en Test Clinic:" in text
    assert "lunes, 10 de junio de 2030 a las 14:30 (hora de Australia/Melbourne)" in text
    assert "Para reservarla, abra este enlace y confirme:" in text
    assert "Reservar esta hora" in _html_of(offer)
    assert "June" not in text and "Monday" not in text


def test_the_json_api_records_accept_language_and_emails_in_it(app, now, tmp_path):
    client = app.test_client()
    response = client.post(
        "/join-waitlist",
        json=join_json(toDate="2030-06-05"),
        headers={"Accept-Language": "es-ES,es;q=0.9"},
    )
    assert response.status_code == 201
    # The JSON answer stays English, like the rest of the JSON API.
    assert response.get_json()["message"].startswith("You are on the waitlist.")
    (entry,) = _entries(app, date(2030, 6, 5))
    assert entry["language"] == "es"
    (joined,) = outbox(tmp_path, "waitlist-joined")
    assert joined["Subject"].endswith("para una cita el miércoles, 5 de junio de 2030")
    # Its errors stay English too.
    refused = client.post(
        "/join-waitlist",
        json=join_json(fromDate="2030-06-01"),
        headers={"Accept-Language": "es"},
    )
    assert refused.get_json()["fields"]["fromDate"] == ["The first day must be today or later."]


def test_without_accept_language_an_entry_takes_the_clinics_language(make_app, now, tmp_path):
    app = make_app(CLINIC_LANGUAGE="es")
    assert app.test_client().post("/join-waitlist", json=join_json()).status_code == 201
    (joined,) = outbox(tmp_path, "waitlist-joined")
    assert "lista de espera" in joined["Subject"]
    english = make_app()
    english.test_client().post("/join-waitlist", json=join_json(patientEmail="grace@example.com"))
    languages = {e["patientEmail"]: e["language"] for e in _entries(english)}
    assert languages == {"ada@example.com": "es", "grace@example.com": "en"}


def test_spanish_errors_on_the_join_page(app, now):
    client = app.test_client()
    page = client.get("/waitlist", headers={"Accept-Language": "es"})
    form = {
        "csrf_token": csrf_token(page.text),
        "patientName": "",
        "patientEmail": "ana@example.com",
        "fromDate": "2030-06-01",
        "toDate": "2030-09-30",
    }
    refused = client.post("/waitlist", data=form, headers={"Accept-Language": "es"})
    assert refused.status_code == 400 and "Escriba su nombre." in refused.text
    form["patientName"] = "Ana García"
    refused = client.post("/waitlist", data=form, headers={"Accept-Language": "es"})
    assert refused.status_code == 400
    assert "El primer día debe ser hoy o una fecha posterior." in refused.text
    assert re.search(r"Ofrecemos horas hasta el [a-zé]+, \d+ de [a-z]+ de 2030", refused.text)
    assert "We open" not in refused.text


def test_offer_and_leave_pages_in_spanish_and_the_booking_records_spanish(
    app, add_slot, monkeypatch, tmp_path
):
    tick(monkeypatch, 1)
    app.test_client().post("/join-waitlist", json=join_json())  # an English entry
    (joined,) = outbox(tmp_path, "waitlist-joined")
    client = app.test_client()
    client.set_cookie("lang", "es")
    leave = client.get(leave_link(joined))
    assert "¿Desea salir de la lista de espera?" in leave.text
    assert "Está esperando una cita del miércoles, 5 de junio de 2030 al" in leave.text
    tick(monkeypatch, 5)
    free_a_time(app, add_slot)
    (offer,) = outbox(tmp_path, "waitlist-offer")
    assert "a time is free" in offer["Subject"]  # the entry's language, not the page's
    page = client.get(offer_link(offer))
    assert page.status_code == 200 and "¿Desea reservar esta hora?" in page.text
    assert "lunes, 10 de junio de 2030" in page.text and "Para Ada Lovelace" in page.text
    booked = client.post(offer_link(offer), data={"csrf_token": csrf_token(page.text)})
    assert booked.status_code == 303
    token = offer_link(offer).rsplit("/", 1)[1]
    _, _, appointment_id = manage_links.read_offer_token(services(app).settings, token)
    # Booked on a Spanish page: the booking's later emails are Spanish.
    assert services(app).store.appointments.get(appointment_id)["language"] == "es"
    assert "No está en esta lista de espera" in client.get(leave_link(joined)).text
