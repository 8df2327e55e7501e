"""The Twilio voice IVR: menu, report by field and speech (or a recording), track, operator.

Texts and the key-to-field map come from the province's `ivr.json`. The routes parse
Twilio's requests and answer TwiML; when a call makes a ticket, and with which number, is
decided in `calls`.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.intake.calls import (
    TICKET_CHANNEL,
    Recording,
    call_ended,
    open_call_ticket,
    remember_call,
    ticket_from_recording,
)
from hotline.intake.common import (
    is_answered,
    spoken_digits,
    status_label,
    ticket_by_code,
)
from hotline.intake.ivr import (
    MAX_ATTEMPTS,
    action_url,
    category_menu,
    goodbye,
    ivr_config,
    ivr_text,
    main_menu,
    record_message,
    say,
    say_code,
    speech_step,
    track_prompt,
    twiml_response,
)
from hotline.intake.twilio_auth import twilio_signed
from hotline.models import Ticket
from hotline.notifications.messages import receipt_by_sms
from hotline.sla.cycle import get_calendar
from hotline.tickets.codes import clean_code, is_valid_code
from hotline.timeutil import utcnow

bp = Blueprint("twilio_voice", __name__, url_prefix="/twilio/voice")


def _attempt() -> int:
    try:
        return max(1, int(request.args.get("attempt", "1")))
    except ValueError:
        return 1


def _category_param() -> str | None:
    code = request.args.get("category") or None
    known = {c for c in ivr_config().get("category_keys", {}).values() if c}
    return code if code in known else None


# --- tickets from calls -----------------------------------------------------------------


def _call_sid() -> str:
    """Return the CallSid, the key of the call's one ticket; a request without it is a 400."""
    sid = (request.form.get("CallSid") or "").strip()
    if not sid or len(sid) > 120:
        abort(400, "CallSid is required")
    return sid


def _code_by_sms(ticket: Ticket) -> bool:
    """Whether the caller also gets the code by SMS (a mobile number: see `messages`)."""
    return receipt_by_sms(TICKET_CHANNEL, ticket.phone)


def _posted_recording() -> Recording | None:
    url = (request.form.get("RecordingUrl") or "").strip()
    if not url.startswith(("https://", "http://")):
        return None
    try:
        duration = int(request.form.get("RecordingDuration") or 0)
    except ValueError:
        duration = 0
    return Recording(url, request.form.get("RecordingSid") or "", duration)


def _ticket_from_recording(category: str | None, *, whole_call: bool = False) -> Ticket | None:
    """Attach the posted recording to the call's ticket, creating the ticket if it must."""
    recording = _posted_recording()
    if recording is None:
        return None
    return ticket_from_recording(
        _call_sid(), request.form.get("From"), recording, category, whole_call=whole_call
    )


# --- routes -----------------------------------------------------------------------------


@bp.post("")
@twilio_signed
def incoming() -> Response:
    """An incoming call: keep the call's record (the caller's number), greet, offer the menu."""
    remember_call(_call_sid(), request.form.get("From"), request.form.get("To"))
    return twiml_response(main_menu(_attempt()))


@bp.post("/menu")
@twilio_signed
def menu() -> Response:
    """The caller chose 1 (report), 2 (track) or 0 (operator)."""
    digit = (request.form.get("Digits") or "").strip()
    if digit == "1":
        return twiml_response(category_menu())
    if digit == "2":
        return twiml_response(track_prompt())
    if digit == "0":
        return twiml_response(_operator())
    response = VoiceResponse()
    say(response, ivr_text("invalid_choice"))
    attempt = _attempt()
    if attempt >= MAX_ATTEMPTS:
        return twiml_response(goodbye(response))
    response.redirect(action_url("twilio_voice.incoming", attempt=attempt + 1), method="POST")
    return twiml_response(response)


@bp.post("/report")
@twilio_signed
def report() -> Response:
    """The menu of fields (reached again when the caller pressed nothing)."""
    return twiml_response(category_menu(_attempt()))


