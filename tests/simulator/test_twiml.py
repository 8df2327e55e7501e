"""Tests of the TwiML state machine: the next request Twilio would make, verb by verb."""

from __future__ import annotations

import pytest

from hotline.simulator.call_engine import CallEngine
from hotline.simulator.twiml import (
    TwimlError,
    message_texts,
    parse,
    recording_url,
    resolve_url,
)

BASE = "https://hotline.test/twilio/voice"
ACCOUNT = "AC" + "1" * 32


def engine_at(document: str, url: str = BASE + "/menu?attempt=1") -> tuple[CallEngine, object]:
    """Return an engine that has loaded DOCUMENT from URL, and the step it stopped at."""
    engine = CallEngine(BASE, BASE + "/status", account_sid=ACCOUNT)
    return engine, engine.load(url, document)


def says(step) -> list[str]:
    """Return the <Say> texts a step made heard."""
    return [e.text for e in step.events if e.kind == "say"]


GATHER_ONE = (
    '<Response><Gather input="dtmf" numDigits="1" timeout="6" action="/twilio/voice/menu" '
    'method="POST"><Say language="vi-VN">Bấm phím 1</Say></Gather>'
    '<Say>Quý vị chưa bấm phím nào.</Say><Redirect method="POST">/twilio/voice?attempt=2'
    "</Redirect><Say>never</Say></Response>"
)


def test_start_asks_the_voice_url_while_ringing():
    """Test that a call starts with a POST to the voice URL with CallStatus=ringing."""
    step = CallEngine(BASE, account_sid=ACCOUNT).start()
    (request,) = step.requests
    assert (request.url, request.method, request.kind, request.follow) == (
        BASE,
        "POST",
        "call",
        True,
    )
    assert request.params == {"CallStatus": "ringing"}


def test_gather_plays_nested_says_then_waits():
    """Test that the nested <Say> is heard and the engine waits at the <Gather>."""
    engine, step = engine_at(GATHER_ONE)
    assert says(step) == ["Bấm phím 1"]
    assert step.waiting.name == "Gather" and not step.requests and not step.ended


def test_num_digits_reached_posts_digits_to_the_action():
    """Test that the numDigits-th key posts Digits to the action URL at once."""
    engine, _ = engine_at(GATHER_ONE)
    step = engine.press("1")
    (request,) = step.requests
    assert request.url == "https://hotline.test/twilio/voice/menu"
    assert request.params == {"Digits": "1", "FinishedOnKey": "", "CallStatus": "in-progress"}
    assert request.follow


def test_timeout_without_keys_falls_through_to_the_next_verbs():
    """Test that silence runs the verbs after <Gather>, up to <Redirect>, and no further."""
    engine, _ = engine_at(GATHER_ONE)
    step = engine.timeout()
    assert says(step) == ["Quý vị chưa bấm phím nào."]
    (request,) = step.requests
    assert request.url == "https://hotline.test/twilio/voice?attempt=2"
    assert request.params == {"CallStatus": "in-progress"}
    assert "never" not in says(step)


def test_finish_on_key_submits_digits_without_the_key():
    """Test that # ends a long entry: the digits go, the key is not among them."""
    engine, _ = engine_at(
        '<Response><Gather numDigits="10" finishOnKey="#" action="track"/></Response>'
    )
    engine.press("2")
    engine.press("6")
    step = engine.press("#")
    (request,) = step.requests
    assert request.params["Digits"] == "26"
    assert request.params["FinishedOnKey"] == "#"
    # A relative action is resolved against the document's URL.
    assert request.url == BASE + "/track"


def test_finish_on_key_alone_is_sent_as_the_digit():
    """Test that a caller pressing only the finish key posts that key as Digits."""
    engine, _ = engine_at('<Response><Gather numDigits="10"/></Response>')
    assert engine.press("#").requests[0].params["Digits"] == "#"


def test_empty_finish_on_key_means_no_key_ends_the_entry():
    """Test that finishOnKey="" makes # an ordinary digit, sent after the timeout."""
    engine, _ = engine_at('<Response><Gather finishOnKey=""/></Response>')
    assert engine.press("#").requests == []
    step = engine.timeout()
    assert step.requests[0].params["Digits"] == "#"


def test_timeout_after_some_keys_posts_them():
    """Test that the inter-digit timeout submits what was typed so far."""
    engine, _ = engine_at('<Response><Gather numDigits="10"/><Say>x</Say></Response>')
    engine.press("4")
    step = engine.timeout()
    assert step.requests[0].params["Digits"] == "4"
    assert says(step) == []


def test_gather_without_action_posts_to_the_current_document():
    """Test that the default action is the document's own URL, query string included."""
    url = BASE + "/report?attempt=2"
    engine, _ = engine_at("<Response><Gather/></Response>", url)
    assert engine.press("1").requests == []  # no numDigits: wait for more
    assert engine.press("#").requests[0].url == url


def test_action_on_empty_result_posts_without_digits():
    """Test that actionOnEmptyResult="true" posts to the action even after silence."""
    engine, _ = engine_at(
        '<Response><Gather actionOnEmptyResult="true" action="next"/><Say>x</Say></Response>'
    )
    (request,) = engine.timeout().requests
    assert request.url == BASE + "/next"
    assert "Digits" not in request.params


def test_speech_posts_the_transcript_and_a_confidence():
    """Test that speech to a speech <Gather> posts SpeechResult and Confidence."""
    engine, _ = engine_at(
        '<Response><Gather input="speech" action="speech?category=giao-thong">'
        "<Say>Nói đi</Say></Gather></Response>"
    )
    assert engine.press("1").requests == []  # keys do nothing at a speech-only prompt
    (request,) = engine.speak("Đường có ổ gà").requests
    assert request.url == BASE + "/speech?category=giao-thong"
    assert request.params["SpeechResult"] == "Đường có ổ gà"
    assert request.params["Confidence"] == "0.9"


