"""No personal data in the logs: a full run, logged as production logs it (JSON, at DEBUG), is
searched for every citizen's phone number (every way of writing it), email and name.

The run: reports by web form (one refused, one stored), Twilio SMS (a report and a look-up),
the carriers' gateway, a phone call, the JSON API, Open311 and an operator; routing by a
real worker; an agency's agent and a supervisor signing in and working a ticket; the outbox
sending SMS through a fake Twilio HTTP client that logs as Twilio's own does (one number
refused by "Twilio") and email to an SMTP server on loopback (one address refused).
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Ticket
from hotline.observability import configure_logging
from hotline.text import unaccent
from tests.intake.conftest import gateway_post, twilio_post
from tests.intake.test_web import post_form
from tests.web.staff_helpers import csrf_from, login, make_user, post_action, staff_client
from tests.workers.conftest import FakeTwilioHttp, RecordingHandler, free_port
from workers.worker import make_worker

# One person per channel, numbers and names that occur nowhere else.
WEB = {"name": "Phạm Quốc Vĩnh", "phone": "0903418527", "email": "vinh.pham.web@example.vn"}
API = {"name": "Đoàn Thị Mận", "phone": "0934765210", "email": "man.doan.api@example.vn"}
OPEN311 = {
    "first": "Hứa",
    "last": "Văn Khải",
    "phone": "0945321678",
    "email": "khai.hua@example.vn",
}
OPERATOR = {"name": "Lò Thị Sáu", "phone": "0967111345", "email": "sau.lo.tongdai@example.vn"}
REFUSED_WEB = {"name": "Vi Thị Lụa", "phone": "0356987123", "email": "lua.vi@example"}
SMS_PHONE, GATEWAY_PHONE, VOICE_PHONE = "0913572468", "0977123987", "0988246813"
TWILIO_REFUSES = "+84934765210"  # Twilio says "not a valid number" (and quotes it)
SMTP_REFUSES = OPEN311["email"]  # the mail server says "no such user" (and quotes it)


def phone_forms(local: str) -> list[str]:
    """Every way a logged number might read: E.164, 0-prefixed, 84..., bare digits, spaced."""
    bare = local[1:]
    return [f"+84{bare}", local, f"84{bare}", bare, f"{local[:4]} {local[4:7]} {local[7:]}"]


def traces() -> list[str]:
    """Everything that identifies the citizens of the run."""
    found = []
    for local in (WEB["phone"], API["phone"], OPEN311["phone"], OPERATOR["phone"]):
        found += phone_forms(local)
    for local in (REFUSED_WEB["phone"], SMS_PHONE, GATEWAY_PHONE, VOICE_PHONE):
        found += phone_forms(local)
    for person in (WEB, API, OPERATOR, REFUSED_WEB):
        found += [person["email"], person["email"].split("@")[0], person["name"]]
        found.append(unaccent(person["name"]))
    found += [OPEN311["email"], f"{OPEN311['first']} {OPEN311['last']}", OPEN311["last"]]
    return found


class RefusingHandler(RecordingHandler):
    """The SMTP server: refuses one recipient with a message quoting the address."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == SMTP_REFUSES:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class LoggingTwilioHttp(FakeTwilioHttp):
    """The fake Twilio API, logging each request as twilio's own HTTP client does, and
    refusing one number with Twilio's error (whose message quotes the number)."""

    def __init__(self) -> None:
        super().__init__()
        self.logger = logging.getLogger("twilio.http_client")

    def request(self, method, uri, params=None, data=None, headers=None, **kwargs):
        self.log_request(
            {"method": method.upper(), "url": uri, "params": params, "headers": headers or {}}
        )
        if (data or {}).get("To") == TWILIO_REFUSES:
            self.answers.append(
                (
                    400,
                    {
                        "code": 21211,
                        "message": f"The 'To' number {TWILIO_REFUSES} is not a valid phone number.",
                        "status": 400,
                    },
                )
            )
        response = super().request(method, uri, params=params, data=data, headers=headers, **kwargs)
        self.log_response(response.status_code, response)
        return response


@pytest.fixture
def production_logging():
    """All log records, formatted as production formats them (JSON lines), at DEBUG."""
    root = logging.getLogger()
    saved_level = root.level
    # An app built earlier outside the test settings may have installed its handler already.
    earlier = [h for h in root.handlers if getattr(h, "_hotline", False)]
    for old in earlier:
        root.removeHandler(old)
    buffer = io.StringIO()
    handler = configure_logging("DEBUG", stream=buffer)
    assert handler is not None
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for old in earlier:
            root.addHandler(old)
        root.setLevel(saved_level)


