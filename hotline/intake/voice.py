"""The Twilio voice IVR: menu, report by field and speech (or a recording), track, operator.

Texts and the key-to-field map come from the province's `ivr.json`. A ticket is created
once per CallSid (the inbound delivery key), by whichever arrives first: the speech
result, the <Record> action, or the recording status callback; later callbacks only
complete it (recording attached, call status kept).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, Start, VoiceResponse

from hotline.extensions import db
from hotline.intake.common import (
    is_answered,
    public_url,
    spoken_digits,
    status_label,
    ticket_by_code,
)
from hotline.intake.twilio_auth import twilio_signed
from hotline.models import Category, Ticket
from hotline.phones import normalize_phone
from hotline.province import province_json
from hotline.sla.cycle import get_calendar
from hotline.tickets.codes import clean_code, is_valid_code
from hotline.tickets.errors import InvalidInput
from hotline.tickets.services import (
    InboundRecord,
    NewAttachment,
    add_attachments,
    find_inbound,
    open_ticket,
    update_inbound,
)
from hotline.timeutil import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("twilio_voice", __name__, url_prefix="/twilio/voice")

MAX_ATTEMPTS = 3
MIN_RECORDING_SECONDS = 2  # shorter than this is silence or a hang-up, not a report
CHANNEL = "voice"


# --- TwiML helpers ----------------------------------------------------------------------


def _ivr() -> dict[str, Any]:
    return province_json("ivr.json")


def _text(text_id: str, /, **values: Any) -> str:
    text = _ivr().get("texts", {}).get(text_id, "")
    return text.format_map(values) if values else text


def _say(parent: VoiceResponse | Gather, text: str) -> None:
    ivr = _ivr()
    parent.say(text, language=ivr.get("language", "vi-VN"), voice=ivr.get("voice"))


def _url(endpoint: str, **params: Any) -> str:
    return public_url(url_for(endpoint, **{k: v for k, v in params.items() if v}))


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _attempt() -> int:
    try:
        return max(1, int(request.args.get("attempt", "1")))
    except ValueError:
        return 1


def _category_param() -> str | None:
    code = request.args.get("category") or None
    known = {c for c in _ivr().get("category_keys", {}).values() if c}
    return code if code in known else None


def _goodbye(response: VoiceResponse) -> VoiceResponse:
    _say(response, _text("goodbye"))
    response.hangup()
    return response


def _say_code(response: VoiceResponse, code: str) -> None:
    _say(response, _text("received"))
    _say(response, spoken_digits(code))
    _say(response, _text("repeat_code"))
    _say(response, spoken_digits(code))


def _record(response: VoiceResponse, category: str | None, prompt: str) -> None:
    _say(response, prompt)
    response.record(
        action=_url("twilio_voice.recorded", category=category),
        method="POST",
        recording_status_callback=_url("twilio_voice.recording", category=category),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        max_length=180,
        timeout=6,
        finish_on_key="#",
        play_beep=True,
    )
    _goodbye(response)


def main_menu(attempt: int = 1) -> VoiceResponse:
    """Return the greeting and the 1/2/0 menu."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=6,
        action=_url("twilio_voice.menu", attempt=attempt),
        method="POST",
    )
    if attempt == 1:
        _say(gather, _text("welcome"))
    _say(gather, _text("main_menu"))
    response.append(gather)
    _say(response, _text("no_input"))
    if attempt < MAX_ATTEMPTS:
        response.redirect(_url("twilio_voice.incoming", attempt=attempt + 1), method="POST")
    else:
        _goodbye(response)
    return response


