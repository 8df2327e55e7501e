"""Browser tests of /simulator: a call made by clicking the keypad, an SMS, the JS state machine."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from hotline.extensions import db
from hotline.intake.common import spoken_digits
from hotline.models import Ticket
from hotline.simulator.call_engine import CallEngine
from tests.simulator.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser

SPEECH = "Đường Lê Duẩn phường Tân Lập có ổ gà lớn, xe máy đi qua bị té"


def sign_in_as_admin(page: Page) -> None:
    """Sign a new admin in through the login form."""
    admin = make_user("admin")
    page.goto("/login")
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.locator("form input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/"))


def key(page: Page, digit: str) -> None:
    """Click one keypad button once the IVR waits for keys."""
    button = page.locator(f'#sim-keypad button[data-key="{digit}"]')
    expect(button).to_be_enabled()
    button.click()


def test_admin_calls_1022_by_clicking_the_keypad(page: Page):
    """Test that an admin calls, keys 1 and 3, speaks, and sees the new ticket's code."""
    sign_in_as_admin(page)
    page.get_by_role("link", name="Mô phỏng điện thoại").click()
    expect(page).to_have_url(re.compile(r"/simulator$"))
    transcript = page.locator("#sim-transcript")

    page.get_by_role("button", name="Gọi 1022").click()
    expect(transcript).to_contain_text("Để phản ánh một vấn đề, bấm phím 1.")
    key(page, "1")
    expect(transcript).to_contain_text("Giao thông, bấm phím 3.")
    key(page, "3")
    speech = page.locator("#sim-speech-text")
    expect(speech).to_be_visible()
    expect(transcript).to_contain_text("xin nói rõ nội dung phản ánh")
    speech.fill(SPEECH)
    page.get_by_role("button", name="Nói xong").click()

    ticket_box = page.locator("#sim-ticket")
    expect(ticket_box).to_contain_text(re.compile(r"Phiếu đã tạo: \d{10}"))
    code = re.search(r"\d{10}", ticket_box.inner_text()).group(0)
    expect(transcript).to_contain_text(spoken_digits(code))
    expect(transcript).to_contain_text("Cuộc gọi đã kết thúc.")
    expect(page.locator("#sim-call-status")).to_have_text("Cuộc gọi đã kết thúc.")
    expect(page.locator("#sim-hangup")).to_be_disabled()
    # The request log shows what was posted, the status callback last.
    expect(page.locator("#sim-log li").first).to_contain_text("/twilio/voice/status → 204")

    db.session.expire_all()
    ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
    assert (ticket.channel, ticket.category.code, ticket.description) == (
        "voice",
        "giao-thong",
        SPEECH,
    )
    assert ticket.phone == "+84912345678"
    assert page.errors == []


def test_waiting_out_the_menu_then_hanging_up(page: Page):
    """Test that "time out now" plays what follows the <Gather>, and hanging up ends the call."""
    sign_in_as_admin(page)
    page.goto("/simulator")
    transcript = page.locator("#sim-transcript")
    page.get_by_role("button", name="Gọi 1022").click()
    expect(page.locator('#sim-keypad button[data-key="1"]')).to_be_enabled()
    page.get_by_role("button", name="Hết giờ chờ ngay").click()
    expect(transcript).to_contain_text("Quý vị chưa bấm phím nào.")
    # The <Redirect> brought the menu back, without the greeting this time.
    expect(transcript.locator("li", has_text="Để phản ánh một vấn đề")).to_have_count(2)
    expect(transcript.locator("li", has_text="Xin chào, đây là")).to_have_count(1)
    page.get_by_role("button", name="Gác máy").click()
    expect(page.locator("#sim-call-status")).to_have_text("Cuộc gọi đã kết thúc.")
    expect(page.locator("#sim-log li").first).to_contain_text("/twilio/voice/status → 204")
    expect(page.locator("#sim-ticket")).to_be_hidden()
    assert db.session.execute(select(Ticket)).first() is None
    assert page.errors == []


def test_admin_texts_1022_and_reads_the_reply(page: Page):
    """Test that an SMS sent from the page is answered with the new ticket's code."""
    sign_in_as_admin(page)
    page.goto("/simulator")
    page.get_by_role("tab", name="Tin nhắn").click()
    expect(page.locator("#sim-inbox")).to_contain_text("Chưa có tin nhắn nào gửi tới số này.")
    page.fill("#sim-sms-body", "Rác tồn đọng ở chợ phường Tân Lập cả tuần")
    page.get_by_role("button", name="Gửi", exact=True).click()
    reply = page.locator("#sim-thread .sim-sms-in")
    expect(reply).to_contain_text("Tổng đài 1022 đã tiếp nhận phản ánh của quý vị. Mã số:")
    code = re.search(r"\d{10}", reply.inner_text()).group(0)
    db.session.expire_all()
    ticket = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
    assert ticket.channel == "sms"
    assert page.errors == []


