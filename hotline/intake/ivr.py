"""The IVR's TwiML: texts and field keys from the province's `ivr.json`, menus and prompts.

Every action URL is absolute, on PUBLIC_BASE_URL: that is the URL Twilio then signs.
"""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from sqlalchemy import select
from twilio.twiml.voice_response import Gather, Start, VoiceResponse

from hotline.extensions import db
from hotline.intake.common import public_url, spoken_digits
from hotline.models import Category
from hotline.province import province_json

MAX_ATTEMPTS = 3


def ivr_config() -> dict[str, Any]:
    """Return the province's IVR configuration."""
    return province_json("ivr.json")


def ivr_text(text_id: str, /, **values: Any) -> str:
    """Return the IVR text TEXT_ID with VALUES filled in."""
    text = ivr_config().get("texts", {}).get(text_id, "")
    return text.format_map(values) if values else text


def say(parent: VoiceResponse | Gather, text: str) -> None:
    """Append a <Say> in the province's language and voice."""
    ivr = ivr_config()
    parent.say(text, language=ivr.get("language", "vi-VN"), voice=ivr.get("voice"))


def action_url(endpoint: str, **params: Any) -> str:
    """Return the absolute URL of ENDPOINT with PARAMS (empty ones left out)."""
    return public_url(url_for(endpoint, **{k: v for k, v in params.items() if v}))


def twiml_response(response: VoiceResponse) -> Response:
    """Return RESPONSE as a text/xml answer."""
    return Response(str(response), mimetype="text/xml")


def goodbye(response: VoiceResponse) -> VoiceResponse:
    """Say goodbye and hang up."""
    say(response, ivr_text("goodbye"))
    response.hangup()
    return response


def say_code(response: VoiceResponse, code: str, *, by_sms: bool = False) -> None:
    """Read CODE digit by digit, twice; say it also comes by SMS when BY_SMS."""
    say(response, ivr_text("received"))
    say(response, spoken_digits(code))
    say(response, ivr_text("repeat_code"))
    say(response, spoken_digits(code))
    if by_sms:
        say(response, ivr_text("code_sms"))


def record_message(response: VoiceResponse, category: str | None, prompt: str) -> None:
    """Ask for a message and <Record> it; the recording completes the call's ticket."""
    say(response, prompt)
    response.record(
        action=action_url("twilio_voice.recorded", category=category),
        method="POST",
        recording_status_callback=action_url("twilio_voice.recording", category=category),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        max_length=180,
        timeout=6,
        finish_on_key="#",
        play_beep=True,
    )
    goodbye(response)


def main_menu(attempt: int = 1) -> VoiceResponse:
    """Return the greeting and the 1/2/0 menu."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=6,
        action=action_url("twilio_voice.menu", attempt=attempt),
        method="POST",
    )
    if attempt == 1:
        say(gather, ivr_text("welcome"))
    say(gather, ivr_text("main_menu"))
    response.append(gather)
    say(response, ivr_text("no_input"))
    if attempt < MAX_ATTEMPTS:
        response.redirect(action_url("twilio_voice.incoming", attempt=attempt + 1), method="POST")
    else:
        goodbye(response)
    return response


def category_menu(attempt: int = 1, prefix: str = "") -> VoiceResponse:
    """Return the menu of fields, one key each, 9 for anything else."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=6,
        action=action_url("twilio_voice.category", attempt=attempt),
        method="POST",
    )
    if prefix:
        say(gather, prefix)
    say(gather, ivr_text("category_menu"))
    keys = ivr_config().get("category_keys", {})
    wanted = [code for code in keys.values() if code]
    names = dict(
        db.session.execute(
            select(Category.code, Category.name_vi).where(
                Category.code.in_(wanted), Category.active.is_(True)
            )
        )
        .tuples()
        .all()
    )
    for key, code in sorted(keys.items()):
        if code and code in names:
            say(gather, ivr_text("category_option", name=names[code], key=key))
    say(gather, ivr_text("category_other"))
    response.append(gather)
    say(response, ivr_text("no_input"))
    if attempt < MAX_ATTEMPTS:
        response.redirect(action_url("twilio_voice.report", attempt=attempt + 1), method="POST")
    else:
        goodbye(response)
    return response


def speech_step(category: str | None) -> VoiceResponse:
    """Return the step where the caller speaks: transcript by <Gather>, voice by recording."""
    response = VoiceResponse()
    # Keep the caller's voice too: <Gather> gives text only, and Vietnamese speech
    # recognition can be wrong; the recording reaches us by its status callback.
    start = Start()
    start.recording(
        recording_status_callback=action_url(
            "twilio_voice.recording", category=category, part="call"
        ),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        track="inbound",
    )
    response.append(start)
    gather = Gather(
        input="speech",
        language=ivr_config().get("language", "vi-VN"),
        speech_timeout="auto",
        timeout=8,
        action=action_url("twilio_voice.speech", category=category),
        method="POST",
    )
    say(gather, ivr_text("speak_prompt"))
    response.append(gather)
    record_message(response, category, ivr_text("no_speech"))
    return response


def track_prompt(attempt: int = 1, prefix: str = "") -> VoiceResponse:
    """Return the prompt for a 10-digit ticket code."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=10,
        timeout=10,
        finish_on_key="#",
        action=action_url("twilio_voice.track", attempt=attempt),
        method="POST",
    )
    if prefix:
        say(gather, prefix)
    say(gather, ivr_text("track_prompt"))
    response.append(gather)
    say(response, ivr_text("no_input"))
    return goodbye(response)