@pytest.fixture
def providers(app):
    """A real SMTP server on loopback and the fake Twilio API, the app pointed at both."""
    handler = RefusingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMS_PROVIDER")}
    twilio = LoggingTwilioHttp()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMS_PROVIDER="twilio")
    app.extensions["hotline_twilio_http_client"] = twilio
    try:
        yield handler, twilio
    finally:
        app.extensions.pop("hotline_twilio_http_client", None)
        app.config.update(saved)
        controller.stop()


def submit_everywhere(app, client) -> None:
    """Report through every channel, each with its own citizen."""
    refused = post_form(client, {"description": "Ổ gà giữa đường", **REFUSED_WEB})
    assert refused.status_code == 400
    web = {
        "category": "giao-thong",
        "commune": "phuong-tan-lap",
        "description": "Ổ gà lớn giữa đường Lê Duẩn, xe máy ngã nhiều lần.",
        "consent": "y",
        **WEB,
    }
    assert post_form(client, web).status_code == 302
    sms = {
        "MessageSid": "SM" + "1" * 32,
        "From": "+84" + SMS_PHONE[1:],
        "Body": "Mất điện ở phường Tân Lập từ sáng",
    }
    assert twilio_post(client, "/twilio/sms", sms).status_code == 200
    lookup = {
        "MessageSid": "SM" + "2" * 32,
        "From": "+84" + SMS_PHONE[1:],
        "Body": "TRA 2601234563",
    }
    assert twilio_post(client, "/twilio/sms", lookup).status_code == 200
    gateway = {
        "message_id": "gw-1",
        "from": GATEWAY_PHONE,
        "text": "Mất nước sinh hoạt ở xã Ea Kao ba ngày nay",
    }
    assert gateway_post(client, gateway).status_code == 200
    call = {"CallSid": "CA" + "3" * 32, "From": "+84" + VOICE_PHONE[1:], "To": "+842623000000"}
    assert twilio_post(client, "/twilio/voice", call).status_code == 200
    speech = {
        **call,
        "SpeechResult": "Cây đổ chắn ngang đường ở phường Tân Lập",
        "Confidence": "0.9",
    }
    assert twilio_post(client, "/twilio/voice/speech", speech).status_code == 200
    from hotline.models import ApiKey

    row, key = ApiKey.generate("log-test")
    db.session.add(row)
    db.session.commit()
    body = {
        "description": "Rác thải tập kết trái phép ở đầu hẻm 12 Lê Duẩn",
        "citizen_name": API["name"],
        "phone": API["phone"],
        "email": API["email"],
        "contact_consent": True,
    }
    assert client.post("/api/v1/tickets", json=body, headers={"X-API-Key": key}).status_code == 201
    open311 = {
        "api_key": key,
        "service_code": "giao-thong",
        "address_string": "Số 5 đường Phan Bội Châu",
        "description": "Đèn tín hiệu giao thông không hoạt động",
        "first_name": OPEN311["first"],
        "last_name": OPEN311["last"],
        "email": OPEN311["email"],  # no phone: the agency's question goes by email
    }
    assert client.post("/open311/v2/requests.json", data=open311).status_code == 200
    operator = staff_client(app)
    login(operator, make_user("operator"))
    page = operator.get("/staff/tickets/new")
    form = {
        "csrf_token": csrf_from(page),
        "priority": "normal",
        "description": "Người dân gọi báo cột điện nghiêng sắp đổ ở phường Tân Lập",
        "citizen_name": OPERATOR["name"],
        "phone": OPERATOR["phone"],
        "email": OPERATOR["email"],
        "contact_consent": "y",
    }
    assert operator.post("/staff/tickets/new", data=form).status_code == 303


def work_tickets(app) -> None:
    """An agent answers the web ticket, another asks the Open311 citizen (email only) for
    details; a supervisor closes the answered one and publishes it (each step sends the
    citizen an SMS or an email)."""
    db.session.expire_all()
    routed = (
        db.session.execute(select(Ticket).where(Ticket.agency_id.is_not(None)).order_by(Ticket.id))
        .scalars()
        .all()
    )
    web = next(t for t in routed if t.channel == "web")
    other = next(t for t in routed if t.channel == "open311")
    agent = staff_client(app)
    login(agent, make_user("agent", web.agency.code))
    assert post_action(agent, web.code, "acknowledge").status_code in (302, 303)
    answer = {"answer": "Đã vá ổ gà trên đường Lê Duẩn."}
    assert post_action(agent, web.code, "resolve", answer).status_code in (302, 303)
    second = staff_client(app)
    login(second, make_user("agent", other.agency.code))
    assert post_action(second, other.code, "acknowledge").status_code in (302, 303)
    question = {"question": "Xin cho biết số nhà cụ thể?"}
    assert post_action(second, other.code, "ask_citizen", question).status_code in (302, 303)
    supervisor = staff_client(app)
    login(supervisor, make_user("supervisor"))
    assert post_action(supervisor, web.code, "close", {"publish": "y"}).status_code in (302, 303)
    page = supervisor.get("/staff/tickets")
    assert supervisor.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302


