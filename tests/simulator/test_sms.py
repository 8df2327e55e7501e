"""Tests of simulated SMS: the real SMS webhook makes the ticket, the outbox fills the inbox."""

from __future__ import annotations

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket
from hotline.tickets import services
from tests.factories import agency, category
from tests.simulator.conftest import E164, PHONE

TEXT = "Mất điện ở phường Tân Lập từ sáng đến giờ chưa có lại"


def _send(admin_client, body: str = TEXT, phone: str = PHONE):
    return admin_client.post("/simulator/api/sms", {"from": phone, "body": body})


def test_sms_makes_a_ticket_and_the_reply_carries_its_code(admin_client, app):
    """Test that a text becomes an SMS ticket and the <Message> reply gives its code."""
    response = _send(admin_client)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    code = data["ticket"]["code"]
    ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
    assert (ticket.channel, ticket.phone, ticket.description) == ("sms", E164, TEXT)
    assert len(data["messages"]) == 1 and code in data["messages"][0]
    assert f"TRA {code}" in data["messages"][0]
    reply = data["reply"]
    assert reply["url"] == "https://hotline.test/twilio/sms"
    assert reply["status"] == 200 and "<Message>" in reply["body"]
    params = reply["params"]
    assert params["From"] == E164 and params["To"] == app.config["TWILIO_NUMBER"]
    assert params["Body"] == TEXT and params["NumMedia"] == "0"
    assert params["MessageSid"].startswith("SM") and params["SmsSid"] == params["MessageSid"]


def test_tra_lookup_answers_with_the_status(admin_client):
    """Test that "tra <code>" without diacritics answers with the ticket's status."""
    code = _send(admin_client).get_json()["ticket"]["code"]
    data = _send(admin_client, f"tra cuu {code}").get_json()
    assert data["ticket"] is None
    assert data["messages"] == [f"Phản ánh {code}: Đã tiếp nhận."]


def test_inbox_lists_the_outbox_sms_for_the_number_newest_first(admin_client):
    """Test that the SMS queued for the number appear in its inbox, newest first.

    SMS tickets get no receipt (the reply gave the code: see notifications.messages), so the
    inbox starts empty; the answer with its rating link arrives when the ticket is closed.
    """
    code = _send(admin_client).get_json()["ticket"]["code"]
    ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
    assert admin_client.inbox()["messages"] == []

    services.assign(ticket.id, agency("dien-luc").id, category_id=category("dien").id)
    services.acknowledge(ticket.id, actor=None)
    services.resolve(ticket.id, "Điện lực đã khắc phục sự cố lúc 15 giờ.", actor=None)
    services.close(ticket.id, actor=None, publish=True)
    # A ticket from another channel gets a receipt by SMS.
    other = services.create_ticket(services.Report("api", "Đèn đường hỏng", phone=E164))

    inbox = admin_client.inbox()
    assert inbox["phone"] == E164
    answer, receipt = sorted(inbox["messages"], key=lambda m: m["template"])
    assert answer["text"].startswith(f"Tổng đài 1022: phiếu {code} đã có trả lời")
    assert "/r/" in answer["text"]  # the one-time rating link
    assert receipt["template"] == "receipt" and other.code in receipt["text"]
    assert {m["status"] for m in inbox["messages"]} == {"pending"}
    ids = [m["id"] for m in inbox["messages"]]
    assert ids == sorted(ids, reverse=True)

    # The status shown is the outbox row's.
    row = db.session.get(OutboxMessage, answer["id"])
    row.status = "delivered"
    db.session.commit()
    statuses = {m["id"]: m["status"] for m in admin_client.inbox()["messages"]}
    assert statuses[answer["id"]] == "delivered"

    # Another number's inbox shows none of them.
    assert admin_client.inbox("0987654321")["messages"] == []


def test_bad_input_is_a_clear_400(admin_client):
    """Test that a bad number, a missing body or a bad call request is a 400 with a reason."""
    response = _send(admin_client, phone="12")
    assert response.status_code == 400
    assert response.get_json()["error"] == "Số điện thoại mô phỏng không hợp lệ."
    assert _send(admin_client, body="x" * 1601).status_code == 400
    assert admin_client.post("/simulator/api/sms", {"from": PHONE}).status_code == 200
    bad_calls = [
        {"call": {"sid": "CAnot-a-sid", "from": PHONE}, "request": {}},
        {
            "call": {"sid": "CA" + "a" * 32, "from": PHONE},
            "request": {"url": "https://evil.test/twilio/voice", "params": {}},
        },
        {
            "call": {"sid": "CA" + "a" * 32, "from": PHONE},
            "request": {"url": "https://hotline.test/twilio/voice", "params": {"X": "1"}},
        },
        {
            "call": {"sid": "CA" + "a" * 32, "from": PHONE},
            "request": {"url": "https://hotline.test/twilio/voice", "params": {"Digits": "1a"}},
        },
        {
            "call": {"sid": "CA" + "a" * 32, "from": PHONE},
            "request": {
                "url": "https://hotline.test/twilio/voice/recording",
                "kind": "recording",
                "params": {"RecordingSid": "RE" + "b" * 32, "RecordingUrl": "https://evil.test/"},
            },
        },
    ]
    for payload in bad_calls:
        response = admin_client.post("/simulator/api/call", payload)
        assert response.status_code == 400, payload
        assert response.get_json()["error"]
    assert admin_client.client.get("/simulator/api/inbox").status_code == 400
    assert db.session.execute(select(Ticket)).first() is None  # a missing body is empty


def test_empty_sms_asks_for_content_and_stores_no_ticket(admin_client):
    """Test that an empty text is answered with a request for content, and no ticket."""
    data = _send(admin_client, body="").get_json()
    assert data["ticket"] is None
    assert data["messages"][0].startswith("Tổng đài 1022: tin nhắn chưa có nội dung")
    assert db.session.execute(select(Ticket)).first() is None