def test_blank_speech_is_silence():
    """Test that saying nothing is a timeout: the verbs after <Gather> run."""
    engine, _ = engine_at(
        '<Response><Gather input="speech"/><Say>Chưa nghe rõ</Say><Hangup/></Response>'
    )
    step = engine.speak("   ")
    assert says(step) == ["Chưa nghe rõ"]
    assert step.ended


RECORD = (
    '<Response><Say>Sau tiếng bíp</Say><Record action="recorded?category=dien" '
    'recordingStatusCallback="recording?category=dien" maxLength="180" finishOnKey="#"/>'
    "<Say>Tạm biệt</Say><Hangup/></Response>"
)


def test_record_posts_the_recording_to_action_and_status_callback():
    """Test that a recording goes to the action (followed) and the status callback (not)."""
    engine, step = engine_at(RECORD)
    assert [e.kind for e in step.events] == ["say", "beep"]
    action, callback = engine.record(12, "#").requests
    assert action.url == BASE + "/recorded?category=dien" and action.follow
    sid = action.params["RecordingSid"]
    assert action.params == {
        "RecordingUrl": recording_url(ACCOUNT, sid),
        "RecordingSid": sid,
        "RecordingDuration": "12",
        "Digits": "#",
        "CallStatus": "in-progress",
    }
    assert callback.url == BASE + "/recording?category=dien"
    assert callback.kind == "recording" and not callback.follow
    assert callback.params["RecordingStatus"] == "completed"
    assert callback.params["RecordingSource"] == "RecordVerb"


def test_record_is_capped_at_max_length():
    """Test that a recording never lasts longer than maxLength."""
    engine, _ = engine_at(RECORD)
    assert engine.record(500).requests[0].params["RecordingDuration"] == "180"


def test_silent_record_calls_nothing_and_goes_on():
    """Test that an empty recording makes no request: the next verb is played."""
    engine, _ = engine_at(RECORD)
    step = engine.timeout()
    assert says(step) == ["Tạm biệt"]
    assert [r.kind for r in step.requests] == ["status"]
    assert step.ended


def test_hanging_up_during_a_record_posts_it_with_digits_hangup():
    """Test that hanging up mid-recording still posts it, with Digits=hangup, unfollowed."""
    engine, _ = engine_at(RECORD)
    step = engine.hang_up(recorded_seconds=7)
    action, callback, status = step.requests
    assert action.params["Digits"] == "hangup" and not action.follow
    assert action.params["CallStatus"] == "completed"
    assert callback.kind == "recording"
    assert status.kind == "status" and status.params["CallStatus"] == "completed"
    assert step.ended


def test_end_of_call_sends_background_recording_and_call_status():
    """Test that <Start><Recording> reports when the call ends, then the call status."""
    engine, step = engine_at(
        '<Response><Start><Recording recordingStatusCallback="/twilio/voice/recording" '
        'recordingStatusCallbackMethod="POST" track="inbound"/></Start>'
        "<Say>Xin chào</Say></Response>"
    )
    assert step.ended
    recording, status = step.requests
    assert recording.url == "https://hotline.test/twilio/voice/recording"
    assert recording.params["RecordingSource"] == "StartCallRecordingTwiML"
    assert int(recording.params["RecordingDuration"]) >= 1
    assert status.url == BASE + "/status"
    assert status.params["CallStatus"] == "completed"
    assert int(status.params["CallDuration"]) == engine.elapsed


def test_redirect_with_get_and_hangup():
    """Test that <Redirect method="GET"> is requested with GET; <Hangup> ends the call."""
    engine, step = engine_at('<Response><Redirect method="GET">../voice2</Redirect></Response>')
    assert (step.requests[0].url, step.requests[0].method) == (
        "https://hotline.test/twilio/voice2",
        "GET",
    )
    _, step = engine_at("<Response><Hangup/><Say>x</Say></Response>")
    assert step.ended and says(step) == []


def test_dial_outcome_goes_to_its_action():
    """Test that the dialled line's outcome is posted to the <Dial> action."""
    engine, step = engine_at(
        '<Response><Say>Xin chờ</Say><Dial action="/twilio/voice/dial-done" timeout="30">'
        "+842623000000</Dial></Response>"
    )
    assert step.events[-1].kind == "dial" and step.events[-1].text == "+842623000000"
    (request,) = engine.timeout().requests
    assert request.url == "https://hotline.test/twilio/voice/dial-done"
    assert request.params["DialCallStatus"] == "no-answer"
    engine, _ = engine_at('<Response><Dial action="done">+842623000000</Dial></Response>')
    assert engine.dial_result("completed", 40).requests[0].params["DialCallSid"].startswith("CA")


def test_say_loop_and_bad_documents():
    """Test that loop repeats a <Say>, and a non-TwiML answer is an application error."""
    _, step = engine_at('<Response><Say loop="2">Hai lần</Say></Response>')
    assert says(step) == ["Hai lần", "Hai lần"]
    _, step = engine_at("<html>500</html>")
    assert [e.kind for e in step.events] == ["error", "hangup"]
    assert step.ended
    with pytest.raises(TwimlError):
        parse("not xml")


def test_message_texts_and_url_resolution():
    """Test that <Message> bodies are read, and URLs resolve like a browser's."""
    assert message_texts(
        "<Response><Message>Mã số: 1</Message><Message><Body>Hai</Body></Message></Response>"
    ) == ["Mã số: 1", "Hai"]
    assert resolve_url(BASE + "/menu?a=1", "") == BASE + "/menu?a=1"
    assert resolve_url(BASE + "/menu", "https://other.test/x") == "https://other.test/x"
