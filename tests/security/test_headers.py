"""Security headers of a production app: HSTS, CSP with frame-ancestors 'none', nosniff."""

from __future__ import annotations

import os

import pytest

from config.settings import ProductionConfig
from hotline import create_app
from hotline.security import CSP
from tests.intake.conftest import restore_limiter

PAGES = ["/", "/track", "/login", "/healthz", "/api/v1/openapi.json", "/no-such-page"]


@pytest.fixture
def production_app(monkeypatch):
    """The app with the production settings, on the test database and Redis."""
    monkeypatch.setenv("DATABASE_URL", os.environ["TEST_DATABASE_URL"])

    class Settings(ProductionConfig):
        SECRET_KEY = "p" * 48
        SQLALCHEMY_DATABASE_URI = os.environ["TEST_DATABASE_URL"]
        REDIS_URL = os.environ["TEST_REDIS_URL"]
        UPLOAD_DIR = os.environ["UPLOAD_DIR"]
        JSON_LOGS = False  # the suite's logging stays as it is
        RATELIMIT_ENABLED = False

    app = create_app(Settings)
    yield app
    restore_limiter(app)


def test_production_sends_hsts_csp_and_nosniff_on_every_answer(production_app):
    """Test that pages, JSON and errors of a production app carry HSTS, the CSP (no inline
    script, frame-ancestors 'none'), nosniff and DENY framing."""
    client = production_app.test_client()
    for path in PAGES:
        headers = client.get(path, base_url="https://hotline.example").headers
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == "'none'"


def test_production_session_cookie_is_secure_and_httponly(production_app):
    """Test that the session cookie a production app sets is Secure, HttpOnly and SameSite."""
    client = production_app.test_client()
    response = client.get("/login", base_url="https://hotline.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_hsts_outside_production(client):
    """Test that development and test apps (plain http on a laptop) send no HSTS, and still
    send the CSP and nosniff."""
    headers = client.get("/").headers
    assert "Strict-Transport-Security" not in headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
