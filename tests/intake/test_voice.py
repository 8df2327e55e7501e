"""Tests of the voice IVR: TwiML parsed as XML, one ticket per call, tracking, operator hours."""

from __future__ import annotations

from datetime import datetime

import time_machine
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Attachment, InboundMessage, OutboxMessage
from hotline.tickets.codes import damm_digit
from hotline.timeutil import LOCAL_TZ
from tests import factories
from tests.intake.conftest import (
    BASE,
    only_ticket,
    routing_job_ids,
    says,
    ticket_count,
    twilio_post,
    twiml,
)

CALL = {"CallSid": "CA" + "a" * 32, "From": "0912345678", "To": "+842623000000"}
VOICE = "Google.vi-VN-Standard-A"


def _recording(sid: str = "RE" + "b" * 32, duration: str = "15") -> dict:
    return {
        **CALL,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/{sid}",
        "RecordingSid": sid,
        "RecordingDuration": duration,
        "RecordingStatus": "completed",
    }


def _assert_vietnamese_says(root):
    for say in root.iter("Say"):
        assert say.get("language") == "vi-VN"
        assert say.get("voice") == VOICE


def test_incoming_call_offers_the_menu(client):
    """Test that a call is greeted in Vietnamese with a one-key DTMF <Gather> to the menu."""
    root = twiml(twilio_post(client, "/twilio/voice", CALL))
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf"
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == BASE + "/twilio/voice/menu?attempt=1"
    assert gather.get("method") == "POST"
    texts = says(gather)
    assert texts[0].startswith("Xin chào")
    assert "bấm phím 1" in texts[1]
    _assert_vietnamese_says(root)
    # Nothing pressed: say so and come back for a second try.
    assert root.find("Redirect").text == BASE + "/twilio/voice?attempt=2"


def test_third_silent_attempt_says_goodbye(client):
    """Test that the menu gives up after three silent attempts."""
    root = twiml(twilio_post(client, "/twilio/voice", CALL, query="attempt=3"))
    assert root.find("Redirect") is None
    assert root.find("Hangup") is not None


def test_key_1_lists_the_fields_from_the_province_config(client):
    """Test that key 1 offers each field of ivr.json with its key, and 9 for other."""
    root = twiml(twilio_post(client, "/twilio/voice/menu", {**CALL, "Digits": "1"}))
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action").startswith(BASE + "/twilio/voice/category")
    texts = " ".join(says(gather))
    assert "Điện, bấm phím 1." in texts
    assert "Giao thông, bấm phím 3." in texts
    assert "Lĩnh vực khác, bấm phím 9." in texts
    _assert_vietnamese_says(root)


def test_invalid_menu_key_is_said_and_menu_repeated(client):
    """Test that an unknown key is announced and the menu comes again, three times at most."""
    params = {**CALL, "Digits": "7"}
    root = twiml(twilio_post(client, "/twilio/voice/menu", params, query="attempt=1"))
    assert says(root) == ["Lựa chọn không hợp lệ."]
    assert root.find("Redirect").text == BASE + "/twilio/voice?attempt=2"
    last = twiml(twilio_post(client, "/twilio/voice/menu", params, query="attempt=3"))
    assert last.find("Redirect") is None
    assert last.find("Hangup") is not None


def test_field_key_leads_to_speech_and_recording(client):
    """Test that a field key gives a vi-VN speech <Gather>, a recording, and a <Record> fallback."""
    root = twiml(twilio_post(client, "/twilio/voice/category", {**CALL, "Digits": "3"}))
    recording = root.find("Start/Recording")
    assert recording.get("recordingStatusCallback") == (
        BASE + "/twilio/voice/recording?category=giao-thong&part=call"
    )
    gather = root.find("Gather")
    assert gather.get("input") == "speech"
    assert gather.get("language") == "vi-VN"
    assert gather.get("action") == BASE + "/twilio/voice/speech?category=giao-thong"
    record = root.find("Record")
    assert record.get("recordingStatusCallback") == (
        BASE + "/twilio/voice/recording?category=giao-thong"
    )
    assert record.get("action") == BASE + "/twilio/voice/recorded?category=giao-thong"
    assert record.get("finishOnKey") == "#"
    _assert_vietnamese_says(root)


def test_key_9_means_no_field(client):
    """Test that 9 (other) leads to speech without a field in the URLs."""
    root = twiml(twilio_post(client, "/twilio/voice/category", {**CALL, "Digits": "9"}))
    assert root.find("Gather").get("action") == BASE + "/twilio/voice/speech"


