"""Tests of SMS intake: Twilio's webhook and the carriers' signed gateway, TRA look-ups, replays."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Attachment, InboundMessage
from hotline.notifications.sms import count_segments, sms_text
from hotline.tickets.codes import damm_digit
from tests import factories
from tests.intake.conftest import (
    gateway_post,
    inbound_count,
    make_limited_app,
    only_ticket,
    restore_limiter,
    routing_job_ids,
    ticket_count,
    twilio_post,
)


def _sms(client, body: str, sid: str = "SM" + "c" * 32, **extra):
    params = {"MessageSid": sid, "From": "+84912345678", "To": "1022", "Body": body, **extra}
    response = twilio_post(client, "/twilio/sms", params)
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) == 1
    return messages[0].text


def test_message_creates_ticket_and_reply_gives_code(client, redis_conn):
    """Test that an SMS becomes an sms ticket and the TwiML reply carries its code."""
    reply = _sms(client, "Khu vực tổ dân phố 5 phường Tân Lập mất điện từ 2 giờ chiều")
    ticket = only_ticket()
    assert ticket.channel == "sms"
    assert ticket.status == "received"
    assert ticket.phone == "+84912345678"
    assert ticket.code in reply
    assert f"TRA {ticket.code}" in reply
    assert routing_job_ids(redis_conn) == [f"route-{ticket.id}"]


def test_replayed_message_sid_creates_nothing_new(client):
    """Test that Twilio retrying the same MessageSid gets the same reply and no second ticket."""
    first = _sms(client, "Nước sinh hoạt bị đục")
    second = _sms(client, "Nước sinh hoạt bị đục")
    assert first == second
    assert ticket_count() == 1
    assert inbound_count() == 1


LOOKUPS = [
    "TRA {code}",
    "tra {code}",
    "TRACUU {code}",
    "tracuu{code}",
    "TRA{code}",
    "Tra cứu {code}",
    "TRA CỨU: {spaced}",
    "  trả   {code} ",
]


def test_lookup_answers_status_and_creates_nothing(client):
    """Test that TRA/TRACUU in any case, with or without diacritics or spaces, gives the status."""
    ticket = factories.ticket(status="assigned")
    spaced = f"{ticket.code[:2]} {ticket.code[2:6]} {ticket.code[6:]}"
    for n, template in enumerate(LOOKUPS):
        reply = _sms(client, template.format(code=ticket.code, spaced=spaced), sid=f"SM{n}")
        assert reply == f"Phản ánh {ticket.code}: Đã chuyển xử lý.", template
    assert ticket_count() == 1
    rows = db.session.execute(select(InboundMessage)).scalars().all()
    assert {(r.kind, r.ticket_id) for r in rows} == {("lookup", None)}
    assert len(rows) == len(LOOKUPS)


def test_lookup_of_answered_ticket_points_to_tracking(client):
    """Test that a closed, answered ticket's status reply says where to read the answer."""
    ticket = factories.ticket(status="closed", close_reason="answered", public_answer="Đã sửa.")
    reply = _sms(client, f"TRA {ticket.code}")
    assert "Đã đóng" in reply
    assert "https://hotline.test/track" in reply


def test_lookup_with_bad_check_digit_says_the_code_is_wrong(client):
    """Test that a mistyped code is answered as wrong and stores no ticket."""
    body = "261234567"
    reply = _sms(client, f"TRA {body}{(damm_digit(body) + 3) % 10}")
    assert "không đúng" in reply
    assert ticket_count() == 0


def test_lookup_of_unknown_code_says_not_found(client):
    """Test that a valid code of no ticket is answered as not found."""
    body = "269999999"
    reply = _sms(client, f"TRA {body}{damm_digit(body)}")
    assert reply.startswith("Không tìm thấy phản ánh")


def test_word_starting_with_tra_is_a_report(client):
    """Test that a message that merely starts with "tra" is a report, not a look-up."""
    _sms(client, "Trạm biến áp kêu to cả đêm")
    assert ticket_count() == 1


