"""Tests of `flask hotline simulate sms|call`: each step printed, the ticket code at the end."""

from __future__ import annotations

import re

from sqlalchemy import select

from hotline.extensions import db
from hotline.intake.common import spoken_digits
from hotline.models import Ticket


def _ticket(output: str) -> Ticket:
    code = re.search(r"^ticket: (\d{10})", output, re.M).group(1)
    db.session.expire_all()
    return db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()


def test_simulate_sms_prints_the_request_the_reply_and_the_ticket(runner):
    """Test that `simulate sms` posts the text, prints Twilio's reply and the ticket code."""
    result = runner.invoke(
        args=["hotline", "simulate", "sms", "--from", "0912345678", "Cống bị tắc ở chợ"]
    )
    assert result.exit_code == 0, result.output
    ticket = _ticket(result.output)
    assert (ticket.channel, ticket.description, ticket.phone) == (
        "sms",
        "Cống bị tắc ở chợ",
        "+84912345678",
    )
    assert "-> POST https://hotline.test/twilio/sms" in result.output
    assert "<- 200 text/xml" in result.output
    assert f"Message: Tổng đài 1022 đã tiếp nhận phản ánh của quý vị. Mã số: {ticket.code}" in (
        result.output
    )


def test_simulate_call_prints_each_step(runner):
    """Test that `simulate call --keys 1,3 --speech` prints says, keys, requests and the code."""
    speech = "Đèn tín hiệu ở ngã tư bị hỏng hai ngày nay"
    result = runner.invoke(
        args=[
            "hotline",
            "simulate",
            "call",
            "--from",
            "0912345678",
            "--keys",
            "1,3",
            "--speech",
            speech,
        ]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    ticket = _ticket(out)
    assert (ticket.channel, ticket.category.code, ticket.description) == (
        "voice",
        "giao-thong",
        speech,
    )
    assert "   Say: Xin chào, đây là Tổng đài 1022" in out
    assert "   caller presses 1" in out and "   caller presses 3" in out
    assert re.search(
        r"^-> POST https://hotline.test/twilio/voice/menu\S*  CallStatus=in-progress Digits=1 ",
        out,
        re.M,
    )
    assert f"caller says: {speech}" in out
    assert f"   Say: {spoken_digits(ticket.code)}" in out
    assert "-> POST https://hotline.test/twilio/voice/status  CallStatus=completed" in out
    assert out.rstrip().endswith(f"ticket: {ticket.code} (channel voice, field giao-thong)")
    # The order of the steps is the call's.
    assert out.index("caller presses 1") < out.index("/twilio/voice/menu") < out.index("presses 3")


def test_simulate_call_without_input_and_with_a_bad_number(runner):
    """Test that a silent call makes no ticket, and a bad --from is a clear error."""
    result = runner.invoke(args=["hotline", "simulate", "call", "--from", "0912345678"])
    assert result.exit_code == 0, result.output
    assert result.output.count("caller waits (timeout)") == 3
    assert result.output.rstrip().endswith("no ticket created")
    result = runner.invoke(args=["hotline", "simulate", "sms", "--from", "12", "x"])
    assert result.exit_code != 0
    assert "--from is not a phone number" in result.output
