"""Messages the lifecycle writes to the outbox, in the same transaction as the change."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Agency, OutboxMessage, Ticket
from hotline.notifications.render import render_message
from hotline.notifications.sms import count_segments, sms_text
from hotline.tickets import services
from hotline.tickets.errors import ConflictError
from tests.workers.conftest import add_user, agency, assigned_ticket, new_ticket


def _messages(template: str | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        stmt = stmt.filter_by(template=template)
    return list(db.session.execute(stmt).scalars())


@pytest.mark.parametrize(
    ("channel", "expected"), [("api", 1), ("open311", 1), ("sms", 0), ("voice", 1), ("web", 0)]
)
def test_receipt_sms_unless_the_channel_gave_the_code(channel, expected):
    """Test that a citizen with a phone gets the code by SMS, except on SMS and web, whose
    replies already carry it (a caller hears it and gets it by SMS too)."""
    ticket = new_ticket("Mất điện cả khu phố", channel=channel, phone="+84912345678")
    receipts = _messages("receipt")
    assert len(receipts) == expected
    if expected:
        text = render_message(receipts[0]).text
        assert ticket.code in text and f"/track?code={ticket.code}" in text


def test_no_receipt_without_a_phone():
    """Test that a citizen who left no phone gets no receipt."""
    new_ticket("Mất điện cả khu phố", channel="api")
    assert _messages() == []


def test_new_ticket_email_follows_the_agency_setting():
    """Test that assignment emails the agency's addresses only when notify_new_tickets is on."""
    ticket = assigned_ticket(phone="+84912345678")
    [message] = _messages("new_ticket")
    assert message.channel == "email" and message.recipient == "dien-luc@daklak.example"
    rendered = render_message(message)
    assert ticket.code in rendered.subject and rendered.html and ticket.code in rendered.text
    assert "+849" not in rendered.text  # no personal data in staff email
    power = agency("dien-luc")
    power.notify_new_tickets = False
    db.session.commit()
    try:
        assigned_ticket()
        assert len(_messages("new_ticket")) == 1
    finally:  # put the reference data back (cheaper than reloading the province)
        db.session.rollback()
        agency("dien-luc").notify_new_tickets = True
        db.session.commit()


def test_ask_citizen_sms_and_email_fallback():
    """Test that the agency's question reaches the citizen by SMS, or by email when no phone."""
    agent = add_user("agent@dienluc.example", "agent", "dien-luc")
    by_phone = assigned_ticket(phone="+84912345678")
    by_mail = assigned_ticket(email="dan@example.com")
    for ticket in (by_phone, by_mail):
        services.acknowledge(ticket.id, actor=agent)
        services.ask_citizen(ticket.id, "Xin cho biết số nhà cụ thể?", actor=agent)
    sms, email = _messages("ask_citizen")
    assert (sms.channel, sms.recipient) == ("sms", "+84912345678")
    assert "Xin cho biết số nhà cụ thể?" in render_message(sms).text
    assert (email.channel, email.recipient) == ("email", "dan@example.com")
    rendered = render_message(email)
    assert by_mail.code in rendered.subject and "số nhà" in rendered.html


def test_closing_sends_the_answer_with_a_one_time_rating_link():
    """Test that closing with an answer texts the tracking link and a rating link whose token
    is stored only as a hash on the ticket."""
    agent = add_user("agent@dienluc.example", "agent", "dien-luc")
    supervisor = add_user("sup@1022.example", "supervisor")
    ticket = assigned_ticket(phone="+84912345678")
    services.resolve(ticket.id, "Đã khắc phục sự cố lúc 10 giờ.", actor=agent)
    services.close(ticket.id, actor=supervisor, publish=True)
    [message] = _messages("answer")
    text = render_message(message).text
    token = re.search(r"/r/([\w-]+)", text).group(1)
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.rating_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (ticket.rating_token_hash or "")
    assert f"/track?code={ticket.code}" in text


def test_rejection_and_merge_tell_the_citizen():
    """Test that a rejected ticket's citizen is told why, and a duplicate's citizen learns the
    original's code."""
    supervisor = add_user("sup@1022.example", "supervisor")
    spam = assigned_ticket(phone="+84911111111")
    services.reject(spam.id, "spam", "Tin quảng cáo", actor=supervisor)
    assert "tin rác" in render_message(_messages("closed")[0]).text
    original = assigned_ticket(phone="+84922222222")
    duplicate = assigned_ticket(phone="+84933333333")
    services.merge_duplicate(duplicate.id, original.id, actor=supervisor)
    [merged] = _messages("merged")
    assert merged.recipient == "+84933333333"
    assert original.code in render_message(merged).text


def test_no_message_when_the_change_rolls_back():
    """Test that a change refused (stale version) leaves no message behind."""
    supervisor = add_user("sup@1022.example", "supervisor")
    ticket = assigned_ticket(phone="+84912345678")
    with pytest.raises(ConflictError):
        services.reject(
            ticket.id, "spam", "x", actor=supervisor, expected_version=ticket.version - 1
        )
    db.session.rollback()
    assert _messages("closed") == []


def test_sms_segments_and_unaccented_option(app):
    """Test GSM-7 (160/153) and UCS-2 (70/67) segment counts, and that the unaccented option
    brings a receipt into a single GSM-7 segment."""
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2 and count_segments("a" * 307).segments == 3
    assert count_segments("{" * 80).units == 160  # extension characters take two septets
    assert count_segments("ă" * 70) == count_segments("ă" * 70)
    assert count_segments("ă" * 70).segments == 1 and count_segments("ă" * 71).segments == 2
    assert count_segments("ă" * 134).segments == 2 and count_segments("ă" * 135).segments == 3
    ticket = new_ticket("Mất điện", channel="api", phone="+84912345678")
    [receipt] = _messages("receipt")
    accented = render_message(receipt).text
    assert count_segments(accented).encoding == "UCS-2"
    app.config["SMS_STRIP_DIACRITICS"] = True
    try:
        plain = render_message(receipt).text
    finally:
        app.config["SMS_STRIP_DIACRITICS"] = False
    assert plain.startswith("Tong dai 1022 da nhan phan anh") and ticket.code in plain
    assert count_segments(plain).encoding == "GSM-7" and count_segments(plain).segments == 1
    assert sms_text("Đắk  Lắk", strip_diacritics=True) == "Dak Lak"


def test_every_citizen_sms_fits_two_segments_unaccented(app):
    """Test that each citizen SMS stays short: at most one GSM-7 segment unaccented, except the
    answer (two links), which stays within two."""
    supervisor = add_user("sup@1022.example", "supervisor")
    agent = add_user("agent@dienluc.example", "agent", "dien-luc")
    ticket = assigned_ticket(phone="+84912345678", channel="api")
    services.acknowledge(ticket.id, actor=agent)
    services.ask_citizen(ticket.id, "x" * 300, actor=agent)
    services.citizen_replied(ticket.id, "ok")
    services.resolve(ticket.id, "Đã xử lý", actor=agent)
    services.close(ticket.id, actor=supervisor)
    other = assigned_ticket(phone="+84912345679")
    services.merge_duplicate(other.id, ticket.id, actor=supervisor)
    app.config["SMS_STRIP_DIACRITICS"] = True
    try:
        for message in _messages():
            if message.channel != "sms":
                continue
            segments = count_segments(render_message(message).text)
            assert segments.encoding == "GSM-7"
            assert segments.segments <= (2 if message.template in ("answer", "ask_citizen") else 1)
    finally:
        app.config["SMS_STRIP_DIACRITICS"] = False
    assert db.session.get(Agency, ticket.agency_id).code == "dien-luc"