def test_speech_creates_one_ticket_and_reads_its_code_digit_by_digit(client, redis_conn):
    """Test that the transcript becomes a voice ticket whose code the caller hears twice."""
    params = {**CALL, "SpeechResult": "Đường Lê Duẩn có ổ gà lớn", "Confidence": "0.8"}
    root = twiml(twilio_post(client, "/twilio/voice/speech", params, query="category=giao-thong"))
    ticket = only_ticket()
    assert ticket.channel == "voice"
    assert ticket.status == "received"
    assert ticket.category.code == "giao-thong"
    assert ticket.phone == "+84912345678"
    assert ticket.description == "Đường Lê Duẩn có ổ gà lớn"
    spoken = ", ".join(ticket.code)
    assert says(root).count(spoken) == 2
    assert root.find("Hangup") is not None
    _assert_vietnamese_says(root)
    assert routing_job_ids(redis_conn) == [f"route-{ticket.id}"]


CODE_BY_SMS = "Mã số cũng được gửi tới quý vị bằng tin nhắn."


def test_caller_gets_the_code_by_sms_too(client):
    """Test that a caller from a mobile hears the code, is told it comes by SMS, and gets it."""
    params = {**CALL, "SpeechResult": "Nước sinh hoạt đục ba ngày nay"}
    root = twiml(twilio_post(client, "/twilio/voice/speech", params))
    ticket = only_ticket()
    assert CODE_BY_SMS in says(root)
    [sms] = db.session.execute(select(OutboxMessage)).scalars().all()
    assert (sms.channel, sms.template, sms.recipient) == ("sms", "receipt", "+84912345678")
    assert sms.payload["code"] == ticket.code
    # Twilio calling back again reads the same code, and sends no second SMS.
    assert says(twiml(twilio_post(client, "/twilio/voice/speech", params))) == says(root)
    db.session.rollback()
    assert len(db.session.execute(select(OutboxMessage)).scalars().all()) == 1


def test_landline_caller_gets_no_sms(client):
    """Test that a caller from a landline hears the code but no SMS is promised or sent."""
    params = {**CALL, "From": "0262 3812 345", "SpeechResult": "Cột điện nghiêng sắp đổ"}
    root = twiml(twilio_post(client, "/twilio/voice/speech", params))
    ticket = only_ticket()
    assert ticket.phone == "+842623812345"  # kept: an operator may call back
    assert ", ".join(ticket.code) in says(root)
    assert CODE_BY_SMS not in says(root)
    assert db.session.execute(select(OutboxMessage)).first() is None


def test_twilio_calling_back_twice_creates_one_ticket(client):
    """Test that a repeated speech callback for the same CallSid reads the same code."""
    params = {**CALL, "SpeechResult": "Mất nước hai ngày"}
    first = says(twiml(twilio_post(client, "/twilio/voice/speech", params)))
    second = says(twiml(twilio_post(client, "/twilio/voice/speech", params)))
    assert first == second
    assert ticket_count() == 1


def test_recording_callbacks_complete_the_ticket_once(client):
    """Test that the recording is attached once even when its callback comes twice."""
    twilio_post(client, "/twilio/voice/speech", {**CALL, "SpeechResult": "Rác thải ven đường"})
    for _ in range(2):
        response = twilio_post(client, "/twilio/voice/recording", _recording())
        assert response.status_code == 204
    ticket = only_ticket()
    attachments = db.session.execute(select(Attachment)).scalars().all()
    assert [(a.ticket_id, a.kind) for a in attachments] == [(ticket.id, "recording")]
    assert attachments[0].source_url.endswith("RE" + "b" * 32)
    assert attachments[0].data["duration"] == 15


def test_hang_up_before_speech_result_still_makes_a_ticket(client):
    """Test that the recording callback alone (caller hung up) creates the call's ticket."""
    response = twilio_post(
        client, "/twilio/voice/recording", _recording(), query="category=moi-truong"
    )
    assert response.status_code == 204
    ticket = only_ticket()
    assert ticket.channel == "voice"
    assert ticket.category.code == "moi-truong"
    assert "ghi âm" in ticket.description
    assert [a.kind for a in ticket.attachments] == ["recording"]
    # The <Record> action for the same call arrives afterwards: same ticket, same file.
    root = twiml(twilio_post(client, "/twilio/voice/recorded", _recording()))
    assert ", ".join(ticket.code) in says(root)
    assert ticket_count() == 1
    db.session.expire_all()
    assert len(only_ticket().attachments) == 1


