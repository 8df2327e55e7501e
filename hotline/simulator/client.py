"""Posting to the Twilio webhooks as Twilio does: its parameters, its signature, in-process.

Nothing leaves the server: a request is signed with the configured auth token over the
public URL (`PUBLIC_BASE_URL` + path + query, what `twilio_auth` checks) and handed to the
app's own WSGI stack, so the real route, signature check and TwiML answer it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from hotline.extensions import db
from hotline.models import InboundMessage, OutboxMessage, Ticket
from hotline.phones import normalize_phone
from hotline.simulator.twiml import (
    API_VERSION,
    CALL,
    RECORDING,
    STATUS,
    TwilioRequest,
    new_sid,
    recording_url,
)
from hotline.timeutil import to_local

log = logging.getLogger(__name__)

MAX_TEXT = 4000
PLACEHOLDER_ACCOUNT_SID = "AC" + "0" * 32
SID_RE = {"CA": re.compile(r"^CA[0-9a-f]{32}$"), "SM": re.compile(r"^SM[0-9a-f]{32}$")}
# What a simulated step may add to the call's parameters, and the values Twilio uses.
EVENT_PARAMS: dict[str, dict[str, re.Pattern[str] | None]] = {
    CALL: {
        "CallStatus": re.compile(r"^(ringing|in-progress|completed)$"),
        "Digits": re.compile(r"^([0-9*#]{1,64}|hangup)$"),
        "FinishedOnKey": re.compile(r"^[0-9*#]?$"),
        "SpeechResult": None,
        "Confidence": re.compile(r"^(0(\.\d{1,8})?|1(\.0{1,8})?)$"),
        "RecordingUrl": None,  # checked against RecordingSid
        "RecordingSid": re.compile(r"^RE[0-9a-f]{32}$"),
        "RecordingDuration": re.compile(r"^\d{1,5}$"),
        "DialCallStatus": re.compile(r"^(completed|busy|no-answer|failed|canceled)$"),
        "DialCallSid": re.compile(r"^CA[0-9a-f]{32}$"),
        "DialCallDuration": re.compile(r"^\d{1,5}$"),
    },
    RECORDING: {
        "RecordingUrl": None,
        "RecordingSid": re.compile(r"^RE[0-9a-f]{32}$"),
        "RecordingStatus": re.compile(r"^(completed|absent|failed)$"),
        "RecordingDuration": re.compile(r"^\d{1,5}$"),
        "RecordingChannels": re.compile(r"^[12]$"),
        "RecordingSource": re.compile(r"^(RecordVerb|StartCallRecordingTwiML)$"),
    },
    STATUS: {
        "CallStatus": re.compile(r"^(completed|busy|no-answer|failed|canceled)$"),
        "CallDuration": re.compile(r"^\d{1,6}$"),
    },
}


class SimulatorError(ValueError):
    """A simulated request the simulator refuses to make (bad URL, parameter or number)."""


@dataclass(frozen=True)
class Reply:
    """What the webhook answered, and what was sent to it."""

    url: str
    method: str
    params: dict[str, str]
    status: int
    content_type: str
    body: str

    @property
    def is_twiml(self) -> bool:
        """Whether the reply is a successful XML document."""
        return self.status == 200 and self.content_type in ("text/xml", "application/xml")

    def as_json(self) -> dict[str, Any]:
        """Return the reply for the page (the request as sent, the TwiML as received)."""
        return {
            "url": self.url,
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "content_type": self.content_type,
            "body": self.body,
        }


# --- the simulated phone line ---------------------------------------------------------


def public_base() -> str:
    """Return PUBLIC_BASE_URL without its trailing slash."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def account_sid() -> str:
    """Return the Twilio account SID the requests carry (a placeholder when unset)."""
    return current_app.config.get("TWILIO_ACCOUNT_SID") or PLACEHOLDER_ACCOUNT_SID


