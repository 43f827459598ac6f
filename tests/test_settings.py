"""Configuration: defaults, and loud failures naming the variable."""

from __future__ import annotations

import pytest

from webapp import create_app
from webapp.settings import ConfigError, load_settings

GOOD_SECRET = "s" * 40
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": GOOD_SECRET,
    "MAIL_FROM": "bookings@clinic.example",
    "PUBLIC_BASE_URL": "https://clinic.example",
}


def test_defaults_follow_the_seed():
    settings = load_settings({"APP_ENV": "test"})
    assert settings.table_name == "Appointments"
    assert settings.cache_ttl_seconds == 30
    assert settings.redis_port == 6379
    assert settings.redis_host is None


def test_production_reads_everything():
    settings = load_settings(
        {
            **PRODUCTION,
            "TABLE_NAME": "PatientBookings",
            "REDIS_HOST": "cache.internal",
            "REDIS_PORT": "6380",
            "REDIS_TLS": "true",
            "CACHE_TTL_SECONDS": "120",
            "CLINIC_TIMEZONE": "Australia/Melbourne",
            "STATIC_URL": "https://d123.cloudfront.net/static/",
            "CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        }
    )
    assert settings.table_name == "PatientBookings"
    assert (settings.redis_host, settings.redis_port, settings.redis_tls) == (
        "cache.internal",
        6380,
        True,
    )
    assert settings.static_url == "https://d123.cloudfront.net/static"
    assert settings.static_url_origin == "https://d123.cloudfront.net"
    assert settings.cors_allowed_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"REDIS_PORT": "sixty"}, "REDIS_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"CACHE_TTL_SECONDS": "0"}, "CACHE_TTL_SECONDS"),
        ({"CACHE_TTL_SECONDS": "1.5"}, "CACHE_TTL_SECONDS"),
        ({"REDIS_TLS": "maybe"}, "REDIS_TLS"),
        ({"CLINIC_TIMEZONE": "Mars/Olympus"}, "CLINIC_TIMEZONE"),
        ({"TABLE_NAME": "no spaces allowed"}, "TABLE_NAME"),
        ({"STATIC_URL": "cdn.example.com"}, "STATIC_URL"),
        ({"DYNAMODB_ENDPOINT_URL": "localhost:8000"}, "DYNAMODB_ENDPOINT_URL"),
        ({"CORS_ALLOWED_ORIGINS": "not a url"}, "CORS_ALLOWED_ORIGINS"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"REDIS_TIMEOUT_SECONDS": "-1"}, "REDIS_TIMEOUT_SECONDS"),
    ],
)
def test_malformed_values_fail_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings({"APP_ENV": "test", **env})


def test_production_refuses_the_default_secret_key():
    without_secret = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(without_secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({**without_secret, "SECRET_KEY": "short"})
    without_env = {k: v for k, v in without_secret.items() if k != "APP_ENV"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(without_env)  # production is the default


def test_app_factory_fails_at_start_up(monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_wsgi_module_builds_the_app_from_the_environment(monkeypatch):
    import importlib
    import sys

    from webapp.extensions import services

    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delitem(sys.modules, "webapp.wsgi", raising=False)
    wsgi = importlib.import_module("webapp.wsgi")
    assert services(wsgi.app).settings.app_env == "test"
    monkeypatch.delitem(sys.modules, "webapp.wsgi", raising=False)


def test_production_cookies_and_hsts(aws, monkeypatch):
    app = create_app(load_settings(PRODUCTION))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    response = app.test_client().get("/nowhere")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_log_format_defaults_by_environment_and_is_validated():
    assert load_settings({"APP_ENV": "local"}).log_format == "text"
    assert load_settings({"APP_ENV": "test"}).log_format == "json"
    assert load_settings({"APP_ENV": "local", "LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings({"APP_ENV": "local", "LOG_FORMAT": "yaml"})