def records(buffer: io.StringIO) -> list[dict]:
    """The JSON log records written so far (every line must be one)."""
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


# aiosmtpd's own log: it stands for the province's mail server, which is not the app.
PROVIDER_LOGGERS = ("mail.log",)


def leaks(found: list[dict]) -> list[tuple[str, str]]:
    """(trace, logger) for each piece of personal data in FOUND, decoded from JSON."""
    out = []
    for record in found:
        if record.get("logger", "").startswith(PROVIDER_LOGGERS):
            continue
        text = " ".join(str(v) for v in record.values())
        out += [(t, record.get("logger", "")) for t in traces() if t in text]
    return out


def test_a_full_run_logs_no_personal_data(app, client, production_logging, providers):
    """Test that intake through every channel, routing, staff work and the outbox (failures
    included) write no phone number, email or name into the logs."""
    smtp, twilio = providers
    submit_everywhere(app, client)
    make_worker(app, list(app.config["RQ_QUEUES"])).work(burst=True)
    work_tickets(app)
    make_worker(app, list(app.config["RQ_QUEUES"])).work(burst=True)
    # The run did happen: SMS and mail went out, one of each refused by the provider.
    assert len(twilio.requests) >= 4 and smtp.messages
    found = records(production_logging)
    loggers = {r["logger"] for r in found}
    assert {"rq.worker", "hotline.notifications.sender", "twilio.http_client"} <= loggers
    assert any("via sms: failed" in r["message"] for r in found)  # Twilio refused a number
    assert any("via email: failed" in r["message"] for r in found)  # the server refused one
    assert leaks(found) == []
    # The search works (a name planted now is found, however JSON encodes it), and so does
    # the formatter's scrubbing of what a careless message would let through.
    logging.getLogger("planted").warning("caller %s (%s)", "+84" + SMS_PHONE[1:], WEB["name"])
    planted = records(production_logging)[-1]
    assert leaks([planted]) == [(WEB["name"], "planted")]
    assert planted["message"] == f"caller <phone> ({WEB['name']})"


def test_a_database_error_logged_with_its_traceback_quotes_no_values(production_logging):
    """Test that a failed statement, logged with its traceback (as the worker logs a failed
    job and Flask an unhandled error, e.g. during a database outage), does not quote the
    citizen's data it carried (the engine hides statement parameters)."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    phone = "+84" + WEB["phone"][1:]
    try:
        db.session.execute(
            insert(Ticket).values(
                code=None, phone=phone, email=WEB["email"], citizen_name=WEB["name"]
            )
        )
    except IntegrityError:
        logging.getLogger("hotline.test").exception("storing the ticket failed")
    finally:
        db.session.rollback()
    found = records(production_logging)
    assert any("storing the ticket failed" in r["message"] for r in found)
    assert "parameters hidden" in " ".join(str(r.get("exc_info", "")) for r in found)
    assert leaks(found) == []


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        (
            "DETAIL:  Failing row contains (1, Lê Thị Hoa, +84987654321).",
            "DETAIL:  Failing row contains (…).",
        ),
        (
            "Key (channel, provider_id)=(sms, SM42) already exists.",
            "Key (channel, provider_id)=(…) already exists.",
        ),
        ("to hoa.le@example.vn refused", "to <email> refused"),
        ("The 'To' number +84987654321 is not valid", "The 'To' number <phone> is not valid"),
        ("called 0987 654 321, then 84987654321", "called <phone>, then <phone>"),
        (
            "ticket 2632460206 at 2026-03-02 08:00:00, outbox 12",
            "ticket 2632460206 at 2026-03-02 08:00:00, outbox 12",
        ),
        ("job SM0987654321abc", "job SM0987654321abc"),
    ],
)
def test_log_lines_are_scrubbed_but_keep_ids_codes_and_times(raw, logged):
    """Test the formatter's scrubbing: quoted rows and keys, emails and phone numbers go;
    ticket codes, dates and provider ids stay."""
    from hotline.log_privacy import scrub

    assert scrub(raw) == logged
