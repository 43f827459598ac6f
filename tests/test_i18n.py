"""Two languages: which one a page is in, the switcher, bookings that remember theirs, and
emails written in it. The catalog's completeness and the check that every template string
is marked for translation are in tests/test_i18n_catalog.py."""

from __future__ import annotations

import re

import pytest

from tests.helpers import booking_json, create_staff, csrf_token, staff_login
from webapp.extensions import services
from webapp.notifications.decide import (
    ACCEPTED_KIND,
    CANCELLED_KIND,
    DECLINED_KIND,
    RECEIVED,
    REMINDER,
    RESCHEDULED_KIND,
    STAFF_NEW_REQUEST,
    Notice,
)
from webapp.notifications.render import render


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


def test_explicit_choice_beats_accept_language_which_beats_the_clinic(make_app, now):
    client = make_app(CLINIC_LANGUAGE="es").test_client()
    page = client.get("/")
    assert _lang(page.text) == "es" and "Pida una cita" in page.text
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert _lang(english.text) == "en" and "Book an appointment" in english.text
    # A language we do not have falls back to the clinic's.
    assert _lang(client.get("/", headers={"Accept-Language": "fr"}).text) == "es"
    client.set_cookie("lang", "en")
    chosen = client.get("/", headers={"Accept-Language": "es"})
    assert _lang(chosen.text) == "en"
    # A cookie naming no supported language is ignored.
    client.set_cookie("lang", "xx")
    assert _lang(client.get("/", headers={"Accept-Language": "es"}).text) == "es"


def test_the_switcher_sets_a_lasting_cookie_and_returns_to_the_page(client, now):
    page = client.get("/?day=2030-06-04")
    assert 'href="/?day=2030-06-04&amp;lang=es" hreflang="es" lang="es">Español</a>' in page.text
    assert '<span aria-current="true" lang="en">English</span>' in page.text
    switched = client.get("/?day=2030-06-04&lang=es")
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/?day=2030-06-04"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=es;") and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert "Max-Age=31536000" in cookie and "Secure" not in cookie  # http outside production
    spanish = client.get("/?day=2030-06-04")
    assert _lang(spanish.text) == "es" and "martes, 4 de junio" in spanish.text


def test_the_switcher_never_leaves_the_site_and_ignores_unknown_languages(client, now):
    away = client.get(
        "/", query_string="lang=es", environ_overrides={"PATH_INFO": "//evil.example/"}
    )
    assert away.headers["Location"] == "/evil.example/"
    unknown = client.get("/?lang=xx")
    assert unknown.status_code == 303 and "Set-Cookie" not in unknown.headers


def test_pages_vary_by_language_and_staff_pages_stay_english(app, client, now):
    page = client.get("/")
    assert {"Cookie", "Accept-Language"} <= {v.strip() for v in page.headers["Vary"].split(",")}
    create_staff(app)
    staff_login(client)
    client.set_cookie("lang", "es")
    staff = client.get("/staff/", headers={"Accept-Language": "es"})
    assert staff.status_code == 200 and _lang(staff.text) == "en"
    assert "Language" not in staff.text and "Bookings" in staff.text
    # A staff address asking for ?lang= is not redirected: the switcher is the patients'.
    assert client.get("/staff/?lang=es").status_code == 200


def _book_page(client, slot: str, **headers):
    form = client.get(f"/book/{slot}", headers=headers).text
    return client.post(
        f"/book/{slot}",
        data={
            "csrf_token": csrf_token(form),
            "patientName": "Ana García",
            "patientEmail": "ana@example.com",
            "website": "",
        },
        headers=headers,
    )


def test_a_booking_made_on_a_spanish_page_records_spanish(client, now, add_slot, store):
    slot = add_slot("2030-06-04", "09:00")
    client.set_cookie("lang", "es")
    response = _book_page(client, slot)
    assert response.status_code == 303
    assert store.appointments.get(slot)["language"] == "es"
    manage = client.get(response.headers["Location"]).text
    assert "Gracias, hemos recibido su solicitud" in manage
    assert "martes, 4 de junio de 2030" in manage and "PENDIENTE" in manage


def test_spanish_form_errors_on_the_page_and_english_ones_in_the_json_api(client, now, add_slot):
    slot = add_slot("2030-06-04", "09:00")
    form = client.get(f"/book/{slot}", headers={"Accept-Language": "es"}).text
    refused = client.post(
        f"/book/{slot}",
        data={"csrf_token": csrf_token(form), "patientName": "", "patientEmail": "ana@"},
        headers={"Accept-Language": "es"},
    )
    assert refused.status_code == 400
    assert "Escriba su nombre." in refused.text and "Corrija lo siguiente" in refused.text
    assert "Nombre y apellidos" in refused.text
    api = client.post(
        "/book-appointment",
        json=booking_json(slot, patientName=""),
        headers={"Accept-Language": "es"},
    )
    assert api.status_code == 400
    assert api.json["fields"]["patientName"] == ["Please enter your name."]