@bp.post("/category")
@twilio_signed
def category() -> Response:
    """The caller chose a field by key (9: other)."""
    digit = (request.form.get("Digits") or "").strip()
    keys = ivr_config().get("category_keys", {})
    if digit not in keys:
        attempt = _attempt()
        if attempt >= MAX_ATTEMPTS:
            return twiml_response(goodbye(VoiceResponse()))
        return twiml_response(category_menu(attempt + 1, prefix=ivr_text("invalid_choice")))
    return twiml_response(speech_step(keys[digit]))


@bp.post("/speech")
@twilio_signed
def speech() -> Response:
    """The transcript of what the caller said: the ticket is created, its code read back."""
    _call_sid()
    category_code = _category_param()
    text = (request.form.get("SpeechResult") or "").strip()[:4000]
    if not text:
        response = VoiceResponse()
        record_message(response, category_code, ivr_text("no_speech"))
        return twiml_response(response)
    try:
        confidence = float(request.form.get("Confidence") or 0)
    except ValueError:
        confidence = 0.0
    ticket, _created = open_call_ticket(
        _call_sid(),
        request.form.get("From"),
        text,
        category_code,
        [],
        {"source": "speech", "confidence": confidence},
    )
    response = VoiceResponse()
    say_code(response, ticket.code, by_sms=_code_by_sms(ticket))
    return twiml_response(goodbye(response))


@bp.post("/recorded")
@twilio_signed
def recorded() -> Response:
    """The <Record> verb finished: the recording makes (or completes) the call's ticket."""
    _call_sid()
    ticket = _ticket_from_recording(_category_param())
    response = VoiceResponse()
    if ticket is not None:
        say_code(response, ticket.code, by_sms=_code_by_sms(ticket))
    return twiml_response(goodbye(response))


@bp.post("/recording")
@twilio_signed
def recording() -> tuple[str, int]:
    """Recording status callback (a message, or the whole call when `part=call`)."""
    _call_sid()
    if (request.form.get("RecordingStatus") or "completed") == "completed":
        _ticket_from_recording(_category_param(), whole_call=request.args.get("part") == "call")
    return "", 204


@bp.post("/track")
@twilio_signed
def track() -> Response:
    """The caller keyed a ticket code: say its status (or ask again if the code is wrong)."""
    code = clean_code(request.form.get("Digits"))
    attempt = _attempt()
    if not is_valid_code(code):
        if attempt >= MAX_ATTEMPTS:
            response = VoiceResponse()
            say(response, ivr_text("track_invalid"))
            return twiml_response(goodbye(response))
        return twiml_response(track_prompt(attempt + 1, prefix=ivr_text("track_invalid")))
    ticket = ticket_by_code(code)
    response = VoiceResponse()
    if ticket is None:
        say(response, ivr_text("track_not_found"))
    else:
        say(
            response,
            ivr_text("track_status", code=spoken_digits(code), status=status_label(ticket.status)),
        )
        if is_answered(ticket):
            say(response, ivr_text("track_answer"))
    return twiml_response(goodbye(response))


def _operator() -> VoiceResponse:
    response = VoiceResponse()
    number = current_app.config.get("OPERATOR_NUMBER") or ""
    if number and get_calendar().is_working_time(utcnow()):
        say(response, ivr_text("operator_connect"))
        response.dial(
            number, action=action_url("twilio_voice.dial_done"), method="POST", timeout=30
        )
        return response
    record_message(response, None, ivr_text("operator_closed"))
    return response


@bp.post("/dial-done")
@twilio_signed
def dial_done() -> Response:
    """The operator call ended: if nobody answered, offer to leave a message."""
    status = request.form.get("DialCallStatus") or ""
    response = VoiceResponse()
    if status in ("completed", "answered"):
        response.hangup()
        return twiml_response(response)
    record_message(response, None, ivr_text("operator_busy"))
    return twiml_response(response)


@bp.post("/status")
@twilio_signed
def status() -> tuple[str, int]:
    """Call status callback: keep the call's final status with its record and its ticket."""
    sid = _call_sid()
    try:
        duration = int(request.form.get("CallDuration") or 0)
    except ValueError:
        duration = 0
    call_ended(sid, request.form.get("CallStatus") or "", duration)
    return "", 204
