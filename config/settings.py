"""Configuration classes; the only module that reads environment variables.

Every variable the app, the workers, `wsgi.py` and `scripts/launch.py` read is read here
(through `_env`, `_env_bool`, `_env_int`) and documented in the README's configuration table;
tests/unit/test_settings_docs.py fails when the two disagree. Variables read indirectly (their
name passed as a value) are named by a module constant ending in `_VARIABLE`.

`make run` (scripts/launch.py) keeps a little state in `instance/` that development settings
read when the environment says nothing, so a command run by hand in another shell
(`flask --app wsgi hotline doctor`) sees the same system: the per-checkout secret key and
the address of the embedded Redis server when the launcher started one.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVINCES_DIR = ROOT / "config" / "provinces"
INSTANCE_DIR = ROOT / "instance"
# Written by the launcher (`make run`), read by the development settings.
SECRET_KEY_FILE = INSTANCE_DIR / "secret_key"
REDIS_URL_FILE = INSTANCE_DIR / "redis_url"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The development mail sink's port (a local SMTP server keeping emails in instance/mail).
MAIL_SINK_PORT = 8025
# `hotline create-user` reads the password from this variable (its --password-env option).
PASSWORD_VARIABLE = "HOTLINE_PASSWORD"

# A value the production config refuses, so a forgotten SECRET_KEY cannot reach a live site.
INSECURE_SECRET = "dev-insecure-secret-key-change-me"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env_log_level(default: str) -> str:
    """LOG_LEVEL, upper-cased; a misspelt level stops the start with a clear message."""
    level = (_env("LOG_LEVEL", default) or default).strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    return level


def _instance_text(path: Path) -> str | None:
    """Return the stripped text of a launcher state file, or None when absent or empty."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def ensure_secret_key_file() -> str:
    """Create `instance/secret_key` (random, once per checkout) and return its key.

    Called by the launcher, never at import: production settings must not write files.
    """
    key = _instance_text(SECRET_KEY_FILE)
    if key is None:
        import secrets

        SECRET_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        SECRET_KEY_FILE.write_text(key + "\n", encoding="utf-8")
        SECRET_KEY_FILE.chmod(0o600)
    return key


def password_from_env(variable: str = PASSWORD_VARIABLE) -> str | None:
    """Return the password a command line was given through VARIABLE, or None."""
    return _env(variable)