def hotline_number() -> str:
    """Return the number the simulated phone calls and texts (the Twilio number)."""
    return current_app.config.get("TWILIO_NUMBER") or "1022"


def route_path(endpoint: str, **values: Any) -> str:
    """Return the path of ENDPOINT, inside or outside a request (the CLI has none)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def webhook_urls() -> dict[str, str]:
    """Return the URLs configured on the simulated Twilio number: voice, call status, SMS."""
    base = public_base()
    return {
        "voice": base + route_path("twilio_voice.incoming"),
        "status": base + route_path("twilio_voice.status"),
        "sms": base + route_path("twilio_sms.twilio_sms"),
    }


def caller_number(raw: str | None) -> str:
    """Return the simulated phone's number in E.164, as Twilio sends `From`.

    Raises:
        SimulatorError: not a phone number.
    """
    phone = normalize_phone(raw)
    if phone is None:
        raise SimulatorError("From")
    return phone


def check_sid(sid: str, prefix: str) -> str:
    """Return SID if it is a well-formed Twilio SID starting with PREFIX."""
    if not SID_RE[prefix].match(sid or ""):
        raise SimulatorError("sid")
    return sid


def call_params(kind: str, call_sid: str, caller: str, event: dict[str, Any]) -> dict[str, str]:
    """Return the form Twilio posts for a request of KIND on call CALL_SID from CALLER.

    Args:
        kind: "call" (a TwiML webhook), "recording" (recording status callback) or
            "status" (call status callback).
        call_sid: the call's SID.
        caller: the caller's E.164 number.
        event: this step's own parameters (Digits, SpeechResult, RecordingUrl...).

    Raises:
        SimulatorError: an unknown kind, an unexpected parameter or a malformed value.
    """
    allowed = EVENT_PARAMS.get(kind)
    if allowed is None:
        raise SimulatorError("kind")
    clean: dict[str, str] = {}
    for name, value in event.items():
        if name not in allowed or not isinstance(value, str | int | float):
            raise SimulatorError(name)
        value = str(value)
        pattern = allowed[name]
        if len(value) > MAX_TEXT or (pattern is not None and not pattern.match(value)):
            raise SimulatorError(name)
        clean[name] = value
    if "RecordingUrl" in clean and clean["RecordingUrl"] != recording_url(
        account_sid(), clean.get("RecordingSid", "")
    ):
        raise SimulatorError("RecordingUrl")
    if kind == RECORDING:
        # Recording callbacks carry the call and the recording, not the numbers.
        return {"AccountSid": account_sid(), "CallSid": call_sid, **clean}
    to = hotline_number()
    params = {
        "AccountSid": account_sid(),
        "ApiVersion": API_VERSION,
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": to,
        "Caller": caller,
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "VN",
        "To": to,
        "ToCountry": "VN",
    }
    if kind == STATUS:
        params["CallbackSource"] = "call-progress-events"
        params["Timestamp"] = formatdate(usegmt=True)
    params.update(clean)
    return params


def sms_params(caller: str, body: str, message_sid: str | None = None) -> dict[str, str]:
    """Return the form Twilio posts for an inbound SMS from CALLER."""
    sid = message_sid or new_sid("SM")
    to = hotline_number()
    return {
        "AccountSid": account_sid(),
        "ApiVersion": API_VERSION,
        "Body": body,
        "From": caller,
        "FromCountry": "VN",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": to,
        "ToCountry": "VN",
    }


# --- signing and in-process dispatch --------------------------------------------------


def signing_token() -> str:
    """Return the auth token the webhooks check signatures with.

    Raises:
        SimulatorError: no token is configured.
    """
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    if not token:
        raise SimulatorError("TWILIO_AUTH_TOKEN")
    return token


def webhook_path(url: str) -> str:
    """Return the path (and query) of URL, which must be a Twilio webhook of this app.

    Raises:
        SimulatorError: URL is on another host, or outside /twilio/.
    """
    base = urlsplit(public_base())
    target = urlsplit(url)
    prefix = base.path.rstrip("/")
    if (target.scheme, target.netloc) != (base.scheme, base.netloc) or target.fragment:
        raise SimulatorError("url")
    path = target.path[len(prefix) :] if target.path.startswith(prefix + "/") else ""
    if not path.startswith("/twilio/") or "/." in path or "//" in path:
        raise SimulatorError("url")
    return path + (f"?{target.query}" if target.query else "")


def post_to_webhook(url: str, method: str, params: dict[str, str]) -> Reply:
    """Send PARAMS to URL exactly as Twilio would, through the app itself.

    The signature is Twilio's: HMAC-SHA1 over the full URL and, for a POST, the sorted
    parameters. A GET carries the parameters in its query string, signed with the URL.

    Args:
        url: the absolute webhook URL (on PUBLIC_BASE_URL, under /twilio/).
        method: "POST" or "GET".
        params: the form parameters.

    Returns:
        The reply: status, content type and body.
    """
    method = "GET" if method.upper() == "GET" else "POST"
    if method == "GET":
        url = url + ("&" if "?" in url else "?") + urlencode(params)
    path = webhook_path(url)
    validator = RequestValidator(signing_token())
    signature = validator.compute_signature(url, params if method == "POST" else {})
    headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
    # A fresh app context: the webhook gets its own database session and `g`, as it
    # would in its own HTTP request, and commits what it stores on its own.
    with current_app.app_context() as context:
        response = context.app.test_client().open(
            path,
            base_url=public_base() + "/",
            method=method,
            data=params if method == "POST" else None,
            headers=headers,
        )
        try:
            body = response.get_data(as_text=True)
        finally:
            response.close()
    return Reply(url, method, params, response.status_code, response.mimetype or "", body)


# --- what the webhooks made -----------------------------------------------------------


def _fresh(statement):
    # Rows written by the webhook's own session: never trust an older copy in ours.
    return db.session.execute(statement.execution_options(populate_existing=True))


def ticket_of(channel: str, provider_id: str) -> Ticket | None:
    """Return the ticket the delivery PROVIDER_ID on CHANNEL made, if any."""
    inbound = (
        _fresh(select(InboundMessage).filter_by(channel=channel, provider_id=provider_id))
        .scalars()
        .first()
    )
    if inbound is None or inbound.ticket_id is None:
        return None
    return _fresh(select(Ticket).filter_by(id=inbound.ticket_id)).scalars().first()


def ticket_json(ticket: Ticket | None) -> dict[str, Any] | None:
    """Return the code of TICKET and the staff page showing it (None without a ticket)."""
    if ticket is None:
        return None
    link = None
    if "staff.ticket" in current_app.view_functions:
        link = route_path("staff.ticket", code=ticket.code)
    return {"code": ticket.code, "url": link}


def inbox(phone: str, limit: int = 30) -> list[dict[str, Any]]:
    """Return the outbox SMS to PHONE, newest first, with their text and status."""
    from hotline.notifications.render import render_message

    rows = (
        _fresh(
            select(OutboxMessage)
            .filter_by(channel="sms", recipient=phone)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    messages = []
    for row in rows:
        try:
            text = render_message(row).text
        except Exception:  # a broken template must not hide the other messages
            log.exception("cannot render outbox message %s", row.id)
            text = ""
        created = to_local(row.created_at)
        messages.append(
            {
                "id": row.id,
                "template": row.template,
                "text": text,
                "status": row.status,
                "created_at": created.strftime("%d/%m/%Y %H:%M:%S") if created else "",
            }
        )
    return messages


def send_call_request(request: TwilioRequest, call_sid: str, caller: str) -> Reply:
    """Add the call's parameters to REQUEST, sign it and send it to the webhook."""
    params = call_params(request.kind, call_sid, caller, request.params)
    return post_to_webhook(request.url, request.method, params)
