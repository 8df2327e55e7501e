"""Tests of a simulated call through the real voice webhooks: the ticket it makes, the requests."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import time_machine
from sqlalchemy import select

from hotline.extensions import db
from hotline.intake.common import spoken_digits
from hotline.models import Attachment, InboundMessage, Ticket
from hotline.simulator.call_engine import CallEngine
from hotline.simulator.calls import CallScript, simulate_call
from hotline.simulator.client import SimulatorError, account_sid, post_to_webhook, webhook_urls
from hotline.simulator.twiml import new_sid
from hotline.timeutil import LOCAL_TZ
from tests.simulator.conftest import E164, PHONE

SPEECH = "Đường Lê Duẩn phường Tân Lập có ổ gà lớn, xe máy đi qua rất nguy hiểm"


def _ticket(code: str) -> Ticket:
    db.session.expire_all()
    return db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()


def test_page_call_menu_report_field_speech_makes_a_voice_ticket(admin_client, app):
    """Test that the page's requests, keyed 1 then 3 then spoken, store the right voice ticket."""
    urls = webhook_urls()
    engine = CallEngine(urls["voice"], urls["status"], account_sid=account_sid())
    call = {"sid": new_sid("CA"), "from": PHONE}
    posted: list[dict] = []

    step = admin_client.run(engine, engine.start(), call, posted)
    heard = [e.text for e in step.events if e.kind == "say"]
    assert "bấm phím 1" in heard[-1]
    assert step.waiting.name == "Gather"

    step = admin_client.run(engine, engine.press("1"), call, posted)
    assert any("Giao thông, bấm phím 3." in e.text for e in step.events)
    step = admin_client.run(engine, engine.press("3"), call, posted)
    assert step.waiting.attr("input") == "speech"
    step = admin_client.run(engine, engine.speak(SPEECH), call, posted)
    assert step.ended

    ticket_json = posted[-1]["ticket"]
    ticket = _ticket(ticket_json["code"])
    assert ticket.channel == "voice"
    assert ticket.category.code == "giao-thong"
    assert ticket.description == SPEECH
    assert ticket.phone == E164
    # The code is read back digit by digit, twice.
    heard = [e.text for e in step.events if e.kind == "say"]
    assert heard.count(spoken_digits(ticket.code)) == 2

    # Exactly what Twilio posts: the call's parameters plus the step's own.
    menu = posted[1]["reply"]
    assert urlsplit(menu["url"])[:3] == ("https", "hotline.test", "/twilio/voice/menu")
    params = menu["params"]
    assert params["Digits"] == "1"
    assert params["CallSid"] == call["sid"]
    assert params["From"] == params["Caller"] == E164
    assert params["To"] == app.config["TWILIO_NUMBER"]
    assert params["AccountSid"] == app.config["TWILIO_ACCOUNT_SID"]
    assert (params["Direction"], params["CallStatus"], params["ApiVersion"]) == (
        "inbound",
        "in-progress",
        "2010-04-01",
    )
    assert posted[0]["reply"]["params"]["CallStatus"] == "ringing"
    speech = posted[3]["reply"]
    assert speech["url"].endswith("/twilio/voice/speech?category=giao-thong")
    assert speech["params"]["SpeechResult"] == SPEECH

    # At hang-up: the whole-call recording, then the call status, both stored.
    recording, status = posted[-2]["reply"], posted[-1]["reply"]
    assert recording["params"]["RecordingSource"] == "StartCallRecordingTwiML"
    assert "From" not in recording["params"]  # recording callbacks carry no numbers
    assert recording["status"] == status["status"] == 204
    assert status["params"]["CallStatus"] == "completed"
    attachment = db.session.execute(select(Attachment)).scalar_one()
    assert attachment.ticket_id == ticket.id and attachment.kind == "recording"
    inbound = db.session.execute(select(InboundMessage).filter_by(channel="voice")).scalar_one()
    assert inbound.data["call_status"] == "completed"


