"""Hypothesis on the shared parsers (phones, ticket codes, text) and the forms that use them.

The units are checked for their contract on any input; the same inputs then go through
every HTTP route that parses them (web report and tracking forms with a valid CSRF token,
voice and SMS look-ups, the APIs, the staff queue's filters): never a 5xx.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.extensions import db
from hotline.phones import last_digits, normalize_phone
from hotline.routing.services import get_router
from hotline.staff.search import search_patterns
from hotline.tickets.codes import clean_code, damm_digit, is_valid_code
from tests.intake.conftest import csrf_token
from tests.web.staff_helpers import login, make_user, staff_client

PROPERTY = settings(max_examples=300, deadline=None, database=None, derandomize=True)
HTTP = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
# What people type as phone numbers: digits with the usual separators and prefixes.
phone_typing = st.builds(
    lambda prefix, body, sep: prefix + sep.join(body[i : i + 3] for i in range(0, len(body), 3)),
    st.sampled_from(["", "0", "+84", "84", "0084", "+", "(+84) ", "+1"]),
    st.text("0123456789", min_size=0, max_size=14),
    st.sampled_from(["", " ", ".", "-"]),
)
vietnamese_mobile = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["91", "94", "98", "97", "90", "93", "70", "79", "85", "56"]),
    st.text("0123456789", min_size=7, max_size=7),
)
code_typing = st.one_of(
    any_text,
    st.text("0123456789 .-_/", max_size=16),
    st.text("0123456789", min_size=9, max_size=9).map(lambda d: d + str(damm_digit(d))),
)


@PROPERTY
@given(st.one_of(any_text, phone_typing))
def test_phone_normaliser_gives_e164_or_none(raw):
    """Test that any input normalises to None or to a valid E.164 number that normalises to
    itself again."""
    phone = normalize_phone(raw)
    if phone is not None:
        assert E164.match(phone)
        assert normalize_phone(phone) == phone
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
    assert len(last_digits(raw)) in (0, 4)


@PROPERTY
@given(vietnamese_mobile, st.sampled_from(["0{n}", "+84{n}", "84{n}", "0084{n}", "+84 {n}"]))
def test_every_way_of_writing_a_mobile_number_gives_one_e164(number, template):
    """Test that 0-prefixed, +84, 84 and 0084 forms of a Vietnamese mobile number all give the
    same E.164 number."""
    assert normalize_phone(template.format(n=number)) == normalize_phone("0" + number)


@PROPERTY
@given(code_typing)
def test_code_checker_accepts_only_ten_checked_digits(raw):
    """Test that the checker never raises and accepts exactly 10 ASCII digits whose Damm
    check is right."""
    code = clean_code(raw)
    valid = is_valid_code(code)
    assert valid == bool(re.fullmatch(r"[0-9]{10}", code) and damm_digit(code[:9]) == int(code[9]))


@PROPERTY
@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_code_checker_refuses_what_is_not_text(value):
    """Test that the checker answers False, not an error, for values that are not strings."""
    assert is_valid_code(value) is False


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(any_text)
def test_router_reads_any_text(text):
    """Test that the category rules, the commune finder and the staff search read any text
    (the routing worker runs them on every SMS as sent)."""
    router = get_router()
    router.classifier.classify(text)
    router.communes.find_all(text)
    for pattern in search_patterns(text):
        assert pattern.startswith("%") and pattern.endswith("%")


def test_tracking_routes_survive_any_code(client):
    """Test that every place a citizen keys a ticket code (web, SMS, voice, Open311, API)
    answers any input without a 5xx."""
    from tests.fuzz.test_webhooks import signed_twilio_post

    token = csrf_token(client, "/track")

    @HTTP
    @given(code=code_typing, last4=st.one_of(st.text("0123456789", max_size=5), any_text))
    def check(code, last4):
        answers = [
            client.post("/track", data={"code": code, "phone_last4": last4, "csrf_token": token}),
            client.get("/track?" + urlencode({"code": code})),
            signed_twilio_post(
                client,
                "/twilio/sms",
                {"MessageSid": "SM1", "From": "0912345678", "Body": f"TRA {code}"},
                {},
            ),
            signed_twilio_post(
                client, "/twilio/voice/track", {"CallSid": "CA1", "Digits": code}, {}
            ),
        ]
        db.session.remove()
        for response in answers:
            assert response.status_code < 500, response.get_data(as_text=True)[:300]

    check()


def test_web_report_form_survives_any_fields(client):
    """Test that the public form answers any field values (with a valid CSRF token) with a
    ticket or field errors, never a 5xx."""
    token = csrf_token(client, "/")

    @HTTP
    @given(
        fields=st.fixed_dictionaries(
            {"description": st.one_of(any_text, st.just("Ổ gà lớn giữa đường Lê Duẩn"))},
            optional={
                "phone": st.one_of(phone_typing, any_text),
                "email": st.one_of(any_text, st.just("an@example.vn")),
                "name": any_text,
                "address": any_text,
                "category": st.one_of(any_text, st.just("giao-thong")),
                "commune": st.one_of(any_text, st.just("phuong-tan-lap")),
                "consent": st.sampled_from(["y", "", "on", "x"]),
                "submission_id": any_text,
                "website": st.sampled_from(["", "http://spam.example"]),
            },
        )
    )
    def check(fields):
        response = client.post("/", data={**fields, "csrf_token": token})
        db.session.remove()
        assert response.status_code in (302, 400), response.get_data(as_text=True)[:300]
        seen.add(response.status_code)

    seen: set[int] = set()
    check()
    assert seen == {302, 400}  # both stored reports and refused ones


def test_staff_queue_filters_survive_any_query(app):
    """Test that the queue, its CSV export and the dashboard answer any query string."""
    user = make_user("supervisor")
    client = staff_client(app)
    login(client, user)
    names = [
        "q",
        "status",
        "agency",
        "category",
        "commune",
        "sla",
        "channel",
        "priority",
        "sort",
        "cursor",
        "since",
        "until",
        "page",
    ]

    @HTTP
    @given(
        path=st.sampled_from(["/staff/tickets", "/staff/tickets.csv", "/staff/dashboard"]),
        query=st.dictionaries(st.sampled_from(names), st.one_of(any_text, phone_typing)),
    )
    def check(path, query):
        response = client.get(path + "?" + urlencode(query))
        body = response.get_data()  # the CSV streams: read it all
        db.session.remove()
        assert response.status_code < 500, body[:300]
        seen.add(response.status_code)

    seen: set[int] = set()
    check()
    assert seen == {200}  # signed in, and every filter error is a message on the page
