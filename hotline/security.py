"""Security headers on every response, and the session cookie's interface and settings."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

DEFAULT_SESSION_HOURS = 12

# No inline script anywhere: every script is a file served from 'self'.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


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


def init_security_headers(app: Flask) -> None:
    """Add CSP, nosniff, frame and referrer policies, and HSTS in production."""
    production = app.config.get("ENV_NAME") == "production"
    policy = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()"),
    ]
    if production:
        policy.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    def _headers(response):
        headers = response.headers
        # One pass over the response's headers, then appends: a view's own value stays.
        present = {key.lower() for key in headers.keys()}
        for key, value in policy:
            if key.lower() not in present:
                headers.add(key, value)
        return response


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, without building the cookie signer for a request that
    brought no session cookie (webhooks, API clients): Flask builds it on every request."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Open the session; an empty one, signer unbuilt, when no session cookie came."""
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
