"""Languages: which one a patient page is in, the switcher, and translated text (Flask-Babel).

The language of a patient page is, in order: the patient's explicit choice (the switcher's
`?lang=xx`, kept in a cookie), else the browser's `Accept-Language`, else the clinic's
`CLINIC_LANGUAGE`. Staff pages and the JSON APIs are always English. A booking records the
language it was made in (`language` on the item), and every email to that patient is
written in it (notifications/render.py).

Flask-Babel imports Babel's date and number modules and pytz when it loads, so it is set up
on the first text a template or a view translates, never at start-up: a JSON listing on a
fresh Lambda loads none of it (tests/test_cold_path.py). The catalogs in
webapp/translations/ are compiled (`.mo`) when the package is built, never at request time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, current_app, g, has_request_context, redirect, request

from .settings import SUPPORTED_LANGUAGES, Settings

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a choice of language outlives a visit
# The blueprints of pages patients read (None: a page for an unknown address). Every other
# response (staff pages, the JSON APIs, the calendar feed) is written in English.
PATIENT_BLUEPRINTS = frozenset({"pages", "confirm", "waitlist_pages", None})
# Each language's name as its own speakers write it: what the switcher shows.
NAMES = {"en": "English", "es": "Español"}

_babel_lock = threading.Lock()


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; `gettext` translates it later."""
    return message


# A booking's status as patient pages show it (`_(slot.status)`): the codes, in capitals
# as in English, are the catalog's messages.
STATUS_NAMES = (
    N_("AVAILABLE"),
    N_("UNCONFIRMED"),
    N_("PENDING"),
    N_("ACCEPTED"),
    N_("DECLINED"),
    N_("CANCELLED"),
    N_("EXPIRED"),
    N_("RESCHEDULED"),
)


def negotiate(settings: Settings, *, choice: bool = True) -> str:
    """The language of this request: the cookie's choice (unless `choice` is False), else
    the best of `Accept-Language`, else the clinic's."""
    if choice:
        chosen = request.cookies.get(COOKIE, "")
        if chosen in SUPPORTED_LANGUAGES:
            return chosen
    return request.accept_languages.best_match(SUPPORTED_LANGUAGES) or settings.clinic_language


def is_patient_page() -> bool:
    return has_request_context() and request.blueprint in PATIENT_BLUEPRINTS


def current_language() -> str:
    """The language this response is written in ("en" outside a patient page)."""
    if not is_patient_page():
        return "en"
    if "language" not in g:
        from .extensions import settings

        g.language = negotiate(settings())
    return g.language


def _ensure_babel(app: Flask) -> None:
    if "babel" in app.extensions:
        return
    with _babel_lock:
        if "babel" in app.extensions:
            return
        from flask_babel import Babel

        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
        # Jinja's i18n extension is installed at start-up (init_app), with callables that
        # lead here; Flask-Babel only chooses and loads the catalog.
        Babel(app, configure_jinja=False, locale_selector=current_language)


def _translations():
    from flask_babel import get_translations

    _ensure_babel(current_app)
    return get_translations()


def _lookup(message: str) -> str:
    # English is the language of the source: its pages never load a catalog.
    if current_language() == "en":
        return message
    return _translations().ugettext(message)


def _nlookup(singular: str, plural: str, n: int) -> str:
    if current_language() == "en":
        return singular if n == 1 else plural
    return _translations().ungettext(singular, plural, n)


def gettext(message: str, **variables) -> str:
    """`message` in this response's language, with `%(name)s` variables filled in."""
    text = _lookup(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    return _nlookup(singular, plural, n) % {"num": n, **variables}


def lazy_gettext(message: str, **variables):
    """A message translated when it is shown (form labels and validators, defined once at
    import): in the language of the request that shows it."""
    from flask_babel.speaklater import LazyString

    return LazyString(gettext, message, **variables)


def language_url(code: str) -> str:
    """This page's address with `?lang=code`: the switcher's link (no JavaScript)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return request.path + "?" + urlencode([*args, ("lang", code)])


def init_app(app: Flask, settings: Settings) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    # Jinja fills the variables in itself (newstyle), so it is given the lookups only.
    app.jinja_env.install_gettext_callables(gettext=_lookup, ngettext=_nlookup, newstyle=True)
    app.jinja_env.globals.update(
        current_language=current_language,
        language_url=language_url,
        language_names=NAMES,
        weekday_names=weekday_names,
    )
    app.jinja_env.filters["long_date"] = _localised(settings, "long_date")
    app.jinja_env.filters["time_of_day"] = _localised(settings, "time_of_day")
    app.jinja_env.filters["clinic_time"] = _localised(settings, "clinic_time")
    app.jinja_env.filters["around_day_number"] = around_day_number

    @app.before_request
    def choose_language():
        """`?lang=xx` on a patient page: remember the choice, then show the page without it."""
        code = request.args.get("lang")
        if code is None or request.method != "GET" or not is_patient_page():
            return None
        args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
        # One leading slash: "//host/..." would send the browser to another site.
        target = "/" + request.path.lstrip("/") + ("?" + urlencode(args) if args else "")
        response = redirect(target, 303)
        if code in SUPPORTED_LANGUAGES:
            response.set_cookie(
                COOKIE,
                code,
                max_age=COOKIE_MAX_AGE,
                secure=settings.is_production,  # as the session cookie: https in production
                httponly=True,
                samesite="Lax",
            )
        return response

    @app.after_request
    def vary_by_language(response):
        # A patient page differs by the language cookie and Accept-Language: a shared cache
        # must not hand one patient's language to another.
        if is_patient_page():
            response.vary.update(("Cookie", "Accept-Language"))
        return response


def weekday_names() -> list[tuple[str, str]]:
    """Monday to Sunday in this page's language: (name, abbreviation)."""
    from babel.dates import get_day_names

    language = current_language()
    wide = get_day_names("wide", locale=language)
    short = get_day_names("abbreviated", locale=language)
    return [(wide[day], short[day]) for day in range(7)]


def around_day_number(day) -> tuple[str, str]:
    """The day's date without the year, as this page writes it, split around its day of
    the month: ("Monday ", " June"), ("lunes, ", " de junio"). A calendar cell shows the
    number and hides the rest for screen readers, so its name reads as a whole date."""
    from . import clock

    written = clock.long_date(day, year=False, locale=current_language())
    before, _, after = written.partition(str(day.day))
    return before, after


def _localised(settings: Settings, name: str):
    """A clock formatter as a template filter, in the language of the page."""
    from . import clock

    formatter = getattr(clock, name)
    if name == "clinic_time":
        return lambda value: formatter(value, settings.tz, locale=current_language())
    return lambda value, **options: formatter(value, locale=current_language(), **options)