def category_menu(attempt: int = 1, prefix: str = "") -> VoiceResponse:
    """Return the menu of fields, one key each, 9 for anything else."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=6,
        action=_url("twilio_voice.category", attempt=attempt),
        method="POST",
    )
    if prefix:
        _say(gather, prefix)
    _say(gather, _text("category_menu"))
    keys = _ivr().get("category_keys", {})
    wanted = [code for code in keys.values() if code]
    names = dict(
        db.session.execute(
            select(Category.code, Category.name_vi).where(
                Category.code.in_(wanted), Category.active.is_(True)
            )
        ).all()
    )
    for key, code in sorted(keys.items()):
        if code and code in names:
            _say(gather, _text("category_option", name=names[code], key=key))
    _say(gather, _text("category_other"))
    response.append(gather)
    _say(response, _text("no_input"))
    if attempt < MAX_ATTEMPTS:
        response.redirect(_url("twilio_voice.report", attempt=attempt + 1), method="POST")
    else:
        _goodbye(response)
    return response


def speech_step(category: str | None) -> VoiceResponse:
    """Return the step where the caller speaks: transcript by <Gather>, voice by recording."""
    response = VoiceResponse()
    # Keep the caller's voice too: <Gather> gives text only, and Vietnamese speech
    # recognition can be wrong; the recording reaches us by its status callback.
    start = Start()
    start.recording(
        recording_status_callback=_url("twilio_voice.recording", category=category),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        track="inbound",
    )
    response.append(start)
    gather = Gather(
        input="speech",
        language=_ivr().get("language", "vi-VN"),
        speech_timeout="auto",
        timeout=8,
        action=_url("twilio_voice.speech", category=category),
        method="POST",
    )
    _say(gather, _text("speak_prompt"))
    response.append(gather)
    _record(response, category, _text("no_speech"))
    return response


def track_prompt(attempt: int = 1, prefix: str = "") -> VoiceResponse:
    """Return the prompt for a 10-digit ticket code."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=10,
        timeout=10,
        finish_on_key="#",
        action=_url("twilio_voice.track", attempt=attempt),
        method="POST",
    )
    if prefix:
        _say(gather, prefix)
    _say(gather, _text("track_prompt"))
    response.append(gather)
    _say(response, _text("no_input"))
    return _goodbye(response)


# --- tickets from calls -----------------------------------------------------------------


def _call_sid() -> str:
    """Return the CallSid, the key of the call's one ticket; a request without it is a 400."""
    sid = (request.form.get("CallSid") or "").strip()
    if not sid or len(sid) > 120:
        abort(400, "CallSid is required")
    return sid


def _caller() -> str | None:
    return normalize_phone(request.form.get("From"))


def _open_call_ticket(
    description: str,
    category: str | None,
    attachments: list[NewAttachment],
    data: dict[str, Any],
) -> Ticket:
    inbound = InboundRecord(CHANNEL, _call_sid(), data={**data, "category": category})
    try:
        ticket, _created = open_ticket(
            channel=CHANNEL,
            description=description,
            category_code=category,
            phone=_caller(),
            inbound=inbound,
            attachments=attachments,
        )
    except InvalidInput:
        # The field was deactivated since the menu was read: keep the report, route by text.
        ticket, _created = open_ticket(
            channel=CHANNEL,
            description=description,
            phone=_caller(),
            inbound=inbound,
            attachments=attachments,
        )
    return ticket


def _ticket_from_recording(category: str | None) -> Ticket | None:
    """Attach the posted recording to the call's ticket, creating the ticket if needed."""
    url = (request.form.get("RecordingUrl") or "").strip()
    if not url.startswith(("https://", "http://")):
        return None
    try:
        duration = int(request.form.get("RecordingDuration") or 0)
    except ValueError:
        duration = 0
    recording = NewAttachment(
        "recording",
        source_url=url[:1000],
        content_type="audio/wav",
        data={
            "recording_sid": (request.form.get("RecordingSid") or "")[:64],
            "duration": duration,
        },
    )
    seen = find_inbound(CHANNEL, _call_sid())
    if seen is not None and seen.ticket is not None:
        add_attachments(seen.ticket.id, [recording])
        return seen.ticket
    if duration < MIN_RECORDING_SECONDS:
        return None
    description = _("Phản ánh qua điện thoại: nội dung trong bản ghi âm kèm theo.")
    return _open_call_ticket(description, category, [recording], {"source": "recording"})


# --- routes -----------------------------------------------------------------------------


@bp.post("")
@twilio_signed
def incoming() -> Response:
    """An incoming call: greet and offer the menu."""
    return _twiml(main_menu(_attempt()))


