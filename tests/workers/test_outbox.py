"""Sending the outbox: SMTP with a refused first attempt, Twilio errors, the gateway, receipts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from hotline.extensions import db
from hotline.models import OutboxMessage
from hotline.notifications.outbox import queue_message
from hotline.notifications.sender import (
    MAX_ATTEMPTS,
    backoff,
    flush_outbox,
    send_outbox_message,
)
from hotline.timeutil import utcnow
from tests.workers.conftest import free_port

STAFF_PAYLOAD = {
    "locale": "vi",
    "code": "2603000017",
    "agency_name": "Công ty Điện lực Đắk Lắk",
    "category": "Điện",
    "commune": "phường Tân Lập",
    "description": "Mất điện cả khu phố",
    "acknowledge_due": "02/03/2026 09:00",
    "resolve_due": "02/03/2026 14:00",
    "url": "https://hotline.test/staff/tickets/2603000017",
}


def _email(key: str = "k1") -> int:
    message_id = queue_message(
        channel="email",
        recipient="dien-luc@daklak.example",
        template="new_ticket",
        payload=STAFF_PAYLOAD,
        key=key,
    )
    db.session.commit()
    return message_id


def _sms(body_template: str = "receipt", **payload) -> int:
    message_id = queue_message(
        channel="sms",
        recipient="+84912345678",
        template=body_template,
        payload={
            "code": "2603000017",
            "tracking_url": "https://hotline.test/track?code=2603000017",
            **payload,
        },
        key=f"sms-{body_template}",
    )
    db.session.commit()
    return message_id


def _row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_smtp_refuses_first_attempt_then_exactly_one_email_arrives(smtp_server):
    """Test that a 451 on the first attempt schedules a retry with back-off, and the retry
    delivers exactly one email with a text and an HTML part."""
    smtp_server.refuse_next = True
    message_id = _email()
    start = utcnow()
    assert send_outbox_message(message_id, now=start) == "retry"
    row = _row(message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    assert row.next_attempt_at == start + backoff(1)
    assert smtp_server.messages == []
    assert send_outbox_message(message_id, now=start) == "not-due"
    later = start + timedelta(minutes=2)
    assert send_outbox_message(message_id, now=later) == "sent"
    assert send_outbox_message(message_id, now=later) == "sent"  # already sent: no resend
    assert smtp_server.attempts == 2
    assert len(smtp_server.messages) == 1
    email = smtp_server.messages[0]
    assert smtp_server.envelopes[0][1] == ["dien-luc@daklak.example"]
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(email["Subject"]))) == "[1022] Phiếu mới 2603000017: Điện"
    parts = {p.get_content_type(): p for p in email.walk()}
    assert "text/plain" in parts and "text/html" in parts
    text = parts["text/plain"].get_payload(decode=True).decode("utf-8")
    assert "Mất điện cả khu phố" in text and STAFF_PAYLOAD["url"] in text
    row = _row(message_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


def test_flush_and_a_real_worker_send_the_due_rows(app, smtp_server):
    """Test that flush_outbox enqueues due pending rows and an RQ worker sends them."""
    from workers.worker import make_worker

    first, second = _email("a"), _email("b")
    assert flush_outbox() == 2
    make_worker(app, ["default"]).work(burst=True)
    assert len(smtp_server.messages) == 2
    assert {_row(first).status, _row(second).status} == {"sent"}
    assert flush_outbox() == 0


def test_mailbox_refused_for_good_fails_at_once(smtp_server):
    """Test that a 5xx SMTP reply fails the message without a retry."""

    async def refuse(server, session, envelope):
        return "550 5.1.1 No such user"

    smtp_server.handle_DATA = refuse
    message_id = _email()
    assert send_outbox_message(message_id) == "failed"
    assert _row(message_id).next_attempt_at is None


def test_unreachable_server_retries_then_gives_up(app):
    """Test that an SMTP server that is down is retried with growing waits, then failed."""
    app.config["SMTP_PORT"], saved = free_port(), app.config["SMTP_PORT"]
    try:
        message_id = _email()
        now = utcnow()
        for attempt in range(1, MAX_ATTEMPTS):
            assert send_outbox_message(message_id, now=now) == "retry"
            assert _row(message_id).next_attempt_at == now + backoff(attempt)
            now = now + backoff(attempt)
        assert send_outbox_message(message_id, now=now) == "failed"
    finally:
        app.config["SMTP_PORT"] = saved
    assert backoff(1) == timedelta(minutes=1) and backoff(3) == timedelta(minutes=4)
    assert backoff(30) == timedelta(hours=6)


def test_twilio_invalid_number_fails_without_retry(fake_twilio):
    """Test that Twilio's 21211 (invalid number) fails the SMS at once, never retried."""
    fake_twilio.answers.append(
        (
            400,
            {
                "code": 21211,
                "message": "The 'To' number is not valid.",
                "status": 400,
                "more_info": "https://www.twilio.com/docs/errors/21211",
            },
        )
    )
    message_id = _sms()
    assert send_outbox_message(message_id) == "failed"
    row = _row(message_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, None)
    assert "21211" in row.last_error
    assert len(fake_twilio.requests) == 1
    assert flush_outbox(now=utcnow() + timedelta(days=1)) == 0