@pytest.mark.parametrize(
    ("headers", "clinic", "expected"),
    [({"Accept-Language": "es-ES,es;q=0.9"}, "en", "es"), ({}, "es", "es"), ({}, "en", "en")],
)
def test_the_json_api_records_accept_language_else_the_clinics(
    make_app, now, headers, clinic, expected
):
    app = make_app(CLINIC_LANGUAGE=clinic)
    store = services(app).store
    slot = "20300604-0900"
    store.appointments.put_slot(slot, "2030-06-04", "09:00", "2030-06-01T00:00:00Z")
    response = app.test_client().post("/book-appointment", json=booking_json(slot), headers=headers)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"message", "appointmentId", "status", "manageUrl"}
    assert store.appointments.get(slot)["language"] == expected


def test_a_move_keeps_the_bookings_language(client, now, add_slot, store):
    first = add_slot("2030-06-04", "09:00")
    second = add_slot("2030-06-05", "10:00")
    booked = client.post(
        "/book-appointment", json=booking_json(first), headers={"Accept-Language": "es"}
    )
    token = booked.json["manageUrl"].rsplit("/", 1)[1]
    moved = client.post(f"/my-appointment/{token}/reschedule", json={"appointmentId": second})
    assert moved.status_code == 200, moved.json
    assert store.appointments.get(second)["language"] == "es"


NAMED = "Estimado/a Ana García:"
UNNAMED = "Estimado/a paciente:"
SPANISH_ITEM = {
    "appointmentId": "20300604-0900",
    "appointmentDate": "2030-06-04",
    "appointmentTime": "09:00",
    "slotStart": "2030-06-04T09:00",
    "patientName": "Ana García",
    "patientEmail": "ana@example.com",
    "requestedAt": "2030-06-01T10:00:00Z",
    "status": "ACCEPTED",
    "practitionerName": "Dra. Lee",
    "language": "es",
}


@pytest.mark.parametrize(
    ("kind", "extra", "subject", "body", "greeting"),
    [
        (
            RECEIVED,
            {"status": "PENDING"},
            "hemos recibido su solicitud de cita para el martes",
            "Test Clinic ha recibido una solicitud de cita para esta dirección",
            None,
        ),
        (
            RECEIVED,
            {"status": "UNCONFIRMED", "confirmBy": "2030-06-01T11:00:00Z"},
            "confirme su solicitud de cita para el martes",
            "Confirme esta solicitud antes del",
            None,
        ),
        (ACCEPTED_KIND, {}, "su cita del martes, 4 de junio de 2030", "Buenas noticias", NAMED),
        (DECLINED_KIND, {"decisionReason": "Cerrado"}, "no hemos podido", "Motivo indicado", NAMED),
        (REMINDER, {}, "Recordatorio: su cita en Test Clinic", "Le recordamos su cita", NAMED),
        (CANCELLED_KIND, {"cancelledBy": "staff"}, "está cancelada", "ha sido cancelada", NAMED),
        (
            CANCELLED_KIND,
            {"cancelledBy": "patient"},
            "está cancelada",
            "Tal como nos pidió",
            UNNAMED,
        ),
        (
            RESCHEDULED_KIND,
            {"previousDate": "2030-06-03", "previousTime": "10:30", "inCalendar": True},
            "ha pasado al martes",
            "del lunes, 3 de junio de 2030 a las 10:30 al:",
            UNNAMED,
        ),
    ],
)
def test_patient_emails_to_a_spanish_booking_are_in_spanish(
    app, kind, extra, subject, body, greeting
):
    settings = services(app).settings
    message = render(settings, Notice(kind, {**SPANISH_ITEM, **extra}))
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert subject in message["Subject"]
    assert body in text and "Estimada/o" not in text
    if greeting:
        assert text.startswith(greeting) and greeting in html
    # Only an email after a staff decision names the patient (render.may_quote_requester).
    assert ("Ana García" in text) == (greeting == NAMED)
    assert "martes, 4 de junio de 2030 a las 9:00 con Dra. Lee" in text
    assert '<html lang="es">' in html and "Este es un mensaje automático" in html
    if extra.get("confirmBy"):
        assert "Confirmar la solicitud" in html
    for attachment in message.iter_attachments():
        assert "SUMMARY:Cita con Dra. Lee en Test Clinic" in attachment.get_content()


def test_staff_emails_stay_english_whatever_the_bookings_language(make_app):
    app = make_app(STAFF_NOTIFY_EMAIL="desk@clinic.example")
    message = render(services(app).settings, Notice(STAFF_NEW_REQUEST, SPANISH_ITEM))
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert message["Subject"].startswith("New appointment request waiting: Tuesday 4 June 2030")
    assert "This is an automatic message" in text


def test_a_booking_without_a_language_is_written_to_in_the_clinics(make_app):
    app = make_app(CLINIC_LANGUAGE="es")
    item = {k: v for k, v in SPANISH_ITEM.items() if k != "language"}
    message = render(services(app).settings, Notice(ACCEPTED_KIND, item))
    assert "está confirmada" in message["Subject"]


def test_clinic_language_must_be_supported(make_settings):
    from webapp.settings import ConfigError

    with pytest.raises(ConfigError, match="CLINIC_LANGUAGE must be one of en, es"):
        make_settings(CLINIC_LANGUAGE="fr")
