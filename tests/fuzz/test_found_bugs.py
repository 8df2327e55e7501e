"""Regression tests of the 5xx and malformed answers the fuzzers found."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from sqlalchemy import select

from hotline.db_text import clean_text
from hotline.extensions import db
from hotline.models import Ticket
from tests.intake.conftest import gateway_post, only_ticket, twilio_post


def test_clean_text_drops_nul_and_replaces_lone_surrogates():
    """Test that the database guard drops NUL and turns a lone surrogate into U+FFFD."""
    assert clean_text("a\x00b") == "ab"
    assert clean_text("đường\ud800") == "đường\ufffd"
    assert clean_text("Đắk Lắk") == "Đắk Lắk"


def test_open311_post_with_nul_bytes_is_stored_without_them(client, api_key):
    """Test that a NUL in an Open311 description (PostgreSQL refuses it) no longer is a 500:
    the request is created and the NUL dropped."""
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": api_key,
            "service_code": "giao-thong",
            "address_string": "Lê\x00 Duẩn",
            "description": "Ổ gà\x00 giữa đường",
            "first_name": "\x00",
        },
    )
    assert response.status_code == 200, response.data
    ticket = only_ticket()
    assert ticket.description == "Ổ gà giữa đường"
    assert ticket.address == "Lê Duẩn"


def test_lookups_with_nul_bytes_answer_404(client):
    """Test that a token or request id carrying a NUL is a GeoReport 404, not a 500."""
    for path in ("/open311/v2/tokens/ab%00cd.json", "/open311/v2/requests/26%0012.json"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()[0]["code"] == 404


def test_api_body_with_nul_and_lone_surrogate_is_stored_cleaned(client, api_key):
    """Test that JSON escapes the database cannot store ("\\u0000", "\\ud800") do not make
    a 500 through the JSON API."""
    body = '{"description": "Đèn đường hỏng\\u0000 cả tuần \\ud800 nay", "citizen_name": "\\udfff"}'
    response = client.post(
        "/api/v1/tickets",
        data=body,
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.data
    ticket = only_ticket()
    assert ticket.description == "Đèn đường hỏng cả tuần \ufffd nay"


def test_sms_from_twilio_and_gateway_with_nul_make_tickets(client):
    """Test that an SMS whose text carries a NUL (a GSM '@' badly converted) makes a ticket
    through both providers."""
    response = twilio_post(
        client,
        "/twilio/sms",
        {"MessageSid": "SM\x001", "From": "+84912345678", "Body": "Mất nước\x00 ở phường Tân Lập"},
    )
    assert response.status_code == 200
    payload = {"message_id": "m\x001", "from": "0912345678", "text": "Đèn\x00 hỏng"}
    response = gateway_post(client, json.dumps(payload).encode())
    assert response.status_code == 200
    db.session.rollback()
    texts = set(db.session.execute(select(Ticket.description)).scalars())
    assert texts == {"Mất nước ở phường Tân Lập", "Đèn hỏng"}


def test_open311_xml_error_echoing_control_characters_is_well_formed(client):
    """Test that an XML error that echoes a posted id with control characters still parses
    (they were written raw: not well-formed XML)."""
    response = client.get("/open311/v2/requests/%01%1b.xml")
    assert response.status_code == 404
    root = ET.fromstring(response.data)
    assert root.tag == "errors"
    assert "\ufffd" in root.find("error/description").text


def test_sms_id_of_a_lookup_reused_for_a_report_gets_the_stored_reply(client):
    """Test that a message id first used by a look-up, then sent again with a report (a
    gateway reusing ids), answers the look-up's stored reply instead of a 500."""
    first = gateway_post(client, {"message_id": "m-1", "from": "0912345678", "text": "TRA 123"})
    assert first.status_code == 200
    again = gateway_post(
        client, {"message_id": "m-1", "from": "0912345678", "text": "Mất điện ở Tân Lập"}
    )
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
