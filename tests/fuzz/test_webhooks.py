"""Hypothesis through the webhooks: arbitrary, correctly signed input never makes a 5xx.

Every Twilio voice route (found in the URL map, so new ones are covered), Twilio's SMS
route and the carriers' gateway (messages and delivery reports) get generated parameters
and bodies, signed as the real providers sign them (Twilio: RequestValidator over
PUBLIC_BASE_URL + path + query and the form; gateway: HMAC-SHA256 with SMS_GATEWAY_SECRET),
so the parsers behind the signature check are what is exercised.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.extensions import db
from tests.intake.conftest import gateway_post, twilio_signature

BASE = "https://hotline.test"
WEBHOOK_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Any character a form can carry (UTF-8 cannot encode lone surrogates), controls included.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
digits = st.text("0123456789*#", max_size=12)
phone_like = st.sampled_from(
    ["+84912345678", "0912345678", "84912345678", "+15005550006", "anonymous", "", "+"]
)
url_like = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(["https://", "http://", "ftp://", "", "javascript:"]),
    any_text,
)
number_like = st.one_of(st.integers(-(10**12), 10**12).map(str), st.floats().map(str), any_text)
ticket_code_like = st.one_of(digits, st.just("2601234563"), any_text)


def value_for(name: str):
    """A strategy of plausible and implausible values of the Twilio parameter NAME."""
    plausible = {
        "CallSid": st.one_of(st.just("CA" + "a" * 32), st.text("CAab0123", max_size=40)),
        "MessageSid": st.one_of(st.just("SM" + "b" * 32), st.text("SMab0123", max_size=40)),
        "SmsSid": st.text("SMab0123", max_size=40),
        "From": phone_like,
        "To": phone_like,
        "Digits": st.one_of(digits, ticket_code_like),
        "SpeechResult": st.one_of(any_text, st.just("Mất điện ở phường Tân Lập từ sáng")),
        "Confidence": number_like,
        "RecordingUrl": url_like,
        "RecordingDuration": number_like,
        "RecordingSid": any_text,
        "RecordingStatus": st.sampled_from(["completed", "in-progress", "absent", ""]),
        "DialCallStatus": st.sampled_from(["completed", "busy", "no-answer", "failed", ""]),
        "CallStatus": any_text,
        "CallDuration": number_like,
        "Body": st.one_of(
            any_text,
            ticket_code_like.map(lambda c: f"TRA {c}"),
            ticket_code_like.map(lambda c: f"tracuu {c}"),
        ),
        "NumMedia": number_like,
    }
    return st.one_of(plausible.get(name, any_text), any_text)


VOICE_PARAMETERS = [
    "CallSid",
    "From",
    "To",
    "Digits",
    "SpeechResult",
    "Confidence",
    "RecordingUrl",
    "RecordingDuration",
    "RecordingSid",
    "RecordingStatus",
    "DialCallStatus",
    "CallStatus",
    "CallDuration",
]
SMS_PARAMETERS = ["MessageSid", "SmsSid", "From", "To", "Body", "NumMedia"] + [
    f"{kind}{i}" for i in range(3) for kind in ("MediaUrl", "MediaContentType")
]


@st.composite
def twilio_form(draw, names: list[str], usual: tuple[str, ...]) -> dict[str, str]:
    """A form of some of NAMES (each with a plausible or arbitrary value) and stray fields.

    The USUAL names (the delivery's id) are there nine times in ten, so that most forms get
    past the first check and reach the parsers behind it.
    """
    chosen = set(draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names))))
    if draw(st.integers(0, 9)):
        chosen.update(usual)
    form = {
        name: draw(url_like if name.startswith("MediaUrl") else value_for(name))
        for name in sorted(chosen)
    }
    extra = draw(
        st.dictionaries(st.text("abcXYZ_[]", min_size=1, max_size=8), any_text, max_size=2)
    )
    return {**extra, **form}


def signed_twilio_post(client, path: str, form: dict[str, str], query: dict[str, str]):
    """POST FORM to PATH?QUERY with the signature Twilio would compute."""
    target = path + (f"?{urlencode(query)}" if query else "")
    signature = twilio_signature(BASE + target, form)
    try:
        return client.post(target, data=form, headers={"X-Twilio-Signature": signature})
    finally:
        db.session.remove()  # a request's own session, as in production


def assert_handled(response) -> None:
    """No 5xx, and a TwiML answer is well-formed XML."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code == 200 and response.mimetype == "text/xml":
        assert ET.fromstring(response.data).tag == "Response"


def voice_paths(app) -> list[str]:
    """Every POST route of the voice IVR."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("twilio_voice.") and "POST" in (rule.methods or ())
    )


def test_voice_routes_survive_any_signed_form(app, client):
    """Test that every voice webhook answers any signed form and query without a 5xx, with
    well-formed TwiML."""
    paths = voice_paths(app)
    assert len(paths) >= 8

    @WEBHOOK_SETTINGS
    @given(
        path=st.sampled_from(paths),
        form=twilio_form(VOICE_PARAMETERS, ("CallSid",)),
        query=st.dictionaries(
            st.sampled_from(["attempt", "category", "part"]),
            st.one_of(number_like, st.sampled_from(["dien", "giao-thong", "call"])),
        ),
    )
    def check(path, form, query):
        assert_handled(signed_twilio_post(client, path, form, query))

    check()


def test_twilio_sms_survives_any_signed_form(client):
    """Test that Twilio's SMS webhook answers any signed form without a 5xx."""

    @WEBHOOK_SETTINGS
    @given(form=twilio_form(SMS_PARAMETERS, ("MessageSid", "From")))
    def check(form):
        assert_handled(signed_twilio_post(client, "/twilio/sms", form, {}))

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)
gateway_fields = {
    "message_id": st.one_of(value_for("MessageSid"), any_text),
    "from": st.one_of(phone_like, any_text),
    "to": phone_like,
    "text": value_for("Body"),
    "received_at": st.one_of(st.just("2026-03-02T08:00:00+07:00"), any_text),
}
gateway_payloads = st.one_of(
    # Well-typed messages with arbitrary strings: what a carrier sends, good or bad.
    st.fixed_dictionaries(
        {k: gateway_fields[k] for k in ("message_id", "from", "text")},
        optional={k: gateway_fields[k] for k in ("to", "received_at")},
    ),
    # Any field of any JSON type, or no object at all.
    st.fixed_dictionaries({}, optional={k: json_values for k in gateway_fields}),
    json_values,
)