def test_incoming_call_keeps_the_callers_number(client):
    """Test that the first webhook of a call keeps a record with the caller's number, once."""
    for attempt in ("", "attempt=2"):
        assert twilio_post(client, "/twilio/voice", CALL, query=attempt).status_code == 200
    db.session.rollback()
    [record] = db.session.execute(select(InboundMessage)).scalars().all()
    assert (record.channel, record.provider_id, record.kind) == (
        "voice_call",
        CALL["CallSid"],
        "call",
    )
    assert record.data["caller"] == "+84912345678"
    assert record.ticket_id is None


def test_recording_callback_without_from_gets_the_callers_number(client):
    """Test that a ticket made by a recording callback (no From) has the number of the call."""
    twilio_post(client, "/twilio/voice", CALL)
    callback = {k: v for k, v in _recording().items() if k != "From"}
    assert twilio_post(client, "/twilio/voice/recording", callback).status_code == 204
    assert only_ticket().phone == "+84912345678"


def test_status_callback_keeps_the_call_record_without_a_ticket(client):
    """Test that a call that made no ticket still keeps its final status for the operators."""
    twilio_post(client, "/twilio/voice", CALL)
    params = {**CALL, "CallStatus": "completed", "CallDuration": "7"}
    assert twilio_post(client, "/twilio/voice/status", params).status_code == 204
    db.session.expire_all()
    record = db.session.execute(select(InboundMessage)).scalar_one()
    assert (record.data["call_status"], record.data["duration"]) == ("completed", 7)
    assert ticket_count() == 0


def test_menu_answers_even_when_the_call_cannot_be_recorded(app):
    """Test that with the database down the IVR still greets (the operator line needs none)."""
    from hotline import create_app

    dead = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "REDIS_URL": app.config["REDIS_URL"],
        }
    )
    with dead.app_context():
        root = twiml(twilio_post(dead.test_client(), "/twilio/voice", CALL))
        assert root.find("Gather").get("action") == BASE + "/twilio/voice/menu?attempt=1"
        db.session.remove()
        db.engine.dispose()


def _whole_call(duration: str) -> dict:
    """The whole-call recording's status callback (it carries no From)."""
    params = {k: v for k, v in _recording("RE" + "c" * 32, duration).items() if k != "From"}
    return {**params, "RecordingSource": "StartCallRecordingTwiML"}


def test_hang_up_during_the_prompt_makes_no_ticket(client, redis_conn):
    """Test that a whole-call recording shorter than the prompt and a short turn is dropped,
    and the call's record says so."""
    twilio_post(client, "/twilio/voice", CALL)
    response = twilio_post(
        client, "/twilio/voice/recording", _whole_call("11"), query="category=dien&part=call"
    )
    assert response.status_code == 204
    assert ticket_count() == 0
    record = db.session.execute(select(InboundMessage)).scalar_one()
    assert (record.data["outcome"], record.data["recording_seconds"]) == ("no_report", 11)
    assert routing_job_ids(redis_conn) == []


def test_call_cut_off_after_speaking_goes_to_triage(client, redis_conn):
    """Test that a long whole-call recording with no transcript makes a ticket an operator
    listens to first: in triage, marked as a cut-off call, never routed by the key alone."""
    twilio_post(client, "/twilio/voice", CALL)
    twilio_post(
        client, "/twilio/voice/recording", _whole_call("25"), query="category=dien&part=call"
    )
    ticket = only_ticket()
    assert ticket.status == "triage"
    assert ticket.description.startswith("Cuộc gọi bị ngắt")
    assert ticket.category.code == "dien"
    assert ticket.phone == "+84912345678"
    assert [a.kind for a in ticket.attachments] == ["recording"]
    assert [e.kind for e in ticket.events] == ["created", "triage"]
    assert "cần nghe" in ticket.events[1].note
    assert routing_job_ids(redis_conn) == []
    # Twilio delivering the callback again changes nothing.
    twilio_post(client, "/twilio/voice/recording", _whole_call("25"), query="part=call")
    db.session.expire_all()
    assert ticket_count() == 1 and len(only_ticket().attachments) == 1


def test_whole_call_recording_completes_a_speech_ticket(client):
    """Test that after a transcript the whole-call recording is only attached, whatever its
    length, and the ticket stays routed."""
    twilio_post(client, "/twilio/voice/speech", {**CALL, "SpeechResult": "Cống thoát nước tắc"})
    twilio_post(client, "/twilio/voice/recording", _whole_call("3"), query="part=call")
    ticket = only_ticket()
    assert ticket.status == "received"
    assert [a.data["duration"] for a in ticket.attachments] == [3]