def test_scripted_call_gives_the_same_ticket(app):
    """Test that simulate_call (the CLI's runner) follows the IVR to a stored ticket."""
    seen = []
    call = simulate_call(
        PHONE,
        CallScript(keys=["1", "3"], speech=SPEECH),
        report=lambda kind, value: seen.append(kind),
    )
    assert call.ticket is not None
    ticket = _ticket(call.ticket.code)
    assert (ticket.channel, ticket.category.code, ticket.description) == (
        "voice",
        "giao-thong",
        SPEECH,
    )
    assert spoken_digits(ticket.code) in call.said
    assert [urlsplit(r.url).path for r in call.replies] == [
        "/twilio/voice",
        "/twilio/voice/menu",
        "/twilio/voice/category",
        "/twilio/voice/speech",
        "/twilio/voice/recording",
        "/twilio/voice/status",
    ]
    assert call.replies[3].url.endswith("/speech?category=giao-thong")
    assert all(r.status in (200, 204) for r in call.replies)
    assert {"event", "input", "reply"} <= set(seen)


def test_silent_caller_is_asked_three_times_then_the_call_ends(app):
    """Test that a caller who presses nothing hears the menu 3 times, then goodbye; no ticket."""
    call = simulate_call(PHONE, CallScript())
    menus = [t for t in call.said if t.startswith("Để phản ánh")]
    assert len(menus) == 3
    assert call.said[-1].startswith("Cảm ơn quý vị")
    assert call.ticket is None
    assert urlsplit(call.replies[-1].url).path == "/twilio/voice/status"


def test_recorded_message_when_nothing_is_said(app):
    """Test that no speech leads to <Record>, and a 10-second message makes the ticket."""
    call = simulate_call(PHONE, CallScript(keys=["1", "9"], record_seconds=10))
    assert call.ticket is not None
    ticket = _ticket(call.ticket.code)
    assert ticket.channel == "voice" and ticket.category is None
    recorded = [r for r in call.replies if "/recorded" in r.url][0]
    assert recorded.params["RecordingDuration"] == "10" and recorded.params["Digits"] == "#"
    assert spoken_digits(ticket.code) in call.said
    kinds = sorted(a.kind for a in db.session.execute(select(Attachment)).scalars())
    assert kinds == ["recording", "recording"]  # the message, and the whole call


def test_tracking_a_ticket_by_keypad(app):
    """Test that key 2 then a ticket code says the ticket's status."""
    made = simulate_call(PHONE, CallScript(keys=["1", "3"], speech=SPEECH))
    call = simulate_call(PHONE, CallScript(keys=["2", made.ticket.code + "#"]))
    assert any("hiện có trạng thái" in text for text in call.said)
    track = [r for r in call.replies if "/track" in r.url][0]
    assert track.params["Digits"] == made.ticket.code


def test_only_this_apps_twilio_webhooks_can_be_posted_to(app):
    """Test that another host, a non-Twilio path or a path trick is refused before any request."""
    for url in (
        "https://evil.test/twilio/voice",
        "http://hotline.test/twilio/voice",
        "https://hotline.test/simulator/api/call",
        "https://hotline.test/twilio/../admin",
        "https://hotline.test/twilio//x",
    ):
        try:
            post_to_webhook(url, "POST", {})
        except SimulatorError as error:
            assert str(error) == "url"
        else:
            raise AssertionError(f"{url} was posted to")


@time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=LOCAL_TZ), tick=False)
def test_key_0_dials_the_operator_and_a_missed_call_leaves_a_message(app):
    """Test that key 0 dials in office hours; no answer posts DialCallStatus and offers <Record>."""
    call = simulate_call(PHONE, CallScript(keys=["0"], dial="no-answer", record_seconds=8))
    dial_done = [r for r in call.replies if urlsplit(r.url).path == "/twilio/voice/dial-done"]
    assert dial_done and dial_done[0].params["DialCallStatus"] == "no-answer"
    assert [e.text for e in call.events if e.kind == "dial"] == [app.config["OPERATOR_NUMBER"]]
    assert any("Tổng đài viên đang bận" in text for text in call.said)
    assert call.ticket is not None and call.ticket.channel == "voice"


@time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=LOCAL_TZ), tick=False)
def test_an_answered_operator_call_ends_without_a_ticket(app):
    """Test that an answered operator call posts DialCallSid, then the IVR hangs up."""
    call = simulate_call(PHONE, CallScript(keys=["0"], dial="completed"))
    dial_done = [r for r in call.replies if urlsplit(r.url).path == "/twilio/voice/dial-done"][0]
    assert dial_done.params["DialCallStatus"] == "completed"
    assert dial_done.params["DialCallSid"].startswith("CA")
    assert call.ticket is None
    assert urlsplit(call.replies[-1].url).path == "/twilio/voice/status"
