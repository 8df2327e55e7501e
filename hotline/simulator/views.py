"""/simulator: the phone on the screen, and the JSON endpoints its script talks to.

The browser never holds the auth token: it sends what the caller did (the request the
TwiML state machine chose), and the server adds the call's parameters, signs and posts.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _

from hotline.auth.access import roles_required
from hotline.extensions import csrf
from hotline.simulator import bp, simulator_enabled
from hotline.simulator.calls import simulate_sms
from hotline.simulator.client import (
    SimulatorError,
    account_sid,
    caller_number,
    check_sid,
    hotline_number,
    inbox,
    send_call_request,
    ticket_json,
    ticket_of,
    webhook_urls,
)
from hotline.simulator.twiml import CALL, TwilioRequest

DEFAULT_PHONE = "0912345678"


@bp.before_request
def _only_when_enabled() -> None:
    # Absent, not forbidden: a production site without the simulator shows nothing here,
    # so the CSRF check (the blueprint is exempt from the global one) comes after this.
    if not simulator_enabled():
        abort(404)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _bad_request(error: SimulatorError) -> tuple[Any, int]:
    name = str(error)
    if name == "TWILIO_AUTH_TOKEN":
        message = _("Chưa cấu hình TWILIO_AUTH_TOKEN nên không ký được yêu cầu.")
    elif name == "From":
        message = _("Số điện thoại mô phỏng không hợp lệ.")
    elif name == "url":
        message = _("Chỉ được gửi tới các địa chỉ webhook Twilio của hệ thống.")
    else:
        message = _("Yêu cầu mô phỏng không hợp lệ (%(field)s).", field=name)
    return jsonify(error=message, field=name), 400


def _json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise SimulatorError("json")
    return data


def _object(data: dict[str, Any], name: str) -> dict[str, Any]:
    """DATA's member NAME when it is a JSON object, else an empty one."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _text(data: dict[str, Any], name: str, limit: int = 4000) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise SimulatorError(name)
    return value


@bp.get("")
@roles_required("admin")
def index():
    """The simulated phone: call 1022, send an SMS, read the SMS the hotline sends back."""
    urls = webhook_urls()
    return render_template(
        "simulator/index.html",
        default_phone=DEFAULT_PHONE,
        hotline_number=hotline_number(),
        account_sid=account_sid(),
        voice_url=urls["voice"],
        status_url=urls["status"],
        sms_url=urls["sms"],
    )


@bp.post("/api/call")
@roles_required("admin")
def api_call():
    """Post one step of a simulated call to its webhook; return the request and the TwiML.

    JSON in: {"call": {"sid": "CA...", "from": "0912345678"},
    "request": {"url", "method", "kind", "params"}}.
    """
    try:
        data = _json_body()
        call = _object(data, "call")
        step = _object(data, "request")
        sid = check_sid(_text(call, "sid", 40), "CA")
        phone = caller_number(_text(call, "from", 40))
        params = step.get("params") or {}
        if not isinstance(params, dict):
            raise SimulatorError("params")
        twilio_request = TwilioRequest(
            url=_text(step, "url", 2000),
            method=_text(step, "method", 10) or "POST",
            kind=_text(step, "kind", 20) or CALL,
            params=params,
        )
        reply = send_call_request(twilio_request, sid, phone)
    except SimulatorError as error:
        return _bad_request(error)
    return jsonify(reply=reply.as_json(), ticket=ticket_json(ticket_of("voice", sid)))


@bp.post("/api/sms")
@roles_required("admin")
def api_sms():
    """Text the hotline from the simulated phone; return the webhook's reply."""
    try:
        data = _json_body()
        result = simulate_sms(_text(data, "from", 40), _text(data, "body", 1600))
    except SimulatorError as error:
        return _bad_request(error)
    return jsonify(
        reply=result.reply.as_json(),
        messages=result.texts,
        ticket=ticket_json(result.ticket),
    )


@bp.get("/api/inbox")
@roles_required("admin")
def api_inbox():
    """The SMS the hotline queued for the simulated number (its outbox rows), newest first."""
    try:
        phone = caller_number(request.args.get("from", ""))
    except SimulatorError as error:
        return _bad_request(error)
    return jsonify(phone=phone, messages=inbox(phone))