def test_silent_recording_without_report_creates_nothing(client):
    """Test that a one-second recording (a hang-up) does not become a ticket."""
    twilio_post(client, "/twilio/voice/recording", _recording(duration="1"))
    assert ticket_count() == 0


def test_no_speech_falls_back_to_record(client):
    """Test that an empty transcript asks for a recorded message instead."""
    root = twiml(twilio_post(client, "/twilio/voice/speech", {**CALL, "SpeechResult": ""}))
    assert root.find("Record") is not None
    assert ticket_count() == 0


def test_status_callback_completes_the_inbound_record(client):
    """Test that the final call status is kept with the call's delivery record."""
    twilio_post(client, "/twilio/voice/speech", {**CALL, "SpeechResult": "Cây đổ chắn đường"})
    params = {**CALL, "CallStatus": "completed", "CallDuration": "95"}
    assert twilio_post(client, "/twilio/voice/status", params).status_code == 204
    db.session.expire_all()
    row = db.session.execute(select(InboundMessage)).scalar_one()
    assert row.data["call_status"] == "completed"
    assert row.data["duration"] == 95


def test_track_reads_the_status_in_vietnamese(client):
    """Test that a keyed code is answered with its Vietnamese status."""
    ticket = factories.ticket(status="acknowledged")
    root = twiml(twilio_post(client, "/twilio/voice/track", {**CALL, "Digits": ticket.code}))
    text = " ".join(says(root))
    assert "Đang xử lý" in text
    assert ", ".join(ticket.code) in text


def test_track_prompt_gathers_ten_digits(client):
    """Test that key 2 asks for the 10-digit code."""
    root = twiml(twilio_post(client, "/twilio/voice/menu", {**CALL, "Digits": "2"}))
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf"
    assert gather.get("numDigits") == "10"
    assert gather.get("action") == BASE + "/twilio/voice/track?attempt=1"


def test_code_with_bad_check_digit_is_asked_again(client):
    """Test that a code whose check digit fails is caught and asked for again."""
    body = "261234567"
    wrong = body + str((damm_digit(body) + 1) % 10)
    root = twiml(twilio_post(client, "/twilio/voice/track", {**CALL, "Digits": wrong}))
    assert says(root)[0] == "Mã số không đúng, xin kiểm tra và nhập lại."
    gather = root.find("Gather")
    assert gather.get("numDigits") == "10"
    assert gather.get("action") == BASE + "/twilio/voice/track?attempt=2"


def test_unknown_valid_code_is_not_found(client):
    """Test that a well-formed code of no ticket says it is not found."""
    body = "269999999"
    root = twiml(
        twilio_post(client, "/twilio/voice/track", {**CALL, "Digits": body + str(damm_digit(body))})
    )
    assert "Không tìm thấy phản ánh với mã số này." in says(root)


@time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=LOCAL_TZ), tick=False)
def test_operator_is_dialled_in_office_hours(client, app):
    """Test that key 0 dials the operator on a working Wednesday morning."""
    root = twiml(twilio_post(client, "/twilio/voice/menu", {**CALL, "Digits": "0"}))
    dial = root.find("Dial")
    assert dial.text == app.config["OPERATOR_NUMBER"]
    assert dial.get("action") == BASE + "/twilio/voice/dial-done"


@time_machine.travel(datetime(2026, 11, 29, 9, 0, tzinfo=LOCAL_TZ), tick=False)
def test_operator_closed_on_sunday_offers_a_recording(client):
    """Test that outside office hours the caller hears so and may record a message."""
    root = twiml(twilio_post(client, "/twilio/voice/menu", {**CALL, "Digits": "0"}))
    assert root.find("Dial") is None
    assert "ngoài giờ làm việc" in " ".join(says(root))
    assert root.find("Record").get("recordingStatusCallback") == BASE + "/twilio/voice/recording"


def test_unanswered_operator_call_offers_a_recording(client):
    """Test that a busy operator line falls back to a recorded message."""
    params = {**CALL, "DialCallStatus": "busy"}
    root = twiml(twilio_post(client, "/twilio/voice/dial-done", params))
    assert root.find("Record") is not None


def test_callback_without_call_sid_is_400(client):
    """Test that a signed callback without CallSid is a clear 400 and stores nothing."""
    params = {"From": "0912345678", "SpeechResult": "Đường ngập"}
    assert twilio_post(client, "/twilio/voice/speech", params).status_code == 400
    assert ticket_count() == 0
