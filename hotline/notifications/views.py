"""POST /twilio/sms/status: Twilio's delivery receipts for the SMS we sent."""

from __future__ import annotations

from flask import Blueprint, abort, request

from hotline.extensions import csrf, limiter
from hotline.intake.twilio_auth import twilio_signed
from hotline.notifications.sender import record_delivery_status

bp = Blueprint("notifications", __name__)


@bp.post("/twilio/sms/status")
@csrf.exempt
@limiter.exempt
@twilio_signed
def twilio_sms_status():
    """Record MessageStatus for MessageSid; 204 even for an unknown sid (nothing to retry)."""
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "").strip()
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").strip()
    if not sid or not status or len(sid) > 120 or len(status) > 30:
        abort(400)
    record_delivery_status(sid, status.lower(), (request.form.get("ErrorCode") or "")[:20] or None)
    return "", 204
