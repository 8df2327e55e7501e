"""Tests of staff sign-in: login, lock after failures, audit, logout, password change, cookies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import AuditEntry, User
from hotline.security import init_session_security
from hotline.timeutil import utcnow
from tests.web.staff_helpers import PASSWORD, csrf_from, login, make_user, staff_client


def _attempt(client, email: str, password: str):
    page = client.get("/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)}
    )


def _actions(user: User | None = None) -> list[str]:
    stmt = select(AuditEntry.action).order_by(AuditEntry.id)
    if user is not None:
        stmt = stmt.where(AuditEntry.actor_id == user.id)
    return list(db.session.execute(stmt).scalars())


def test_login_lands_on_the_role_home_and_is_audited(anon):
    """Test that a good login redirects agents to their queue and writes auth.login."""
    user = make_user("agent", "dien-luc")
    response = _attempt(anon, user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/tickets")
    assert anon.get("/staff/tickets").status_code == 200
    assert _actions(user) == ["auth.login"]
    assert db.session.get(User, user.id).last_login_at is not None


def test_wrong_password_and_unknown_email_look_the_same(anon):
    """Test that a wrong password and an unknown email give the same 401 message."""
    user = make_user("agent", "dien-luc")
    wrong = _attempt(anon, user.email, "not-the-password")
    unknown = _attempt(anon, "nobody@test.1022.vn", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    message = "Email hoặc mật khẩu không đúng."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert _actions() == ["auth.login_failed", "auth.login_failed"]


def test_account_locks_after_repeated_failures_even_for_the_right_password(app, anon):
    """Test that 5 failures lock the account, refuse even the right password, and are audited."""
    user = make_user("supervisor")
    for _ in range(4):
        assert _attempt(anon, user.email, "wrong-password").status_code == 401
    locked = _attempt(anon, user.email, "wrong-password")
    assert locked.status_code == 401
    assert "Tài khoản tạm khóa" in locked.get_data(as_text=True)
    refused = _attempt(anon, user.email, PASSWORD)
    assert refused.status_code == 401 and "Tài khoản tạm khóa" in refused.get_data(as_text=True)
    assert anon.get("/staff/tickets").status_code == 302  # still signed out
    actions = _actions(user)
    assert actions.count("auth.login_failed") == 5
    assert "auth.locked" in actions and actions[-1] == "auth.login_refused_locked"
    # Once the lock expires, the right password works again.
    row = db.session.get(User, user.id)
    row.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _attempt(anon, user.email, PASSWORD).status_code == 302


def test_inactive_account_cannot_sign_in_and_loses_its_session(anon):
    """Test that deactivating an account refuses logins and ends the sessions it had."""
    user = make_user("agent", "dien-luc")
    login(anon, user)
    row = db.session.get(User, user.id)
    row.active = False
    db.session.commit()
    assert anon.get("/staff/tickets").status_code == 302
    assert _attempt(staff_client(anon.application), user.email, PASSWORD).status_code == 401


def test_login_refuses_a_post_without_csrf_token(anon):
    """Test that the login form is CSRF-protected."""
    user = make_user("agent", "dien-luc")
    response = anon.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert _actions() == []


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_to_another_site(anon, target):
    """Test that ?next= pointing elsewhere is ignored."""
    user = make_user("agent", "dien-luc")
    page = anon.get("/login")
    response = anon.post(
        f"/login?next={target}",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/tickets")


def test_login_follows_a_local_next(anon):
    """Test that ?next= on this site is followed after signing in."""
    user = make_user("supervisor")
    page = anon.get("/login?next=/staff/dashboard")
    response = anon.post(
        "/login?next=/staff/dashboard",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert response.headers["Location"].endswith("/staff/dashboard")


def test_anonymous_staff_pages_redirect_to_login(anon):
    """Test that staff pages send visitors to the login page, keeping where they were going."""
    response = anon.get("/staff/tickets")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_logout_needs_post_and_csrf_and_is_audited(signed_in):
    """Test that logout is a CSRF-protected POST that ends the session and writes auth.logout."""
    client, user = signed_in("agent", "dien-luc")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    page = client.get("/staff/tickets")
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert client.get("/staff/tickets").status_code == 302
    assert _actions(user)[-1] == "auth.logout"


def test_session_cookie_is_httponly_and_samesite(anon):
    """Test that the session cookie is HttpOnly and SameSite=Lax."""
    user = make_user("agent", "dien-luc")
    response = _attempt(anon, user.email, PASSWORD)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    """Test that production marks the cookies Secure and that HttpOnly/SameSite are enforced."""
    app = Flask("production-like")
    app.config.update(
        ENV_NAME="production", SESSION_COOKIE_HTTPONLY=False, SESSION_COOKIE_SAMESITE=None
    )
    init_session_security(app)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)


def test_password_change_checks_and_ends_other_sessions(app, signed_in):
    """Test that a password change needs the current one, then other sessions are signed out."""
    client, user = signed_in("agent", "dien-luc")
    other = staff_client(app)
    login(other, user)
    page = client.get("/account/password")
    token = csrf_from(page)
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "not-it",
            "new_password": "mat-khau-moi-2026",
            "confirm": "mat-khau-moi-2026",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 400
    assert "Mật khẩu hiện tại không đúng." in wrong.get_data(as_text=True)
    mismatch = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "mat-khau-moi-2026",
            "confirm": "khac-hoan-toan-2026",
            "csrf_token": token,
        },
    )
    assert "không khớp" in mismatch.get_data(as_text=True)
    done = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "mat-khau-moi-2026",
            "confirm": "mat-khau-moi-2026",
            "csrf_token": token,
        },
    )
    assert done.status_code == 302
    assert db.session.get(User, user.id).check_password("mat-khau-moi-2026")
    assert client.get("/staff/tickets").status_code == 200  # this session follows
    assert other.get("/staff/tickets").status_code == 302  # the other one ended
    assert "auth.password_changed" in _actions(user)


def test_login_is_rate_limited_by_flask_limiter(tmp_path):
    """Test that the login POST answers 429 past its limit (an app with rate limits on).

    The shared test app runs with rate limits off, and the limiter is one object per
    process, so this runs a second app in a subprocess.
    """
    script = textwrap.dedent(
        """
        import re
        from hotline import create_app
        from hotline.extensions import db
        app = create_app({
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///%s",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOGIN_RATE_LIMIT": "3 per minute",
        })
        with app.app_context():
            db.create_all()
        client = app.test_client()
        codes = []
        for _ in range(5):
            page = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            data = {"email": "a@b.vn", "password": "x", "csrf_token": token}
            r = client.post("/login", data=data)
            codes.append(r.status_code)
        print(codes)
        """
        % (tmp_path / "limit.sqlite3")
    )
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[401, 401, 401, 429, 429]"
