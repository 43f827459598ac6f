"""All configuration, read from the environment in one place.

A missing or malformed value fails at start-up with a message naming the variable,
so a misconfigured deployment never half-works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

APP_ENVS = ("local", "test", "production")
# Export and erasure read this many waitlist places per address, whatever the cap is now.
WAITLIST_PLACES_MAX = 10
# The languages patient pages and emails are written in (webapp/translations/ holds
# each one's catalog but English, the language of the source).
SUPPORTED_LANGUAGES = ("en", "es")
DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-never-use-in-production"  # noqa: S105


class ConfigError(RuntimeError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    app_env: str = "production"
    table_name: str = "Appointments"
    aws_region: str = "us-east-1"
    dynamodb_endpoint_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_tls: bool = False
    redis_timeout_seconds: float = 0.25
    redis_retry_after_seconds: float = 10.0
    cache_ttl_seconds: int = 30
    cache_key_prefix: str = "clinic"
    clinic_timezone: str = "UTC"
    clinic_name: str = "Our Clinic"
    # The patient pages' and emails' language when a patient has chosen none and their
    # browser asks for none we have (one of SUPPORTED_LANGUAGES).
    clinic_language: str = "en"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    static_url: str | None = None
    cors_allowed_origins: tuple[str, ...] = ("*",)
    # Run the notifier in-process after each write (no DynamoDB stream locally).
    notify_inline: bool = False
    # Email
    email_backend: str = "ses"  # ses | outbox | console
    mail_from: str | None = None
    staff_notify_email: str | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    reminder_hours_before: int = 24
    appointment_minutes: int = 30
    # How many days ahead the daily roll keeps open times (from weekly hours).
    booking_horizon_days: int = 28
    # Days after an appointment that its patient's details are kept (retention.py).
    patient_data_retention_days: int = 365
    outbox_dir: str = ".local/outbox"
    # SES configuration set on every message (bounce/complaint events); unset = none.
    ses_configuration_set: str | None = None
    # A local SES-compatible endpoint (tests); unset = the region's SES.
    ses_endpoint_url: str | None = None
    # Connect and read timeout of the one SES call per message.
    ses_timeout_seconds: float = 5.0
    # Limits and staff sessions
    booking_rate_limit: int = 5
    booking_rate_window_seconds: int = 600
    max_open_requests_per_email: int = 3
    # The waitlist (waitlist.py): entries per email address, emails per freed time.
    waitlist_max_entries_per_email: int = 3
    waitlist_offers_per_time: int = 10
    login_max_failures_per_account: int = 5
    login_max_failures_per_client: int = 20
    login_lockout_seconds: int = 900
    staff_session_minutes: int = 480
    staff_page_size: int = 25
    # Requests reach staff only once the patient confirms from the first email.
    require_email_confirmation: bool = False
    email_confirmation_minutes: int = 30
    # Staff calendar feeds: the patient's name in events; fetches per feed per 10 minutes.
    calendar_feed_patient_names: bool = False
    calendar_feed_rate_limit: int = 60
    # A header only a fronting proxy (CDN/WAF) sets, holding the client's address.
    trusted_client_ip_header: str | None = None
    # Observability: level (DEBUG, INFO, WARNING, ERROR) and format of the logs: "json"
    # (one object per line, for machines) or "text" (one readable line, for people).
    log_level: str = "INFO"
    log_format: str = "json"
    # Set only behind CloudFront + WAF: requests must carry it in X-Origin-Verify.
    origin_verify_secret: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    @property
    def static_url_origin(self) -> str | None:
        if not self.static_url:
            return None
        scheme, _, rest = self.static_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _str(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


# Headers any client can send (API Gateway passes them on): never a client address.
CLIENT_SET_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-client-ip")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _client_ip_header(env: Mapping[str, str]) -> str | None:
    name = _str(env, "TRUSTED_CLIENT_IP_HEADER", None)
    if name is None:
        return None
    if not _HEADER_NAME.match(name):
        raise ConfigError(f"TRUSTED_CLIENT_IP_HEADER must be a header name, got {name!r}")
    if name.lower() in CLIENT_SET_HEADERS:
        raise ConfigError(
            f"TRUSTED_CLIENT_IP_HEADER must be a header only your proxy sets; {name} can be "
            "sent by any client (use e.g. CloudFront-Viewer-Address)"
        )
    return name


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(env: Mapping[str, str]) -> str:
    level = (_str(env, "LOG_LEVEL", "INFO") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


LOG_FORMATS = ("json", "text")


def _log_format(env: Mapping[str, str], app_env: str) -> str:
    default = "text" if app_env == "local" else "json"
    value = (_str(env, "LOG_FORMAT", default) or default).lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return value


_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
EMAIL_BACKENDS = ("ses", "outbox", "console")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# SES: up to 64 letters, digits, underscores and hyphens.
_CONFIGURATION_SET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def load_settings(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Build Settings from environment variables; overrides win (used by tests)."""
    env = os.environ if env is None else env

    app_env = _str(env, "APP_ENV", "production")
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, got {app_env!r}")

    table_name = _str(env, "TABLE_NAME", "Appointments")
    if not _TABLE_NAME.match(table_name):
        raise ConfigError(f"TABLE_NAME is not a valid DynamoDB table name: {table_name!r}")

    timezone = _str(env, "CLINIC_TIMEZONE", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CLINIC_TIMEZONE is not a known time zone: {timezone!r}") from None

    language = _str(env, "CLINIC_LANGUAGE", "en")
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(
            f"CLINIC_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}, got {language!r}"
        )

    endpoint = _str(env, "DYNAMODB_ENDPOINT_URL", None)
    if endpoint and not _URL.match(endpoint):
        raise ConfigError(f"DYNAMODB_ENDPOINT_URL must be an http(s) URL, got {endpoint!r}")

    static_url = _str(env, "STATIC_URL", None)
    if static_url:
        if not _URL.match(static_url):
            raise ConfigError(f"STATIC_URL must be an http(s) URL, got {static_url!r}")
        static_url = static_url.rstrip("/")

    origins_raw = _str(env, "CORS_ALLOWED_ORIGINS", "*")
    origins = tuple(o.strip().rstrip("/") for o in origins_raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not _URL.match(origin):
            raise ConfigError(f"CORS_ALLOWED_ORIGINS has an invalid origin: {origin!r}")

    values = dict(
        app_env=app_env,
        table_name=table_name,
        aws_region=_str(env, "AWS_REGION", None) or _str(env, "AWS_DEFAULT_REGION", "us-east-1"),
        dynamodb_endpoint_url=endpoint,
        redis_host=_str(env, "REDIS_HOST", None),
        redis_port=_int(env, "REDIS_PORT", 6379, minimum=1),
        redis_tls=_bool(env, "REDIS_TLS", False),
        redis_timeout_seconds=_float(env, "REDIS_TIMEOUT_SECONDS", 0.25),
        redis_retry_after_seconds=_float(env, "REDIS_RETRY_AFTER_SECONDS", 10.0),
        cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 30, minimum=1),
        cache_key_prefix=_str(env, "CACHE_KEY_PREFIX", "clinic"),
        clinic_timezone=timezone,
        clinic_name=_str(env, "CLINIC_NAME", "Our Clinic"),
        clinic_language=language,
        secret_key=_str(env, "SECRET_KEY", DEVELOPMENT_SECRET_KEY),
        static_url=static_url,
        cors_allowed_origins=origins,
        notify_inline=_bool(env, "NOTIFY_INLINE", app_env != "production"),
        **_email_values(env, app_env),
        booking_rate_limit=_int(env, "BOOKING_RATE_LIMIT", 5, minimum=1),
        booking_rate_window_seconds=_int(env, "BOOKING_RATE_WINDOW_SECONDS", 600, minimum=1),
        max_open_requests_per_email=_int(env, "MAX_OPEN_REQUESTS_PER_EMAIL", 3, minimum=1),
        waitlist_max_entries_per_email=_int(env, "WAITLIST_MAX_ENTRIES_PER_EMAIL", 3, minimum=1),
        waitlist_offers_per_time=_int(env, "WAITLIST_OFFERS_PER_TIME", 10, minimum=1),
        login_max_failures_per_account=_int(env, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, minimum=1),
        login_max_failures_per_client=_int(env, "LOGIN_MAX_FAILURES_PER_CLIENT", 20, minimum=1),
        login_lockout_seconds=_int(env, "LOGIN_LOCKOUT_SECONDS", 900, minimum=1),
        staff_session_minutes=_int(env, "STAFF_SESSION_MINUTES", 480, minimum=1),
        staff_page_size=_int(env, "STAFF_PAGE_SIZE", 25, minimum=1),
        require_email_confirmation=_bool(env, "REQUIRE_EMAIL_CONFIRMATION", False),
        email_confirmation_minutes=_int(env, "EMAIL_CONFIRMATION_MINUTES", 30, minimum=1),
        calendar_feed_patient_names=_bool(env, "CALENDAR_FEED_PATIENT_NAMES", False),
        calendar_feed_rate_limit=_int(env, "CALENDAR_FEED_RATE_LIMIT", 60, minimum=1),
        trusted_client_ip_header=_client_ip_header(env),
        # Observability
        log_level=_log_level(env),
        log_format=_log_format(env, app_env),
        origin_verify_secret=_origin_verify_secret(env),
    )
    values.update(overrides)
    settings = Settings(**values)

    if settings.email_confirmation_minutes > 7 * 24 * 60:
        raise ConfigError(
            "EMAIL_CONFIRMATION_MINUTES must be at most a week (10080), "
            f"got {settings.email_confirmation_minutes}"
        )
    if settings.waitlist_max_entries_per_email > WAITLIST_PLACES_MAX:
        raise ConfigError(
            f"WAITLIST_MAX_ENTRIES_PER_EMAIL must be at most {WAITLIST_PLACES_MAX}, "
            f"got {settings.waitlist_max_entries_per_email}"
        )
    if settings.redis_port > 65535:
        raise ConfigError(f"REDIS_PORT must be a TCP port, got {settings.redis_port}")
    if settings.is_production:
        if settings.secret_key == DEVELOPMENT_SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY must be set outside local/test mode (set APP_ENV=local for development)"
            )
        if len(settings.secret_key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
    return settings


_HEADER_VALUE = re.compile(r"^[\x21-\x7e]{16,1024}$")


def _origin_verify_secret(env: Mapping[str, str]) -> str | None:
    value = _str(env, "ORIGIN_VERIFY_SECRET", None)
    if value is not None and not _HEADER_VALUE.match(value):
        raise ConfigError(
            "ORIGIN_VERIFY_SECRET must be 16 to 1024 printable ASCII characters without spaces"
        )
    return value


def _email(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = _str(env, name, default)
    if value is not None and not _EMAIL.match(value):
        raise ConfigError(
            f"{name} must be a plain email address like name@example.com, got {value!r}"
        )
    return value


def _email_values(env: Mapping[str, str], app_env: str) -> dict:
    production = app_env == "production"
    backend = _str(env, "EMAIL_BACKEND", "ses" if production else "outbox").lower()
    if backend not in EMAIL_BACKENDS:
        raise ConfigError(
            f"EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}, got {backend!r}"
        )
    if backend == "console" and production:
        # The console backend prints whole messages, patient data included, into the logs.
        raise ConfigError("EMAIL_BACKEND=console is for local development only")

    mail_from = _email(env, "MAIL_FROM", None)
    if mail_from is None:
        if backend == "ses":
            raise ConfigError(
                "MAIL_FROM must be set (an SES-verified sender) when EMAIL_BACKEND=ses"
            )
        mail_from = "bookings@clinic.localhost"

    base_url = _str(env, "PUBLIC_BASE_URL", None)
    if base_url is None:
        if production:
            raise ConfigError(
                "PUBLIC_BASE_URL must be set (the site's address, used for links in emails)"
            )
        base_url = "http://127.0.0.1:5000"
    if not _URL.match(base_url):
        raise ConfigError(f"PUBLIC_BASE_URL must be an http(s) URL, got {base_url!r}")

    minutes = _int(env, "APPOINTMENT_MINUTES", 30, minimum=1)
    if minutes > 24 * 60:
        raise ConfigError(f"APPOINTMENT_MINUTES must be at most a day (1440), got {minutes}")

    configuration_set = _str(env, "SES_CONFIGURATION_SET", None)
    if configuration_set is not None and not _CONFIGURATION_SET.match(configuration_set):
        raise ConfigError(
            "SES_CONFIGURATION_SET must be an SES configuration set name (up to 64 letters, "
            f"digits, '_' or '-'), got {configuration_set!r}"
        )

    ses_endpoint = _str(env, "SES_ENDPOINT_URL", None)
    if ses_endpoint and not _URL.match(ses_endpoint):
        raise ConfigError(f"SES_ENDPOINT_URL must be an http(s) URL, got {ses_endpoint!r}")
    ses_timeout = _float(env, "SES_TIMEOUT_SECONDS", 5.0)
    if ses_timeout > 10:
        raise ConfigError(f"SES_TIMEOUT_SECONDS must be at most 10, got {ses_timeout}")

    horizon = _int(env, "BOOKING_HORIZON_DAYS", 28, minimum=1)
    if horizon > 366:
        raise ConfigError(f"BOOKING_HORIZON_DAYS must be at most 366, got {horizon}")
    # At least 31: longer than the notification claims live (30 days), see retention.py.
    retention = _int(env, "PATIENT_DATA_RETENTION_DAYS", 365, minimum=31)
    if retention > 3660:
        raise ConfigError(f"PATIENT_DATA_RETENTION_DAYS must be at most 3660, got {retention}")

    return dict(
        email_backend=backend,
        ses_configuration_set=configuration_set,
        ses_endpoint_url=ses_endpoint,
        ses_timeout_seconds=ses_timeout,
        mail_from=mail_from,
        staff_notify_email=_email(env, "STAFF_NOTIFY_EMAIL", None),
        public_base_url=base_url.rstrip("/"),
        reminder_hours_before=_int(env, "REMINDER_HOURS_BEFORE", 24, minimum=1),
        appointment_minutes=minutes,
        booking_horizon_days=horizon,
        patient_data_retention_days=retention,
        outbox_dir=_str(env, "OUTBOX_DIR", ".local/outbox"),
    )
