"""Helpers of the intake tests: signed Twilio posts, signed gateway posts, API keys, CSRF."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest
from rq import Queue
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hotline.extensions import db
from hotline.intake.gateway import sign
from hotline.models import ApiKey, InboundMessage, Ticket

BASE = "https://hotline.test"  # TestConfig.PUBLIC_BASE_URL
TOKEN = "test-auth-token"  # TestConfig.TWILIO_AUTH_TOKEN
GATEWAY_SECRET = "test-gateway-secret"


def twilio_signature(url: str, params: dict, token: str = TOKEN) -> str:
    """Return the X-Twilio-Signature Twilio would send for URL and PARAMS."""
    return RequestValidator(token).compute_signature(url, params)


def twilio_post(client, path: str, params: dict, *, query: str = "", sign_url: str | None = None):
    """POST PARAMS to PATH?QUERY signed as Twilio signs it (over the exact URL it requested)."""
    target = path + (f"?{query}" if query else "")
    signature = twilio_signature(sign_url or BASE + target, params)
    return client.post(target, data=params, headers={"X-Twilio-Signature": signature})


def gateway_post(
    client,
    payload: dict | bytes,
    *,
    secret: str = GATEWAY_SECRET,
    signature=None,
    path: str = "/sms/gateway",
):
    """POST PAYLOAD to the carriers' gateway route (or PATH), signed with SECRET."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["X-Hotline-Signature"] = signature or sign(body, secret)
    return client.post(path, data=body, headers=headers)


def twiml(response) -> ET.Element:
    """Parse a TwiML answer (and check it is XML)."""
    assert response.mimetype == "text/xml", response.data
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def says(root: ET.Element) -> list[str]:
    """Return the text of every <Say>, in order, at any depth."""
    return [s.text or "" for s in root.iter("Say")]


def ticket_count() -> int:
    """Return how many tickets are stored."""
    db.session.rollback()  # see rows committed by other sessions/threads
    return db.session.execute(select(func.count(Ticket.id))).scalar_one()


def inbound_count() -> int:
    """Return how many inbound deliveries are stored."""
    db.session.rollback()
    return db.session.execute(select(func.count(InboundMessage.id))).scalar_one()


def only_ticket() -> Ticket:
    """Return the single stored ticket."""
    db.session.rollback()
    return db.session.execute(select(Ticket)).scalar_one()


def routing_job_ids(redis_conn) -> list[str]:
    """Return the ids of the jobs waiting in the routing queue."""
    return Queue("high", connection=redis_conn).job_ids


def csrf_token(client, path: str = "/") -> str:
    """GET PATH and return the CSRF token of its form (the session cookie stays in CLIENT)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def api_key() -> str:
    """A fresh API key (raw value); only its hash is stored."""
    row, raw = ApiKey.generate("test-app")
    db.session.add(row)
    db.session.commit()
    return raw


def make_limited_app(**overrides):
    """Build a second app with rate limiting on (TestConfig turns it off).

    Flask-Limiter keeps its switch on the shared extension object, so the caller must
    call `restore_limiter()` afterwards.
    """
    import os

    from hotline import create_app

    config = {
        "ENV_NAME": "test",
        "SQLALCHEMY_DATABASE_URI": os.environ["TEST_DATABASE_URL"],
        "REDIS_URL": os.environ["TEST_REDIS_URL"],
        "UPLOAD_DIR": os.environ["UPLOAD_DIR"],
        "RATELIMIT_ENABLED": True,
        **overrides,
    }
    return create_app(config)


def restore_limiter(*apps) -> None:
    """Switch the shared limiter off again and close the extra apps' connections."""
    from hotline.extensions import limiter

    limiter.enabled = False
    for extra in apps:
        with extra.app_context():
            db.session.remove()
            db.engine.dispose()
