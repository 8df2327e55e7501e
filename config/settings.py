"""Configuration classes; the only module that reads environment variables."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVINCES_DIR = ROOT / "config" / "provinces"
INSTANCE_DIR = ROOT / "instance"

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


class BaseConfig:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY", INSECURE_SECRET)
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'hotline.sqlite3'}")
    # hide_parameters: a database error's message (logged with its traceback by the worker
    # and the outbox) would otherwise quote the statement's values: phones, names, emails.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    # None means: use a Redis on localhost if one answers, else the launcher's embedded one.
    REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    # Redis behind Sentinel: the sentinels ("host:port,host:port") and the master's name;
    # REDIS_URL then gives only the database and the password ("redis://:secret@/0").
    REDIS_SENTINELS = _env("REDIS_SENTINELS", "")
    REDIS_SENTINEL_MASTER = _env("REDIS_SENTINEL_MASTER", "hotline")
    PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/")
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
    """Local development: SQLite file, Twilio signature check may be switched off."""

    ENV_NAME = "development"
    DEBUG = False
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
    name = name or _env("HOTLINE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown HOTLINE_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
