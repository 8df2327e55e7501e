"""Security headers of a production app: HSTS, CSP with frame-ancestors 'none', nosniff."""

from __future__ import annotations

import os

import pytest

from config.settings import ProductionConfig
from hotline import create_app
from hotline.security import CSP
from tests.intake.conftest import gateway_post, restore_limiter

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


def test_a_views_own_header_is_kept(app, client):
    """Test that a header the view set itself (the rq dashboard's stricter CSP, a download's
    framing) is not replaced by the default policy, whatever its case."""
    from flask import Response

    from hotline.security import init_security_headers

    with app.test_request_context("/"):
        response = Response("x", headers={"content-security-policy": "default-src 'none'"})
        for hook in app.after_request_funcs[None]:
            if hook.__qualname__ == init_security_headers.__qualname__ + ".<locals>._headers":
                response = hook(response)
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_request_without_cookie_gets_no_session_cookie_and_signs_in_as_before(client, redis_conn):
    """Test that webhooks and API calls (no cookie) get no session cookie, while a browser's
    session still works: the login form's session carries its CSRF token."""
    payload = {"message_id": "gw-1", "from": "0912345678", "to": "1022", "text": "Mất điện"}
    answer = gateway_post(client, payload)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    page = client.get("/login")
    assert any(c.startswith("session=") for c in page.headers.getlist("Set-Cookie"))
    with client.session_transaction() as session:
        assert session.get("csrf_token")