def test_empty_message_asks_for_content(client):
    """Test that an empty or blank SMS asks for the content and creates nothing, even replayed."""
    for n, body in enumerate(["", "   ", "\n\t "]):
        reply = _sms(client, body, sid=f"SM-empty-{n}")
        assert "chưa có nội dung" in reply
        assert _sms(client, body, sid=f"SM-empty-{n}") == reply
    assert ticket_count() == 0
    rows = db.session.execute(select(InboundMessage)).scalars().all()
    assert [r.kind for r in rows] == ["empty"] * 3


def test_mms_media_are_kept_as_attachments(client):
    """Test that MMS media URLs are stored as attachments of the ticket."""
    _sms(
        client,
        "Ảnh bãi rác tự phát",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/media/ME2",
        MediaContentType1="image/png",
    )
    ticket = only_ticket()
    rows = db.session.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
    assert [(a.ticket_id, a.kind, a.content_type) for a in rows] == [
        (ticket.id, "mms", "image/jpeg"),
        (ticket.id, "mms", "image/png"),
    ]
    assert rows[0].source_url == "https://api.twilio.com/media/ME1"


def test_twilio_sms_without_message_sid_is_refused(client):
    """Test that a signed post without MessageSid is a clear 400."""
    response = twilio_post(client, "/twilio/sms", {"From": "+84912345678", "Body": "x"})
    assert response.status_code == 400
    assert ticket_count() == 0


# --- the carriers' gateway --------------------------------------------------------------

PAYLOAD = {
    "message_id": "vt-000123",
    "from": "0987654321",
    "to": "1022",
    "text": "nuoc sinh hoat o phuong Ea Kao bi duc",
    "received_at": "2026-11-25T09:15:00+07:00",
}


def test_gateway_message_creates_ticket_and_json_reply(client):
    """Test that a signed gateway message creates a ticket and answers {"reply": ...}."""
    response = gateway_post(client, PAYLOAD)
    assert response.status_code == 200
    ticket = only_ticket()
    assert ticket.channel == "sms"
    assert ticket.phone == "+84987654321"
    assert response.json == {"reply": response.json["reply"]}
    assert ticket.code in response.json["reply"]


def test_gateway_replay_gets_same_reply(client):
    """Test that the same message_id twice creates one ticket and the same reply."""
    first = gateway_post(client, PAYLOAD).json
    second = gateway_post(client, PAYLOAD).json
    assert first == second
    assert ticket_count() == 1


def test_gateway_accepts_prefixed_signature(client):
    """Test that "sha256=<hex>" is accepted as well as the bare hex digest."""
    from hotline.intake.gateway import sign

    body = json.dumps(PAYLOAD).encode()
    response = gateway_post(client, body, signature="sha256=" + sign(body, "test-gateway-secret"))
    assert response.status_code == 200


def test_gateway_bad_signature_is_refused(client):
    """Test that a missing or wrong HMAC gets 403 and stores nothing."""
    for kwargs in ({"signature": False}, {"secret": "wrong-secret"}, {"signature": "00" * 32}):
        response = gateway_post(client, PAYLOAD, **kwargs)
        assert response.status_code == 403, kwargs
        assert "signature" in response.json["errors"]
    assert inbound_count() == 0


def test_gateway_signature_covers_the_raw_body(client):
    """Test that a body changed after signing (even whitespace) fails the check."""
    body = json.dumps(PAYLOAD).encode()
    from hotline.intake.gateway import sign

    signature = sign(body, "test-gateway-secret")
    response = gateway_post(client, body + b" ", signature=signature)
    assert response.status_code == 403


