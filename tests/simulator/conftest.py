"""Helpers of the simulator tests: signed-in clients, the JSON endpoints, a call driven by them."""

from __future__ import annotations

import itertools
import re

import pytest
from flask import g
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from hotline.extensions import db
from hotline.models import User
from hotline.simulator.call_engine import CallEngine, Step

PASSWORD = "mat-khau-mo-phong-1022"
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # cheap: tests need speed
_seq = itertools.count(1)
_CSRF_RE = re.compile(r'data-csrf="([^"]+)"')
_LOGIN_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PHONE = "0912345678"
E164 = "+84912345678"


class FreshClient(FlaskClient):
    """A test client whose requests do not share `g` (the test's app context is reused)."""

    def open(self, *args, **kwargs):
        g._get_current_object().__dict__.clear()
        return super().open(*args, **kwargs)


def make_user(role: str, agency_code: str | None = None) -> User:
    """Create a member of staff whose password is PASSWORD."""
    from tests.factories import agency

    n = next(_seq)
    user = User(
        email=f"sim-{role}{n}@test.1022.vn",
        name=f"Người thử {n}",
        role=role,
        agency_id=agency(agency_code).id if agency_code else None,
        password_hash=_HASH,
    )
    db.session.add(user)
    db.session.commit()
    return user


def login(client: FlaskClient, user: User) -> None:
    """Sign USER in through the real login form."""
    page = client.get("/login").get_data(as_text=True)
    token = _LOGIN_CSRF_RE.search(page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


class SimulatorClient:
    """An admin's browser on /simulator: the page's CSRF token and its JSON calls."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        page = client.get("/simulator")
        assert page.status_code == 200
        self.csrf = _CSRF_RE.search(page.get_data(as_text=True)).group(1)

    def post(self, path: str, payload: dict):
        """POST PAYLOAD as JSON with the CSRF header, as simulator.js does."""
        return self.client.post(path, json=payload, headers={"X-CSRFToken": self.csrf})

    def inbox(self, phone: str = PHONE) -> dict:
        """GET the simulated phone's inbox."""
        response = self.client.get("/simulator/api/inbox", query_string={"from": phone})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def run(self, engine: CallEngine, step: Step, call: dict, posted: list) -> Step:
        """Post STEP's requests through /simulator/api/call and play the followed TwiML."""
        while True:
            follow = None
            for request in step.requests:
                response = self.post(
                    "/simulator/api/call",
                    {
                        "call": call,
                        "request": {
                            "url": request.url,
                            "method": request.method,
                            "kind": request.kind,
                            "params": request.params,
                        },
                    },
                )
                assert response.status_code == 200, response.get_data(as_text=True)
                data = response.get_json()
                posted.append(data)
                if request.follow:
                    follow = data["reply"]
            if follow is None:
                return step
            assert follow["status"] == 200 and follow["content_type"] == "text/xml", follow
            step = engine.load(follow["url"], follow["body"])


@pytest.fixture
def admin_client(app):
    """A client signed in as an admin, on the simulator page."""
    client = FreshClient(app, app.response_class, use_cookies=True)
    login(client, make_user("admin"))
    return SimulatorClient(client)


@pytest.fixture
def fresh_client(app):
    """A client with its own cookies and a clean `g` for each request."""
    return FreshClient(app, app.response_class, use_cookies=True)
