"""Delivery receipts for the SMS we sent: Twilio's status callback and the carrier gateway's.

Inbound provider webhooks, so they live with the other webhooks in intake (which verifies
the providers' signatures); the outbox records the status (`notifications.sender`), and
notifications never imports intake.

- `POST /twilio/sms/status`: Twilio's form (MessageSid, MessageStatus, ErrorCode), signed.
- `POST /sms/gateway/status`: JSON `{"id", "message_id", "status", "error_code"}`, signed
  like every gateway request (`X-Hotline-Signature`, HMAC-SHA256 of the raw body with
  SMS_GATEWAY_SECRET). `id` is the gateway's id of the message (what it answered when it took
  it), `message_id` ours (what we sent it as `message_id`); one of the two is needed.
  `status` is `delivered`, `undelivered` or `failed`, or an SMPP delivery report's state
  (DELIVRD, UNDELIV, EXPIRED, DELETED, REJECTD are final; ACCEPTD, ENROUTE, UNKNOWN are
  not), in any case.

Both answer 204 for a message we do not know: a receipt is never worth a provider's retry.
Like every provider webhook they are exempt from CSRF and rate limits (`register_intake`).
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, jsonify, request

from hotline.intake.gateway import signature_ok
from hotline.intake.twilio_auth import twilio_signed
from hotline.notifications.sender import record_delivery_status

log = logging.getLogger(__name__)
bp = Blueprint("delivery_receipts", __name__)

# A gateway's statuses, ours and SMPP's, as the outbox records them (None: not final).
GATEWAY_STATUSES: dict[str, str | None] = {
    "delivered": "delivered",
    "delivrd": "delivered",
    "undelivered": "undelivered",
    "undeliv": "undelivered",
    "expired": "undelivered",
    "deleted": "undelivered",
    "rejectd": "undelivered",
    "rejected": "undelivered",
    "failed": "failed",
    "queued": None,
    "sent": None,
    "acceptd": None,
    "accepted": None,
    "enroute": None,
    "unknown": None,
}


@bp.post("/twilio/sms/status")
@twilio_signed
def twilio_sms_status():
    """Record MessageStatus for MessageSid; 204 even for an unknown sid (nothing to retry)."""
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "").strip()
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").strip()
    if not sid or not status or len(sid) > 120 or len(status) > 30:
        abort(400)
    record_delivery_status(sid, status.lower(), (request.form.get("ErrorCode") or "")[:20] or None)
    return "", 204


def _receipt_errors(payload: object) -> dict[str, list[str]]:
    if not isinstance(payload, dict):
        return {"_schema": ["the body must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    for name, limit in (("id", 120), ("message_id", 200), ("status", 30), ("error_code", 20)):
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = ["must be a string"]
        elif len(value) > limit:
            errors[name] = [f"is longer than {limit} characters"]
    if "status" not in errors:
        status = (payload.get("status") or "").strip().lower()
        if not status:
            errors["status"] = ["is required"]
        elif status not in GATEWAY_STATUSES:
            errors["status"] = [f"must be one of: {', '.join(sorted(GATEWAY_STATUSES))}"]
    if not errors.keys() & {"id", "message_id"} and not (
        (payload.get("id") or "").strip() or (payload.get("message_id") or "").strip()
    ):
        errors["id"] = ["id or message_id is required"]
    return errors


@bp.post("/sms/gateway/status")
def gateway_sms_status():
    """Record the carrier gateway's delivery report; 204 even for an unknown message."""
    body = request.get_data(cache=True)
    if not signature_ok(body):
        log.warning("refused an SMS gateway receipt with a bad or missing signature")
        return jsonify(errors={"signature": ["invalid or missing X-Hotline-Signature"]}), 403
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return jsonify(errors={"_schema": ["the body must be UTF-8 JSON"]}), 400
    errors = _receipt_errors(payload)
    if errors:
        return jsonify(errors=errors), 400
    status = GATEWAY_STATUSES[payload["status"].strip().lower()]
    if status is not None:
        record_delivery_status(
            (payload.get("id") or "").strip(),
            status,
            (payload.get("error_code") or "").strip() or None,
            reference=(payload.get("message_id") or "").strip() or None,
        )
    return "", 204