def test_gateway_bad_fields_are_a_clear_400(client):
    """Test that malformed fields get 400 with the field named, and nothing stored."""
    cases = [
        ({**PAYLOAD, "message_id": None}, "message_id"),
        ({k: v for k, v in PAYLOAD.items() if k != "text"}, "text"),
        ({**PAYLOAD, "from": 84912345678}, "from"),
        ({**PAYLOAD, "received_at": "hôm qua"}, "received_at"),
        ({**PAYLOAD, "text": "x" * 4001}, "text"),
    ]
    for payload, field in cases:
        response = gateway_post(client, payload)
        assert response.status_code == 400, field
        assert field in response.json["errors"]
    assert inbound_count() == 0


def test_gateway_non_json_body_is_400(client):
    """Test that a signed body that is not JSON is a 400, not a 500."""
    response = gateway_post(client, b"\xff\xfe not json")
    assert response.status_code == 400


def test_gateway_lookup_and_empty(client):
    """Test that the gateway answers TRA look-ups and empty messages like Twilio's route."""
    ticket = factories.ticket(status="received")
    reply = gateway_post(client, {**PAYLOAD, "text": f"tracuu {ticket.code}"}).json["reply"]
    assert reply == f"Phản ánh {ticket.code}: Đã tiếp nhận."
    reply = gateway_post(client, {**PAYLOAD, "message_id": "vt-2", "text": " "}).json["reply"]
    assert "chưa có nội dung" in reply
    assert ticket_count() == 1


def test_replies_can_be_sent_without_diacritics(client, app):
    """Test that SMS_STRIP_DIACRITICS makes both SMS routes reply in plain letters."""
    app.config["SMS_STRIP_DIACRITICS"] = True
    try:
        reply = _sms(client, "Mất điện từ sáng")
        code = only_ticket().code
        assert reply == f"Tong dai 1022 da tiep nhan phan anh cua quy vi. Ma so: {code}. " + (
            f"De tra cuu, nhan: TRA {code}"
        )
        gateway = gateway_post(client, {**PAYLOAD, "text": " "}).json["reply"]
        assert gateway.isascii()
    finally:
        app.config["SMS_STRIP_DIACRITICS"] = False


def test_both_routes_encode_their_replies_like_the_outbox(client, app):
    """Test that Twilio's and the gateway's replies to the same look-up are one text, encoded
    by the outbox's `sms_text`: unaccented and GSM-7 with SMS_STRIP_DIACRITICS, as is."""
    ticket = factories.ticket(status="assigned")
    expected = f"Phản ánh {ticket.code}: Đã chuyển xử lý."
    for strip in (False, True):
        app.config["SMS_STRIP_DIACRITICS"] = strip
        try:
            twilio = _sms(client, f"TRA {ticket.code}", sid=f"SM-both-{strip}")
            payload = {**PAYLOAD, "message_id": f"vt-both-{strip}", "text": f"TRA {ticket.code}"}
            gateway = gateway_post(client, payload).json["reply"]
            assert twilio == gateway == sms_text(expected, strip_diacritics=strip)
        finally:
            app.config["SMS_STRIP_DIACRITICS"] = False
    assert count_segments(gateway).encoding == "GSM-7"
    assert gateway == f"Phan anh {ticket.code}: Da chuyen xu ly."


def test_provider_webhooks_are_never_rate_limited():
    """Test that a default limit on every route spares Twilio's and the carriers' webhooks
    (a few provider addresses carry every citizen's report) but still limits the others."""
    limited = make_limited_app(RATELIMIT_DEFAULT="1 per minute")
    try:
        client = limited.test_client()
        for n in range(3):
            params = {"MessageSid": f"SM{n:032d}", "From": "+84912345678", "Body": "Mất điện"}
            assert twilio_post(client, "/twilio/sms", params).status_code == 200
            payload = {"message_id": f"gw-{n}", "from": "0912345678", "to": "1022", "text": "x y"}
            assert gateway_post(client, payload).status_code == 200
        assert [client.get("/track").status_code for _ in range(2)] == [200, 429]
    finally:
        from hotline.extensions import limiter

        limiter.limit_manager.set_default_limits([])  # the extension object is shared
        restore_limiter(limited)