class BaseConfig:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY", INSECURE_SECRET)
    # The port of the web process (gunicorn binds BIND, default every address on PORT).
    PORT = _env_int("PORT", 5000)
    BIND = _env("BIND", f"0.0.0.0:{PORT}")
    LOG_LEVEL = _env_log_level("INFO")
    JSON_LOGS = True
    # Remote Prometheus scrapes send `Authorization: Bearer METRICS_TOKEN`; unset, /metrics
    # answers only on the loopback address.
    METRICS_TOKEN = _env("METRICS_TOKEN", "")
    # Set per gunicorn (each its own, emptied at start): counters of all its workers are
    # summed at scrape time. prometheus_client reads the variable itself too, at import.
    PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR", "")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'hotline.sqlite3'}")
    # hide_parameters: a database error's message (logged with its traceback by the worker
    # and the outbox) would otherwise quote the statement's values: phones, names, emails.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    REDIS_URL = _env("REDIS_URL", DEFAULT_REDIS_URL)
    # Unset REDIS_URL: the launcher uses a Redis on localhost if one answers, else embeds one.
    REDIS_URL_SET = _env("REDIS_URL") is not None
    # Redis behind Sentinel: the sentinels ("host:port,host:port") and the master's name;
    # REDIS_URL then gives only the database and the password ("redis://:secret@/0").
    REDIS_SENTINELS = _env("REDIS_SENTINELS", "")
    REDIS_SENTINEL_MASTER = _env("REDIS_SENTINEL_MASTER", "hotline")
    PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}") or "").rstrip("/")
    # Reverse proxies in front of the app (nginx, a load balancer): their X-Forwarded-For and
    # X-Forwarded-Proto are trusted that many hops deep. 0: the app faces clients directly.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    HOTLINE_PROVINCE = _env("HOTLINE_PROVINCE", "daklak")
    PROVINCES_DIR = str(PROVINCES_DIR)

    TWILIO_ACCOUNT_SID = _env("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = _env("TWILIO_AUTH_TOKEN", "")
    TWILIO_NUMBER = _env("TWILIO_NUMBER", "")
    TWILIO_VALIDATE_SIGNATURES = True
    OPERATOR_NUMBER = _env("OPERATOR_NUMBER", "")
    SMS_GATEWAY_SECRET = _env("SMS_GATEWAY_SECRET", "")
    SMS_PROVIDER = _env("SMS_PROVIDER", "twilio")  # twilio | gateway
    SMS_GATEWAY_SEND_URL = _env("SMS_GATEWAY_SEND_URL", "")
    SMS_STRIP_DIACRITICS = _env_bool("SMS_STRIP_DIACRITICS", False)

    SMTP_HOST = _env("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USERNAME = _env("SMTP_USERNAME", "")
    SMTP_PASSWORD = _env("SMTP_PASSWORD", "")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS", False)
    SMTP_TIMEOUT = _env_int("SMTP_TIMEOUT", 10)
    MAIL_FROM = _env("MAIL_FROM", "Tong dai 1022 <no-reply@1022.local>")
    # Whether `make run` starts the development mail sink (development without SMTP_HOST).
    MAIL_SINK = False

    UPLOAD_DIR = _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    DEMO_MODE = _env_bool("DEMO_MODE", False)
    SIMULATOR_ENABLED = _env_bool("SIMULATOR_ENABLED", False)

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI")  # default: REDIS_URL
    RATELIMIT_HEADERS_ENABLED = True

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None

    # RQ: queue names, and the synchronous switch used only by some tests.
    RQ_QUEUES = ("high", "default", "low")
    JOB_TIMEOUT = 300

    @classmethod
    def check(cls) -> list[str]:
        """Return the reasons this configuration must not start (empty when fine)."""
        return []


class DevelopmentConfig(BaseConfig):
    """Local development: SQLite file, Twilio signature check may be switched off.

    What the environment leaves unset comes from the launcher's state in `instance/` (the
    secret key, the embedded Redis), so `make run` and a command typed in another shell agree.
    """

    ENV_NAME = "development"
    DEBUG = False
    SECRET_KEY = _env("SECRET_KEY") or _instance_text(SECRET_KEY_FILE) or INSECURE_SECRET
    REDIS_URL = _env("REDIS_URL") or _instance_text(REDIS_URL_FILE) or DEFAULT_REDIS_URL
    BIND = _env("BIND", f"127.0.0.1:{BaseConfig.PORT}")
    # No SMTP_HOST: emails go to the launcher's mail sink, a Maildir in instance/mail.
    MAIL_SINK = _env("SMTP_HOST") is None
    SMTP_PORT = _env_int("SMTP_PORT", MAIL_SINK_PORT if MAIL_SINK else 25)
    # A quiet console: every process (the worker's job lines included) logs warnings and
    # errors only, unless LOG_LEVEL asks for more.
    LOG_LEVEL = _env_log_level("WARNING")
    TWILIO_VALIDATE_SIGNATURES = _env_bool("TWILIO_VALIDATE_SIGNATURES", True)
    SIMULATOR_ENABLED = _env_bool("SIMULATOR_ENABLED", True)


class TestConfig(BaseConfig):
    """The test suite: database and Redis from TEST_* variables, CSRF kept on."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    REDIS_URL = _env("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    PUBLIC_BASE_URL = "https://hotline.test"
    TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    TWILIO_AUTH_TOKEN = "test-auth-token"
    TWILIO_NUMBER = "+15005550006"
    OPERATOR_NUMBER = "+842623000000"
    SMS_GATEWAY_SECRET = "test-gateway-secret"
    # Nothing listens on port 1: mail a test did not point at its own SMTP server (a free
    # port) is refused at once, never delivered to `make run`'s mail sink on 8025.
    SMTP_PORT = 1
    SIMULATOR_ENABLED = True
    RATELIMIT_ENABLED = False


class ProductionConfig(BaseConfig):
    """Production: refuses to start with an insecure secret or signature checks off."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    SIMULATOR_ENABLED = _env_bool("SIMULATOR_ENABLED", False)

    @classmethod
    def check(cls) -> list[str]:
        problems = []
        if cls.SECRET_KEY in (None, "", INSECURE_SECRET) or len(cls.SECRET_KEY or "") < 32:
            problems.append(
                "SECRET_KEY is not set to a real secret (at least 32 random characters): "
                'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
            )
        if not _env("DATABASE_URL"):
            problems.append("DATABASE_URL is not set (production needs PostgreSQL).")
        return problems


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[BaseConfig]:
    """Return the settings class for NAME, or for HOTLINE_ENV (default development)."""
    name = name or _env("HOTLINE_ENV") or "development"
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown HOTLINE_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