def test_gateway_survives_any_signed_body(client):
    """Test that the gateway answers any correctly signed body (JSON or not) without a 5xx,
    always in JSON."""

    @WEBHOOK_SETTINGS
    @given(
        body=st.one_of(
            gateway_payloads.map(lambda p: json.dumps(p).encode()),
            gateway_payloads.map(lambda p: json.dumps(p, ensure_ascii=False).encode()),
            st.binary(max_size=200),
        )
    )
    def check(body):
        try:
            response = gateway_post(client, body)
        finally:
            db.session.remove()
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        assert response.is_json

    check()


receipt_fields = {
    "id": st.one_of(value_for("MessageSid"), any_text),
    "message_id": any_text,
    "status": st.one_of(
        st.sampled_from(["delivered", "DELIVRD", "undeliv", "expired", "failed", "enroute"]),
        any_text,
    ),
    "error_code": any_text,
}
receipt_payloads = st.one_of(
    st.fixed_dictionaries({}, optional=receipt_fields),
    st.fixed_dictionaries({}, optional={k: json_values for k in receipt_fields}),
    json_values,
)


def test_gateway_receipts_survive_any_signed_body(client):
    """Test that the gateway's delivery-report route answers any correctly signed body
    without a 5xx: 204, or JSON errors."""

    @WEBHOOK_SETTINGS
    @given(
        body=st.one_of(
            receipt_payloads.map(lambda p: json.dumps(p, ensure_ascii=False).encode()),
            st.binary(max_size=200),
        )
    )
    def check(body):
        try:
            response = gateway_post(client, body, path="/sms/gateway/status")
        finally:
            db.session.remove()
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        assert response.status_code == 204 or response.is_json

    check()
