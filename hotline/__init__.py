"""Hotline 1022: the Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from config import config_for

log = logging.getLogger(__name__)


def create_app(config: Any = None) -> Flask:
    """Build the app.

    Args:
        config: a settings class or object, a name ("development", "test", "production"),
            or a dict of overrides applied on top of the environment's settings.

    Returns:
        The configured Flask app. Nothing touches the database or Redis here.
    """
    app = Flask(__name__, instance_relative_config=True)
    overrides: dict[str, Any] = {}
    if config is None or isinstance(config, str):
        settings = config_for(config)
    elif isinstance(config, dict):
        overrides = config
        settings = config_for(config.get("ENV_NAME"))
    else:
        settings = config
    app.config.from_object(settings)
    app.config.update(overrides)
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind nginx every citizen would be 127.0.0.1: one rate-limit bucket for all.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    problems = settings.check() if hasattr(settings, "check") else []
    if problems:
        raise RuntimeError("refusing to start: " + " ".join(problems))
    if not app.config.get("TWILIO_VALIDATE_SIGNATURES", True):
        if app.config.get("ENV_NAME") not in ("development", "test"):
            raise RuntimeError(
                "refusing to start: Twilio signature checks may only be off in development"
            )
        log.warning(
            "!!! TWILIO SIGNATURE CHECKS ARE OFF: anyone can post to the Twilio webhooks !!!"
        )

    _init_extensions(app)
    from hotline.observability import init_observability
    from hotline.security import (
        CookieSessionInterface,
        init_security_headers,
        init_session_security,
    )
    from hotline.templating import init_templating

    init_templating(app)
    init_observability(app)
    init_security_headers(app)
    init_session_security(app)
    app.session_interface = CookieSessionInterface()
    _register_blueprints(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from hotline import models  # noqa: F401  (register every table on the metadata)
    from hotline.extensions import babel, csrf, db, limiter, login_manager, migrate
    from hotline.i18n import select_locale

    db.init_app(app)
    from hotline.db_text import install_text_guard

    install_text_guard()  # NUL and lone surrogates never reach the database (500s)
    migrate.init_app(app, db, directory=str(_root() / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories="translations"
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    @login_manager.user_loader
    def load_user(user_id: str):
        from hotline.auth.sessions import load_user_from_session

        return load_user_from_session(user_id)

    from hotline.redis_client import limiter_storage, make_redis

    redis_url = app.config["REDIS_URL"]
    # Short timeouts: when Redis is down a webhook must still answer quickly.
    app.extensions["hotline_redis"] = make_redis(app.config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", None)
    sentinel_storage = limiter_storage(app.config)
    if sentinel_storage and not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"], options = sentinel_storage
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        # The limits package spells a Redis unix socket "redis+unix://" (the embedded server).
        if redis_url.startswith("unix://"):
            app.config["RATELIMIT_STORAGE_URI"] = "redis+" + redis_url
        else:
            app.config["RATELIMIT_STORAGE_URI"] = redis_url
    # A Redis outage must not turn intake into errors: rate limits then fail open.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5})
    limiter.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from hotline.health import bp as health_bp

    app.register_blueprint(health_bp)

    from hotline.intake import register_intake

    register_intake(app)
    from hotline.intake.open311_openapi import bp as open311_docs_bp

    app.register_blueprint(open311_docs_bp)

    from hotline.simulator import register_simulator

    register_simulator(app)

    # The staff side: sign-in, the staff and admin pages; and the citizens' published answers.
    from hotline.admin import bp as admin_bp
    from hotline.auth.views import bp as auth_bp
    from hotline.public.views import bp as answers_bp
    from hotline.staff import bp as staff_bp

    for blueprint in (auth_bp, staff_bp, admin_bp, answers_bp):
        app.register_blueprint(blueprint)
    from hotline.admin.rq import register_rq_dashboard

    register_rq_dashboard(app)


def _register_cli(app: Flask) -> None:
    from hotline.cli import hotline_cli

    app.cli.add_command(hotline_cli)


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent
