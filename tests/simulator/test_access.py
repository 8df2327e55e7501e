"""Tests of who may use the simulator, and when it exists at all."""

from __future__ import annotations

import os

import pytest

from hotline.extensions import db
from tests.simulator.conftest import PHONE, login, make_user

PATHS = ["/simulator", "/simulator/api/inbox?from=" + PHONE]


@pytest.fixture
def simulator_off(app, monkeypatch):
    """The simulator switched off, as in production by default."""
    monkeypatch.setitem(app.config, "SIMULATOR_ENABLED", False)
    monkeypatch.setitem(app.config, "DEMO_MODE", False)


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_visitors_go_to_the_login_page(fresh_client, path):
    """Test that an anonymous visitor is sent to sign in."""
    response = fresh_client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["operator", "agent", "agency_head", "supervisor"])
@pytest.mark.parametrize("path", PATHS)
def test_staff_other_than_admins_are_refused(fresh_client, role, path):
    """Test that every role but admin gets 403, pages and API alike."""
    agency = "dien-luc" if role in ("agent", "agency_head") else None
    login(fresh_client, make_user(role, agency))
    assert fresh_client.get(path).status_code == 403
    response = fresh_client.post("/simulator/api/sms", json={"from": PHONE, "body": "x"})
    assert response.status_code in (400, 403)  # no CSRF token, or not allowed: never sent


@pytest.mark.parametrize("path", PATHS)
def test_switched_off_the_simulator_is_absent_even_for_admins(fresh_client, simulator_off, path):
    """Test that with SIMULATOR_ENABLED and DEMO_MODE off, every simulator URL is a 404."""
    login(fresh_client, make_user("admin"))
    assert fresh_client.get(path).status_code == 404
    assert fresh_client.post("/simulator/api/call", json={}).status_code == 404
    page = fresh_client.get("/admin/").get_data(as_text=True)
    assert "/simulator" not in page


def test_anonymous_visitors_get_404_when_off(fresh_client, simulator_off):
    """Test that a switched-off simulator does not even reveal a login page."""
    assert fresh_client.get("/simulator").status_code == 404


def test_demo_mode_turns_it_on(admin_client, app, monkeypatch):
    """Test that DEMO_MODE alone makes the simulator available, and the nav links to it."""
    monkeypatch.setitem(app.config, "SIMULATOR_ENABLED", False)
    monkeypatch.setitem(app.config, "DEMO_MODE", True)
    page = admin_client.client.get("/simulator")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/simulator"' in html  # the admin nav entry
    assert "Gọi 1022" in html
    assert 'src="/static/js/simulator.js"' in html and "<script>" not in html


def test_json_endpoints_need_the_csrf_token(admin_client):
    """Test that an admin's POST without the page's CSRF token is refused, with nothing sent."""
    response = admin_client.client.post("/simulator/api/sms", json={"from": PHONE, "body": "x"})
    assert response.status_code == 400
    from sqlalchemy import select

    from hotline.models import InboundMessage

    assert db.session.execute(select(InboundMessage)).first() is None


def _app_with(**overrides):
    from hotline import create_app

    return create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": os.environ["TEST_DATABASE_URL"],
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            **overrides,
        }
    )


def test_without_a_twilio_token_a_derived_one_is_used_only_when_on():
    """Test that an empty TWILIO_AUTH_TOKEN is replaced (the same in every process) only if on."""
    on = [_app_with(TWILIO_AUTH_TOKEN="", SIMULATOR_ENABLED=True) for _ in range(2)]
    off = _app_with(TWILIO_AUTH_TOKEN="", SIMULATOR_ENABLED=False, DEMO_MODE=False)
    real = _app_with(TWILIO_AUTH_TOKEN="real-token", SIMULATOR_ENABLED=True)
    try:
        tokens = {a.config["TWILIO_AUTH_TOKEN"] for a in on}
        assert len(tokens) == 1 and len(tokens.pop()) == 32
        assert on[0].config["SIMULATOR_DERIVED_TOKEN"] is True
        assert off.config["TWILIO_AUTH_TOKEN"] == ""
        assert real.config["TWILIO_AUTH_TOKEN"] == "real-token"
    finally:
        for extra in (*on, off, real):
            with extra.app_context():
                db.session.remove()
                db.engine.dispose()
