"""The carriers' SMS gateway: signed JSON in, JSON reply out (Twilio has no two-way SMS in VN).

Request: `{"message_id", "from", "to", "text", "received_at"}`, with
`X-Hotline-Signature: <hex HMAC-SHA256 of the raw body with SMS_GATEWAY_SECRET>`
(a "sha256=" prefix is accepted). Answer: `{"reply": "..."}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from hotline.intake.sms import MAX_TEXT, SmsDelivery, handle_sms
from hotline.notifications.sms import sms_text

log = logging.getLogger(__name__)
bp = Blueprint("sms_gateway", __name__)

SIGNATURE_HEADER = "X-Hotline-Signature"


def sign(body: bytes, secret: str) -> str:
    """Return the hex HMAC-SHA256 of BODY with SECRET (what the gateway sends)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes) -> bool:
    """Whether BODY comes with a valid X-Hotline-Signature (HMAC-SHA256, SMS_GATEWAY_SECRET)."""
    secret = current_app.config.get("SMS_GATEWAY_SECRET") or ""
    given = request.headers.get(SIGNATURE_HEADER, "").strip()
    if given.lower().startswith("sha256="):
        given = given[7:]
    if not secret or not given:
        return False
    return hmac.compare_digest(sign(body, secret), given.lower())


def _errors(errors: dict[str, list[str]], status: int = 400):
    return jsonify(errors=errors), status


def _check_fields(payload: object) -> dict[str, list[str]]:
    if not isinstance(payload, dict):
        return {"_schema": ["the body must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    for name, required, limit in (
        ("message_id", True, 120),
        ("from", True, 40),
        ("to", False, 40),
        ("text", True, MAX_TEXT),
        ("received_at", False, 40),
    ):
        value = payload.get(name)
        if value is None:
            if required:
                errors[name] = ["is required"]
        elif not isinstance(value, str):
            errors[name] = ["must be a string"]
        elif len(value) > limit:
            errors[name] = [f"is longer than {limit} characters"]
        elif name in ("message_id", "from") and not value.strip():
            errors[name] = ["must not be empty"]
    received = payload.get("received_at")
    if isinstance(received, str) and "received_at" not in errors and received:
        try:
            datetime.fromisoformat(received)
        except ValueError:
            errors["received_at"] = ["must be an ISO 8601 date-time"]
    return errors


@bp.post("/sms/gateway")
def gateway_sms():
    """Take a message forwarded by a carrier's gateway and answer with the reply to send."""
    body = request.get_data(cache=True)
    if not signature_ok(body):
        log.warning("refused an SMS gateway request with a bad or missing signature")
        return _errors({"signature": ["invalid or missing X-Hotline-Signature"]}, 403)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _errors({"_schema": ["the body must be UTF-8 JSON"]})
    errors = _check_fields(payload)
    if errors:
        return _errors(errors)
    delivery = SmsDelivery(
        source="sms-gateway",
        provider_id=payload["message_id"].strip(),
        sender=payload["from"],
        text=payload["text"],
        data={
            "to": payload.get("to") or "",
            "received_at": payload.get("received_at") or "",
            "provider": "gateway",
        },
    )
    return jsonify(reply=sms_text(handle_sms(delivery)))