# The same documents and inputs through both state machines (the page's and call_engine.py).
SCENARIOS = [
    (
        '<Response><Gather numDigits="1" action="/twilio/voice/menu"><Say>a</Say></Gather>'
        "<Say>b</Say><Redirect>?attempt=2</Redirect></Response>",
        [["press", "1"]],
    ),
    (
        '<Response><Gather numDigits="1" action="/twilio/voice/menu"><Say>a</Say></Gather>'
        "<Say>b</Say><Redirect>?attempt=2</Redirect></Response>",
        [["timeout"]],
    ),
    (
        '<Response><Gather numDigits="10" finishOnKey="#" timeout="10" action="track?a=1"/>'
        "<Say>c</Say><Hangup/></Response>",
        [["press", "2"], ["press", "6"], ["press", "#"]],
    ),
    ('<Response><Gather finishOnKey=""/><Say>d</Say></Response>', [["press", "#"], ["timeout"]]),
    (
        '<Response><Gather input="speech" action="speech?category=dien"/><Say>e</Say>'
        '<Record action="recorded" recordingStatusCallback="recording" maxLength="60"/>'
        "<Say>f</Say><Hangup/></Response>",
        [["speak", "   "], ["timeout"]],
    ),
    (
        '<Response><Start><Recording recordingStatusCallback="/twilio/voice/recording"/></Start>'
        '<Say loop="2">g</Say><Gather input="speech" action="speech"/></Response>',
        [["speak", "Mất điện"]],
    ),
    (
        '<Response><Dial action="/twilio/voice/dial-done">+842623000000</Dial>'
        "<Say>h</Say></Response>",
        [["dial", "busy"]],
    ),
    ('<Response><Say>i</Say><Pause length="3"/><Reject/></Response>', []),
    ("<Response><Foo/></Response>", []),
    ("not xml", []),
]
DOC_URL = "https://hotline.test/twilio/voice/menu?attempt=1"
SIDS = re.compile(r"(RE|CA)[0-9a-f]{32}")


def _python_run(document: str, actions: list) -> list:
    engine = CallEngine(
        "https://hotline.test/twilio/voice", "https://hotline.test/s", account_sid="AC1"
    )
    steps = [engine.load(DOC_URL, document)]
    for action in actions:
        if action[0] == "press":
            steps.append(engine.press(action[1]))
        elif action[0] == "speak":
            steps.append(engine.speak(action[1]))
        elif action[0] == "dial":
            steps.append(engine.dial_result(action[1], 0))
        else:
            steps.append(engine.timeout())
    return [
        {
            "events": [[e.kind, e.text] for e in s.events],
            "requests": [[r.url, r.method, r.kind, r.params, r.follow] for r in s.requests],
            "waiting": s.waiting.name if s.waiting else None,
            "ended": s.ended,
        }
        for s in steps
    ]


JS_RUN = """([document, actions, documentUrl]) => {
  const engine = new window.HotlineTwiml.CallEngine(
    "https://hotline.test/twilio/voice", "https://hotline.test/s", "AC1");
  const steps = [engine.load(documentUrl, document)];
  for (const a of actions) {
    if (a[0] === "press") steps.push(engine.press(a[1]));
    else if (a[0] === "speak") steps.push(engine.speak(a[1]));
    else if (a[0] === "dial") steps.push(engine.dialResult(a[1], 0));
    else steps.push(engine.timeout());
  }
  return steps.map(s => ({
    events: s.events.map(e => [e.kind, e.text]),
    requests: s.requests.map(r => [r.url, r.method, r.kind, r.params, r.follow]),
    waiting: s.waiting ? s.waiting.name : null,
    ended: s.ended,
  }));
}"""


def test_the_page_state_machine_mirrors_call_engine_py(page: Page):
    """Test that simulator-twiml.js decides the same requests as call_engine.py on one TwiML."""
    sign_in_as_admin(page)
    page.goto("/simulator")
    for document, actions in SCENARIOS:
        expected = json.loads(SIDS.sub(r"\1-sid", json.dumps(_python_run(document, actions))))
        got = page.evaluate(JS_RUN, [document, actions, DOC_URL])
        got = json.loads(SIDS.sub(r"\1-sid", json.dumps(got)))
        assert got == expected, document
    assert page.errors == []
