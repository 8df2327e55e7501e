"""Fixtures of the worker tests: staff, tickets, a real SMTP server and a fake Twilio API."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response

from hotline.extensions import db
from hotline.models import Agency, Category, Commune, Ticket, User
from hotline.tickets import services

# Monday 2 March 2026, 08:00 in Đắk Lắk (UTC+7): an ordinary working morning.
MONDAY_0800 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agency(code: str) -> Agency:
    """Return the agency CODE."""
    return db.session.execute(select(Agency).filter_by(code=code)).scalar_one()


def commune(name: str) -> Commune:
    """Return the commune called NAME."""
    return db.session.execute(select(Commune).filter_by(name=name)).scalar_one()


def category(code: str) -> Category:
    """Return the category CODE."""
    return db.session.execute(select(Category).filter_by(code=code)).scalar_one()


def add_user(email: str, role: str, agency_code: str | None = None) -> User:
    """Create a user without the slow password hash (tests never log in here)."""
    user = User(
        email=email,
        name=email.split("@")[0],
        password_hash="-",
        role=role,
        agency_id=agency(agency_code).id if agency_code else None,
    )
    db.session.add(user)
    db.session.commit()
    return user


def new_ticket(
    description: str = "Khu vực tổ dân phố 5 mất điện từ sáng đến giờ",
    *,
    channel: str = "web",
    category_code: str | None = None,
    commune_name: str | None = None,
    priority: str = "normal",
    phone: str | None = None,
    email: str | None = None,
    address: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Open a received ticket without enqueueing its routing."""
    report = services.Report(
        channel=channel,
        description=description,
        category_code=category_code,
        commune_id=commune(commune_name).id if commune_name else None,
        priority=priority,
        phone=phone,
        email=email,
        address=address,
    )
    return services.create_ticket(report, now=now, route=False).ticket


def assigned_ticket(
    agency_code: str = "dien-luc",
    *,
    priority: str = "urgent",
    now: datetime = MONDAY_0800,
    **kwargs,
) -> Ticket:
    """Open a ticket and give it to AGENCY_CODE at NOW (urgent: 1 h / 4 h working time)."""
    kwargs.setdefault("category_code", "dien")
    ticket = new_ticket(priority=priority, now=now, **kwargs)
    return services.assign(ticket.id, agency(agency_code).id, now=now)


@pytest.fixture
def staff():
    """An agent and a head of the power company, and a supervisor."""
    return {
        "agent": add_user("agent@dienluc.example", "agent", "dien-luc"),
        "head": add_user("head@dienluc.example", "agency_head", "dien-luc"),
        "supervisor": add_user("supervisor@1022.example", "supervisor"),
    }


class RecordingHandler:
    """An aiosmtpd handler that keeps messages and can refuse the first DATA with a 451."""

    def __init__(self, refuse_first: bool = False) -> None:
        self.refuse_next = refuse_first
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.attempts += 1
        if self.refuse_next:
            self.refuse_next = False
            return "451 4.3.0 Try again later"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on loopback (a free port), the app pointed at it."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = app.config["SMTP_HOST"], app.config["SMTP_PORT"]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    try:
        yield handler
    finally:
        app.config["SMTP_HOST"], app.config["SMTP_PORT"] = saved
        controller.stop()


class FakeTwilioHttp(HttpClient):
    """Stands in for Twilio's HTTP API: records requests, answers from a script."""

    def __init__(self) -> None:
        super().__init__(logger=None, is_async=False)
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {})})
        if self.answers:
            status, body = self.answers.pop(0)
        else:
            status, body = (
                201,
                {
                    "sid": f"SM{len(self.requests):032d}",
                    "status": "queued",
                    "to": (data or {}).get("To"),
                    "body": (data or {}).get("Body"),
                },
            )
        return Response(status, json.dumps(body))


@pytest.fixture
def fake_twilio(app):
    """A fake Twilio HTTP API injected into the Twilio REST client the sender builds."""
    fake = FakeTwilioHttp()
    app.extensions["hotline_twilio_http_client"] = fake
    saved = app.config["SMS_PROVIDER"]
    app.config["SMS_PROVIDER"] = "twilio"
    try:
        yield fake
    finally:
        app.extensions.pop("hotline_twilio_http_client", None)
        app.config["SMS_PROVIDER"] = saved