@bp.post("/menu")
@twilio_signed
def menu() -> Response:
    """The caller chose 1 (report), 2 (track) or 0 (operator)."""
    digit = (request.form.get("Digits") or "").strip()
    if digit == "1":
        return _twiml(category_menu())
    if digit == "2":
        return _twiml(track_prompt())
    if digit == "0":
        return _twiml(_operator())
    response = VoiceResponse()
    _say(response, _text("invalid_choice"))
    attempt = _attempt()
    if attempt >= MAX_ATTEMPTS:
        return _twiml(_goodbye(response))
    response.redirect(_url("twilio_voice.incoming", attempt=attempt + 1), method="POST")
    return _twiml(response)


@bp.post("/report")
@twilio_signed
def report() -> Response:
    """The menu of fields (reached again when the caller pressed nothing)."""
    return _twiml(category_menu(_attempt()))


@bp.post("/category")
@twilio_signed
def category() -> Response:
    """The caller chose a field by key (9: other)."""
    digit = (request.form.get("Digits") or "").strip()
    keys = _ivr().get("category_keys", {})
    if digit not in keys:
        attempt = _attempt()
        if attempt >= MAX_ATTEMPTS:
            return _twiml(_goodbye(VoiceResponse()))
        return _twiml(category_menu(attempt + 1, prefix=_text("invalid_choice")))
    return _twiml(speech_step(keys[digit]))


@bp.post("/speech")
@twilio_signed
def speech() -> Response:
    """The transcript of what the caller said: the ticket is created, its code read back."""
    _call_sid()
    category_code = _category_param()
    text = (request.form.get("SpeechResult") or "").strip()[:4000]
    if not text:
        response = VoiceResponse()
        _record(response, category_code, _text("no_speech"))
        return _twiml(response)
    try:
        confidence = float(request.form.get("Confidence") or 0)
    except ValueError:
        confidence = 0.0
    ticket = _open_call_ticket(
        text, category_code, [], {"source": "speech", "confidence": confidence}
    )
    response = VoiceResponse()
    _say_code(response, ticket.code)
    return _twiml(_goodbye(response))


@bp.post("/recorded")
@twilio_signed
def recorded() -> Response:
    """The <Record> verb finished: the recording makes (or completes) the call's ticket."""
    _call_sid()
    ticket = _ticket_from_recording(_category_param())
    response = VoiceResponse()
    if ticket is not None:
        _say_code(response, ticket.code)
    return _twiml(_goodbye(response))


@bp.post("/recording")
@twilio_signed
def recording() -> tuple[str, int]:
    """Recording status callback: attach the recording, even if the caller hung up."""
    _call_sid()
    if (request.form.get("RecordingStatus") or "completed") == "completed":
        _ticket_from_recording(_category_param())
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
            _say(response, _text("track_invalid"))
            return _twiml(_goodbye(response))
        return _twiml(track_prompt(attempt + 1, prefix=_text("track_invalid")))
    ticket = ticket_by_code(code)
    response = VoiceResponse()
    if ticket is None:
        _say(response, _text("track_not_found"))
    else:
        _say(
            response,
            _text("track_status", code=spoken_digits(code), status=status_label(ticket.status)),
        )
        if is_answered(ticket):
            _say(response, _text("track_answer"))
    return _twiml(_goodbye(response))


def _operator() -> VoiceResponse:
    response = VoiceResponse()
    number = current_app.config.get("OPERATOR_NUMBER") or ""
    if number and get_calendar().is_working_time(utcnow()):
        _say(response, _text("operator_connect"))
        response.dial(number, action=_url("twilio_voice.dial_done"), method="POST", timeout=30)
        return response
    _record(response, None, _text("operator_closed"))
    return response


@bp.post("/dial-done")
@twilio_signed
def dial_done() -> Response:
    """The operator call ended: if nobody answered, offer to leave a message."""
    status = request.form.get("DialCallStatus") or ""
    response = VoiceResponse()
    if status in ("completed", "answered"):
        response.hangup()
        return _twiml(response)
    _record(response, None, _text("operator_busy"))
    return _twiml(response)


@bp.post("/status")
@twilio_signed
def status() -> tuple[str, int]:
    """Call status callback: keep the call's final status with its ticket, if it made one."""
    sid = _call_sid()
    try:
        duration = int(request.form.get("CallDuration") or 0)
    except ValueError:
        duration = 0
    update_inbound(
        CHANNEL,
        sid,
        {"call_status": (request.form.get("CallStatus") or "")[:20], "duration": duration},
    )
    return "", 204
