"""Wiring of the staff side into the app: session cookie safety and the blueprints."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

DEFAULT_SESSION_HOURS = 12


def init_session_security(app: Flask) -> None:
    """Harden the session cookies whatever the settings say.

    HttpOnly and SameSite always; Secure in production (HTTPS); staff sessions end after
    STAFF_SESSION_HOURS (default 12) rather than Flask's 31 days.
    """
    cfg = app.config
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    if cfg.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    if cfg.get("REMEMBER_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        cfg["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    if cfg.get("ENV_NAME") == "production":
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True
    hours = int(cfg.get("STAFF_SESSION_HOURS", DEFAULT_SESSION_HOURS))
    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=hours)


def register_staff_ui(app: Flask) -> None:
    """Register the sign-in, staff, admin and public-answers blueprints."""
    from hotline.admin import bp as admin_bp
    from hotline.auth.views import bp as auth_bp
    from hotline.public.views import bp as answers_bp
    from hotline.staff import bp as staff_bp

    init_session_security(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(answers_bp)