@pytest.mark.parametrize("code", [21614, 21610])
def test_twilio_other_permanent_errors(fake_twilio, code):
    """Test that "not a mobile" and "unsubscribed" also fail at once."""
    fake_twilio.answers.append((400, {"code": code, "message": "no", "status": 400}))
    assert send_outbox_message(_sms()) == "failed"


def test_twilio_server_error_retries_then_sends_with_status_callback(fake_twilio):
    """Test that a Twilio 500 is retried, and the retry sends the SMS with our number,
    the rendered text and the status callback URL."""
    fake_twilio.answers.append((500, {"code": 20500, "message": "Internal error", "status": 500}))
    message_id = _sms()
    now = utcnow()
    assert send_outbox_message(message_id, now=now) == "retry"
    assert send_outbox_message(message_id, now=now + timedelta(minutes=5)) == "sent"
    request = fake_twilio.requests[-1]
    assert request["method"] == "POST" and request["uri"].endswith("/Messages.json")
    assert request["data"]["To"] == "+84912345678"
    assert request["data"]["From"] == "+15005550006"
    assert request["data"]["StatusCallback"] == "https://hotline.test/twilio/sms/status"
    assert "2603000017" in request["data"]["Body"]
    assert _row(message_id).provider_id == "SM" + "2".zfill(32)


def _signed_post(client, app, form: dict, valid: bool = True):
    url = "https://hotline.test/twilio/sms/status"
    signature = RequestValidator(app.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature if valid else "bad"}
    return client.post("/twilio/sms/status", data=form, headers=headers)


def test_delivery_receipts_are_recorded(app, client, fake_twilio):
    """Test that a signed status callback marks the SMS delivered or undelivered, and an
    unsigned one is refused with 403."""
    message_id = _sms()
    send_outbox_message(message_id)
    sid = _row(message_id).provider_id
    form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    assert _signed_post(client, app, form, valid=False).status_code == 403
    assert _row(message_id).status == "sent"
    assert _signed_post(client, app, form).status_code == 204
    assert _row(message_id).status == "delivered"
    late = {"MessageSid": sid, "MessageStatus": "sent"}
    assert _signed_post(client, app, late).status_code == 204
    assert _row(message_id).status == "delivered"  # a late "sent" changes nothing
    failed = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _signed_post(client, app, failed).status_code == 204
    assert "30003" in _row(message_id).last_error
    assert (
        _signed_post(client, app, {"MessageSid": "SMunknown", "MessageStatus": "sent"}).status_code
        == 204
    )
    assert _signed_post(client, app, {"MessageStatus": "sent"}).status_code == 400


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict]] = []
    answers: list[tuple[int, bytes]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers)))
        status, answer = type(self).answers.pop(0) if type(self).answers else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(app):
    """A carrier gateway on loopback; the app sends SMS through it."""
    _Gateway.received, _Gateway.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    # Polling every 50 ms, shutdown() returns at once (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    saved = {k: app.config[k] for k in ("SMS_PROVIDER", "SMS_GATEWAY_SEND_URL")}
    app.config.update(
        SMS_PROVIDER="gateway",
        SMS_GATEWAY_SEND_URL=f"http://127.0.0.1:{server.server_port}/send",
    )
    try:
        yield _Gateway
    finally:
        app.config.update(saved)
        server.shutdown()
        server.server_close()


