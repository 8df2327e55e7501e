"""SMS: segment counting, the unaccented option, and the Twilio and carrier-gateway senders."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flask import current_app

from hotline.notifications.errors import PermanentSendError, TransientSendError
from hotline.text import unaccent

log = logging.getLogger(__name__)

# GSM 03.38 basic character set, and the extension table whose characters take two septets.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_GSM7_BASIC_SET = frozenset(GSM7_BASIC)
_GSM7_EXT_SET = frozenset(GSM7_EXTENSION)
# Typographic characters common in typed Vietnamese, and their GSM-7 stand-ins.
_GSM7_LOOKALIKES = str.maketrans(
    {"…": "...", "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "}
)

# Twilio errors that no retry can fix: invalid number, not a mobile, unsubscribed.
TWILIO_PERMANENT_CODES = frozenset({21211, 21614, 21610})


@dataclass(frozen=True)
class SmsSegments:
    """How a text travels: its encoding, its length in units and the number of parts."""

    encoding: str  # "GSM-7" | "UCS-2"
    units: int
    segments: int


def count_segments(text: str) -> SmsSegments:
    """Count the SMS parts TEXT needs.

    GSM-7 fits 160 septets in one part and 153 per part when concatenated (extension
    characters take two septets); anything outside GSM-7 (Vietnamese diacritics) switches the
    whole message to UCS-2: 70 UTF-16 units in one part, 67 per part when concatenated.

    Args:
        text: the message body.

    Returns:
        The encoding, the length in septets or UTF-16 units, and the number of segments.
    """
    if all(ch in _GSM7_BASIC_SET or ch in _GSM7_EXT_SET for ch in text):
        units = sum(2 if ch in _GSM7_EXT_SET else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        return SmsSegments(encoding, 0, 0)
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsSegments(encoding, units, segments)


def sms_text(text: str, strip_diacritics: bool | None = None) -> str:
    """Return the body to send: without diacritics when the province chose so.

    The one encoding of every SMS we send: the outbox's messages (`render`) and the replies
    to an inbound SMS (Twilio's TwiML and the carrier gateway's JSON, in `intake`).
    Vietnamese with diacritics costs UCS-2 segments of 70 characters; unaccented, a text
    fits GSM-7's 160, and anything still outside GSM-7 becomes "?" so that one stray
    character cannot switch the whole message back to UCS-2.

    Args:
        text: the rendered Vietnamese text.
        strip_diacritics: override of the SMS_STRIP_DIACRITICS setting.

    Returns:
        The text, unaccented (đ -> d) if asked, whitespace collapsed.
    """
    if strip_diacritics is None:
        strip_diacritics = bool(current_app.config.get("SMS_STRIP_DIACRITICS"))
    text = " ".join(text.split())
    if not strip_diacritics:
        return text
    # One character outside GSM-7 would turn the whole message into UCS-2 again.
    plain = unaccent(text).translate(_GSM7_LOOKALIKES)
    return "".join(ch if ch in _GSM7_BASIC_SET or ch in _GSM7_EXT_SET else "?" for ch in plain)


class SmsSender(Protocol):
    """A way to send one SMS; returns the provider's message id."""

    def send(
        self,
        to: str,
        body: str,
        reference: str,
        on_handover: Callable[[], None] | None = None,
    ) -> str:
        """Send BODY to TO; REFERENCE is our idempotency key (for providers that dedupe).

        ON_HANDOVER is called right before the provider may take the message (after any
        step that can fail without sending), so the caller can record that moment.
        """
        ...


class TwilioSmsSender:
    """Sends through Twilio's REST API; delivery receipts come to POST /twilio/sms/status."""

    def __init__(
        self, account_sid: str, auth_token: str, from_number: str, status_url: str, http_client=None
    ) -> None:
        from twilio.rest import Client

        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        self.status_url = status_url

    def send(
        self,
        to: str,
        body: str,
        reference: str,
        on_handover: Callable[[], None] | None = None,
    ) -> str:
        """Create the message; permanent Twilio errors raise PermanentSendError."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if on_handover is not None:
            on_handover()
        try:
            message = self.client.messages.create(
                to=to, from_=self.from_number, body=body, status_callback=self.status_url
            )
        except TwilioRestException as exc:
            detail = f"twilio {exc.status} code {exc.code}"
            if exc.code in TWILIO_PERMANENT_CODES:
                raise PermanentSendError(detail) from None
            raise TransientSendError(detail) from None
        except (TwilioException, OSError) as exc:
            raise TransientSendError(f"twilio: {type(exc).__name__}") from None
        return message.sid


class GatewaySmsSender:
    """Sends through the carrier gateway: a JSON POST signed with HMAC-SHA256.

    The body is `{"message_id", "to", "text"}`; the header `X-Hotline-Signature` carries the
    hex HMAC-SHA256 of the raw body with SMS_GATEWAY_SECRET, as on inbound messages. The
    gateway answers 2xx with an optional JSON `{"id": ...}`; 4xx (except 408/429) means the
    message is refused for good, anything else is retried. Its delivery reports come back
    to POST /sms/gateway/status (`hotline.intake.receipts`).
    """

    def __init__(self, url: str, secret: str, timeout: float = 10) -> None:
        self.url = url
        self.secret = secret.encode("utf-8")
        self.timeout = timeout

    def send(
        self,
        to: str,
        body: str,
        reference: str,
        on_handover: Callable[[], None] | None = None,
    ) -> str:
        """POST the message; return the gateway's id (or our reference when it gives none)."""
        raw = json.dumps(
            {"message_id": reference, "to": to, "text": body}, ensure_ascii=False
        ).encode("utf-8")
        signature = hmac.new(self.secret, raw, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url,
            data=raw,
            method="POST",
            headers={"Content-Type": "application/json", "X-Hotline-Signature": signature},
        )
        if on_handover is not None:
            on_handover()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            detail = f"gateway HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise PermanentSendError(detail) from None
            raise TransientSendError(detail) from None
        except (urllib.error.URLError, OSError) as exc:
            raise TransientSendError(f"gateway: {type(exc).__name__}") from None
        try:
            provider_id = json.loads(answer or b"{}").get("id")
        except (ValueError, AttributeError):
            provider_id = None
        return str(provider_id or reference)


def sms_sender() -> SmsSender:
    """Return the sender chosen by SMS_PROVIDER (twilio | gateway)."""
    config = current_app.config
    provider = config.get("SMS_PROVIDER", "twilio")
    if provider == "gateway":
        if not config.get("SMS_GATEWAY_SEND_URL"):
            raise TransientSendError("SMS_GATEWAY_SEND_URL is not set")
        return GatewaySmsSender(config["SMS_GATEWAY_SEND_URL"], config["SMS_GATEWAY_SECRET"] or "")
    if provider != "twilio":
        raise TransientSendError(f"unknown SMS_PROVIDER {provider!r}")
    if not config.get("TWILIO_ACCOUNT_SID") or not config.get("TWILIO_AUTH_TOKEN"):
        raise TransientSendError("Twilio credentials are not set")
    status_url = config["PUBLIC_BASE_URL"].rstrip("/") + "/twilio/sms/status"
    return TwilioSmsSender(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        config.get("TWILIO_NUMBER", ""),
        status_url,
        # Tests put a fake twilio.http.HttpClient here; production uses Twilio's own.
        http_client=current_app.extensions.get("hotline_twilio_http_client"),
    )
