"""Signed-request tests for every Twilio route: valid, tampered, missing, http, encoded query."""

from __future__ import annotations

import pytest

from tests.intake.conftest import (
    BASE,
    inbound_count,
    ticket_count,
    twilio_post,
    twilio_signature,
)

CALL = {"CallSid": "CA" + "1" * 32, "From": "+84912345678", "To": "+842623000000"}
RECORDING = {
    **CALL,
    "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1",
    "RecordingSid": "RE" + "1" * 32,
    "RecordingDuration": "12",
    "RecordingStatus": "completed",
}
# (path, params, the answer when the signature is good)
ROUTES = [
    ("/twilio/voice", CALL, 200),
    ("/twilio/voice/menu", {**CALL, "Digits": "1"}, 200),
    ("/twilio/voice/report", CALL, 200),
    ("/twilio/voice/category", {**CALL, "Digits": "3"}, 200),
    ("/twilio/voice/speech", {**CALL, "SpeechResult": "Đường bị sụt lún"}, 200),
    ("/twilio/voice/recorded", RECORDING, 200),
    ("/twilio/voice/recording", RECORDING, 204),
    ("/twilio/voice/track", {**CALL, "Digits": "1234567890"}, 200),
    ("/twilio/voice/dial-done", {**CALL, "DialCallStatus": "no-answer"}, 200),
    ("/twilio/voice/status", {**CALL, "CallStatus": "completed", "CallDuration": "40"}, 204),
    (
        "/twilio/sms",
        {"MessageSid": "SM" + "1" * 32, "From": "+84912345678", "Body": "Mất điện cả xóm"},
        200,
    ),
]


def test_valid_signature_is_accepted(client):
    """Test that on every Twilio route a request signed over PUBLIC_BASE_URL + path is answered."""
    for path, params, status in ROUTES:
        assert twilio_post(client, path, params).status_code == status, path


def test_tampered_body_is_refused_and_nothing_stored(client):
    """Test that on every route changing one parameter after signing gives 403, stores nothing."""
    for path, params, _status in ROUTES:
        signature = twilio_signature(BASE + path, params)
        tampered = {**params, "From": "+84987654321"}
        response = client.post(path, data=tampered, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 403, path
    assert ticket_count() == 0
    assert inbound_count() == 0


def test_missing_signature_is_refused(client):
    """Test that on every route a request without X-Twilio-Signature gets 403."""
    for path, params, _status in ROUTES:
        assert client.post(path, data=params).status_code == 403, path
    assert ticket_count() == 0


def test_signature_over_http_url_is_refused(client):
    """Test that on every route a signature over http:// fails when the public URL is https."""
    for path, params, _status in ROUTES:
        http_url = BASE.replace("https://", "http://") + path
        response = twilio_post(client, path, params, sign_url=http_url)
        assert response.status_code == 403, path


def test_encoded_query_string_is_validated_raw(client):
    """Test that the signature is checked over the raw, still-encoded query string."""
    params = {**CALL, "SpeechResult": "Ngập nước"}
    query = "category=giao-thong&note=a%20b%2Fc"
    response = twilio_post(client, "/twilio/voice/speech", params, query=query)
    assert response.status_code == 200
    assert ticket_count() == 1


def test_decoded_query_string_signature_fails(client):
    """Test that a signature over the decoded query (what request.url gives) does not pass."""
    params = {**CALL, "SpeechResult": "Ngập nước"}
    query = "category=giao-thong&note=a%20b%2Fc"
    decoded = BASE + "/twilio/voice/speech?category=giao-thong&note=a b/c"
    response = twilio_post(client, "/twilio/voice/speech", params, query=query, sign_url=decoded)
    assert response.status_code == 403
    assert ticket_count() == 0


def test_refusal_log_has_no_caller_number(client, caplog):
    """Test that the refusal is logged without the caller's phone number."""
    with caplog.at_level("WARNING"):
        client.post("/twilio/sms", data={"MessageSid": "SMx", "From": "+84912345678"})
    assert "refused a Twilio webhook" in caplog.text
    assert "912345678" not in caplog.text


def test_wrong_auth_token_is_refused(client):
    """Test that a signature made with another account's token fails."""
    params = {**CALL}
    signature = twilio_signature(BASE + "/twilio/voice", params, token="another-token")
    response = client.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_development_may_switch_the_check_off_and_says_so(caplog):
    """Test that only development may skip signatures, and that it warns loudly at start."""
    from tests.intake.conftest import make_limited_app, restore_limiter

    with caplog.at_level("WARNING"):
        # JSON_LOGS off: a development app would add its JSON handler to the root logger
        # for the rest of the run (the log tests install their own).
        dev = make_limited_app(
            ENV_NAME="development", TWILIO_VALIDATE_SIGNATURES=False, JSON_LOGS=False
        )
    try:
        assert "TWILIO SIGNATURE CHECKS ARE OFF" in caplog.text
        response = dev.test_client().post("/twilio/voice", data=CALL)
        assert response.status_code == 200
    finally:
        restore_limiter(dev)


def test_production_refuses_to_start_without_the_check():
    """Test that a production config with signature checks off does not start."""
    from config.settings import ProductionConfig
    from hotline import create_app

    class Unsigned(ProductionConfig):
        SECRET_KEY = "s" * 40
        TWILIO_VALIDATE_SIGNATURES = False

        @classmethod
        def check(cls) -> list[str]:
            return []

    with pytest.raises(RuntimeError, match="signature checks may only be off in development"):
        create_app(Unsigned)