def test_gateway_send_is_signed_and_refusals_are_final(app, gateway):
    """Test that the carrier gateway gets a JSON body signed with HMAC-SHA256, that a 503 is
    retried and a 400 fails for good."""
    gateway.answers = [(503, b"busy"), (200, b'{"id": "gw-77"}'), (400, b"bad number")]
    message_id = _sms()
    now = utcnow()
    assert send_outbox_message(message_id, now=now) == "retry"
    assert send_outbox_message(message_id, now=now + timedelta(minutes=2)) == "sent"
    assert _row(message_id).provider_id == "gw-77"
    body, headers = gateway.received[-1]
    expected = hmac.new(app.config["SMS_GATEWAY_SECRET"].encode(), body, hashlib.sha256)
    assert hmac.compare_digest(headers["X-Hotline-Signature"], expected.hexdigest())
    sent = json.loads(body)
    assert sent["to"] == "+84912345678" and "2603000017" in sent["text"]
    assert sent["message_id"] == "sms-receipt"
    other = queue_message(
        channel="sms",
        recipient="+84900000000",
        template="receipt",
        payload={"code": "1", "tracking_url": "u"},
        key="other",
    )
    db.session.commit()
    assert send_outbox_message(other) == "failed"


def _gateway_receipt(client, app, payload, *, signed: bool = True, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    secret = app.config["SMS_GATEWAY_SECRET"].encode()
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest() if signed else "0" * 64
    return client.post(
        "/sms/gateway/status",
        data=body,
        headers={"Content-Type": "application/json", "X-Hotline-Signature": signature},
    )


def test_gateway_delivery_reports_are_recorded(app, client, gateway):
    """Test that the gateway's signed delivery reports mark the SMS, found by the gateway's
    id or by ours, in its words or SMPP's; that a late non-final report changes nothing;
    and that an unsigned one is refused with 403 and changes nothing."""
    gateway.answers = [(200, b'{"id": "gw-1"}'), (200, b"{}")]
    first, second = _sms(), _sms("answer", rating_url="https://hotline.test/r/t")
    assert send_outbox_message(first) == "sent" and send_outbox_message(second) == "sent"
    assert _row(first).provider_id == "gw-1"
    ours = json.loads(gateway.received[-1][0])["message_id"]

    report = {"id": "gw-1", "status": "DELIVRD"}
    refused = _gateway_receipt(client, app, report, signed=False)
    assert refused.status_code == 403 and "signature" in refused.get_json()["errors"]
    assert _row(first).status == "sent"
    assert _gateway_receipt(client, app, report).status_code == 204
    assert _row(first).status == "delivered"
    late = {"id": "gw-1", "status": "ENROUTE"}
    assert _gateway_receipt(client, app, late).status_code == 204
    assert _row(first).status == "delivered"

    # The gateway answered no id: its report names the message by our message_id.
    expired = {"message_id": ours, "status": "expired", "error_code": "EXP-24H"}
    assert _gateway_receipt(client, app, expired).status_code == 204
    assert _row(second).status == "undelivered"
    assert "EXP-24H" in _row(second).last_error
    unknown = {"id": "gw-unknown", "status": "delivered"}
    assert _gateway_receipt(client, app, unknown).status_code == 204


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"status": "delivered"}, "id", "id or message_id is required"),
        ({"id": "gw-1"}, "status", "is required"),
        ({"id": "gw-1", "status": "read"}, "status", "must be one of"),
        ({"id": 7, "status": "delivered"}, "id", "must be a string"),
        ({"id": "g" * 121, "status": "delivered"}, "id", "longer than 120"),
        (["gw-1", "delivered"], "_schema", "JSON object"),
        (b"\xff not json", "_schema", "UTF-8 JSON"),
    ],
)
def test_gateway_delivery_report_errors_say_what_is_wrong(app, client, payload, field, message):
    """Test that a malformed report is refused with 400 and a message naming the field."""
    raw = payload if isinstance(payload, bytes) else None
    response = _gateway_receipt(client, app, payload, raw=raw)
    assert response.status_code == 400
    assert any(message in text for text in response.get_json()["errors"][field])


def test_rating_link_is_scrubbed_once_sent(fake_twilio):
    """Test that the one-time rating link leaves the payload once the SMS is sent."""
    message_id = _sms("answer", rating_url="https://hotline.test/r/secret-token")
    send_outbox_message(message_id)
    assert "secret-token" in fake_twilio.requests[-1]["data"]["Body"]
    assert "rating_url" not in _row(message_id).payload


def test_same_key_is_queued_once():
    """Test that a second message with the same idempotency key is not written."""
    assert _email("same") is not None
    assert _email("same") is None
    assert len(db.session.execute(select(OutboxMessage)).all()) == 1
