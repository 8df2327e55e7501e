"""The chaos drill's load: citizens reporting through every channel, on 127.0.0.1 only.

Each submission carries a unique marker in its text, so the drill can find its ticket in the
database. A submission that fails (no answer, 5xx) is retried the way its sender would,
with the same identity (the carrier's message id, Twilio's MessageSid/CallSid, the API's
Idempotency-Key, the form's submission id and CSRF token), so a retry that reaches the app
twice must not make two tickets. Open311 has no such identity: it is not retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from twilio.request_validator import RequestValidator

CHANNELS = ("gateway", "twilio_sms", "voice", "web", "api", "open311")
RETRY_WAITS = (1, 2, 4, 8)  # seconds between attempts: rides out a 10-second outage
TIMEOUT = (3, 30)
CODE_RE = re.compile(r"\b(\d{10})\b")

# Reports that the province's routing rules send to an agency (field and commune named).
PROBLEMS = (
    ("moi-truong", "Rác thải đổ trộm bốc mùi hôi thối, gây ô nhiễm"),
    ("giao-thong", "Ổ gà lớn trên đường, nhiều xe máy bị ngã"),
    ("dien", "Mất điện cả khu dân cư từ sáng, dây điện bị đứt"),
    ("cap-thoat-nuoc", "Nước sinh hoạt bị đục, có mùi lạ, mất nước nhiều ngày"),
    ("trat-tu-do-thi", "Lấn chiếm vỉa hè để buôn bán, xây dựng trái phép"),
    ("y-te", "Trạm y tế thiếu thuốc, người bệnh phải chờ lâu"),
)
COMMUNES = ("phường Tân An", "phường Buôn Ma Thuột", "phường Ea Kao", "xã Hòa Phú", "xã Cư Êbur")


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a given loopback address: nginx then sees one citizen per address."""

    def __init__(self, source: str, **kwargs) -> None:
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Submission:
    """One citizen's report and what became of it."""

    marker: str
    channel: str
    ok: bool = False
    code: str | None = None
    attempts: int = 0
    retries: int = 0
    statuses: list[int | str] = field(default_factory=list)
    refusal: str = ""  # the start of a 4xx answer, for the post-mortem


@dataclass
class LoadConfig:
    """Where to send and with which secrets."""

    base_url: str  # https://127.0.0.1:PORT (nginx), also the signed URL base
    ca_file: str
    run_id: str
    twilio_token: str
    twilio_sid: str
    twilio_number: str
    gateway_secret: str
    api_key: str
    threads: int = 6
    rate: float = 6.0  # submissions per second, all threads together


class LoadGenerator:
    """Threads that submit reports round-robin over the channels until stopped."""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.submissions: list[Submission] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.counter = 0
        self.threads = [
            threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            for i in range(config.threads)
        ]
        self.validator = RequestValidator(config.twilio_token)

    # --- plumbing --------------------------------------------------------------------------

    def _session(self, source: str) -> requests.Session:
        session = requests.Session()
        # Not from the environment: no proxy, and REQUESTS_CA_BUNDLE would override `verify`.
        session.trust_env = False
        session.verify = self.config.ca_file
        adapter = SourceAddressAdapter(source)
        session.mount("https://", adapter)
        return session

    def _next(self, channel: str) -> Submission:
        with self.lock:
            self.counter += 1
            submission = Submission(f"CHAOS-{self.config.run_id}-{self.counter:05d}", channel)
            self.submissions.append(submission)
        return submission

    def _text(self, marker: str, rng: random.Random) -> str:
        _code, problem = rng.choice(PROBLEMS)
        return f"{problem} tại {rng.choice(COMMUNES)}, đề nghị xử lý sớm. Mã kiểm tra {marker}"

    @staticmethod
    def _phone(rng: random.Random) -> str:
        return f"+849{rng.choice('0134678')}{rng.randrange(10**7):07d}"

    def _send(self, submission: Submission, call) -> requests.Response | None:
        """Call CALL until it answers below 500, at most len(RETRY_WAITS)+1 times."""
        for wait in (*RETRY_WAITS, None):
            submission.attempts += 1
            try:
                response = call()
            except requests.RequestException as exc:
                submission.statuses.append(type(exc).__name__)
            else:
                submission.statuses.append(response.status_code)
                if 400 <= response.status_code < 500 and not submission.refusal:
                    submission.refusal = response.text[:300]
                if response.status_code < 500:
                    return response
            if wait is None or self.stop_event.is_set() and wait > 2:
                return None
            submission.retries += 1
            time.sleep(wait)
        return None

    def _run(self, index: int) -> None:
        rng = random.Random(f"{self.config.run_id}-{index}")
        period = self.config.threads / self.config.rate
        session = self._session(f"127.0.0.{10 + index}")
        turn = index
        while not self.stop_event.is_set():
            started = time.monotonic()
            channel = CHANNELS[turn % len(CHANNELS)]
            turn += 1
            submission = self._next(channel)
            try:
                getattr(self, f"_submit_{channel}")(submission, session, rng)
            except Exception as exc:  # noqa: BLE001 - a bug here must not stop the drill
                submission.statuses.append(f"client error {type(exc).__name__}: {exc}")
            self.stop_event.wait(max(0.0, period - (time.monotonic() - started)))

    # --- channels --------------------------------------------------------------------------

    def _submit_gateway(self, sub: Submission, session: requests.Session, rng) -> None:
        raw = json.dumps(
            {
                "message_id": f"gw-{sub.marker}",
                "from": self._phone(rng).replace("+84", "0"),
                "to": "1022",
                "text": self._text(sub.marker, rng),
                "received_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
        ).encode()
        signature = hmac.new(self.config.gateway_secret.encode(), raw, hashlib.sha256).hexdigest()
        response = self._send(
            sub,
            lambda: session.post(
                self.config.base_url + "/sms/gateway",
                data=raw,
                headers={"Content-Type": "application/json", "X-Hotline-Signature": signature},
                timeout=TIMEOUT,
            ),
        )
        if response is not None and response.status_code == 200:
            sub.ok, sub.code = True, _code_in(response.json().get("reply", ""))

    def _twilio_post(self, sub, session, url: str, params: dict[str, str]):
        signature = self.validator.compute_signature(url, params)
        return self._send(
            sub,
            lambda: session.post(
                url, data=params, headers={"X-Twilio-Signature": signature}, timeout=TIMEOUT
            ),
        )

    def _submit_twilio_sms(self, sub: Submission, session: requests.Session, rng) -> None:
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": self.config.twilio_sid,
            "From": self._phone(rng),
            "To": self.config.twilio_number,
            "Body": self._text(sub.marker, rng),
            "NumMedia": "0",
        }
        response = self._twilio_post(sub, session, self.config.base_url + "/twilio/sms", params)
        if response is not None and response.status_code == 200:
            sub.ok, sub.code = True, _code_in(response.text)

    def _submit_voice(self, sub: Submission, session: requests.Session, rng) -> None:
        call = {
            "CallSid": "CA" + uuid.uuid4().hex,
            "AccountSid": self.config.twilio_sid,
            "From": self._phone(rng),
            "To": self.config.twilio_number,
            "CallStatus": "in-progress",
            "Direction": "inbound",
        }
        url = self.config.base_url + "/twilio/voice"
        # The caller presses 1 (report), then a field's key, then speaks.
        for digits in (None, "1", rng.choice("1234569")):
            params = dict(call, **({"Digits": digits} if digits else {}))
            response = self._twilio_post(sub, session, url, params)
            if response is None or response.status_code != 200:
                return
            url = _gather_action(response.text)
            if url is None:
                sub.statuses.append("no <Gather> in the TwiML")
                return
        params = dict(call, SpeechResult=self._text(sub.marker, rng), Confidence="0.91")
        response = self._twilio_post(sub, session, url, params)
        if response is not None and response.status_code == 200:
            sub.ok, sub.code = True, _spoken_code(response.text)
            status = dict(call, CallStatus="completed", CallDuration="75")
            self._twilio_post(Submission("status", "voice"), session, url_status(url), status)

    def _submit_web(self, sub: Submission, session: requests.Session, rng) -> None:
        # A citizen's own browser: a fresh cookie jar, from one of many addresses.
        browser = self._session(f"127.0.1.{rng.randrange(1, 250)}")
        page = self._send(sub, lambda: browser.get(self.config.base_url + "/", timeout=TIMEOUT))
        if page is None or page.status_code != 200:
            return
        fields = dict(
            re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]+)"', page.text)
        )
        form = {
            **fields,
            "description": self._text(sub.marker, rng),
            "category": "",
            "commune": "",
            "address": f"Số {rng.randrange(1, 300)} đường Lê Duẩn",
            "name": "Nguyễn Văn An",
            "phone": self._phone(rng),
            "email": "",
            "consent": "y",
            "website": "",
        }
        response = self._send(
            sub,
            lambda: browser.post(
                self.config.base_url + "/",
                data=form,
                # A browser sends it; over https Flask-WTF checks it against the host.
                headers={"Referer": self.config.base_url + "/"},
                allow_redirects=False,
                timeout=TIMEOUT,
            ),
        )
        if response is not None and response.status_code == 302:
            sub.ok = True
            done = browser.get(self.config.base_url + "/submitted", timeout=TIMEOUT)
            sub.code = _code_in(done.text) if done.status_code == 200 else None
        browser.close()

    def _submit_api(self, sub: Submission, session: requests.Session, rng) -> None:
        body = {
            "description": self._text(sub.marker, rng),
            "address": "Thôn 3",
            "citizen_name": "Trần Thị Bình",
            "phone": self._phone(rng),
            "contact_consent": True,
        }
        response = self._send(
            sub,
            lambda: session.post(
                self.config.base_url + "/api/v1/tickets",
                json=body,
                headers={"X-API-Key": self.config.api_key, "Idempotency-Key": sub.marker},
                timeout=TIMEOUT,
            ),
        )
        if response is not None and response.status_code in (200, 201):
            sub.ok, sub.code = True, response.json().get("code")

    def _submit_open311(self, sub: Submission, session: requests.Session, rng) -> None:
        category, problem = rng.choice(PROBLEMS)
        form = {
            "api_key": self.config.api_key,
            "service_code": category,
            "description": f"{problem}. Mã kiểm tra {sub.marker}",
            "address_string": rng.choice(COMMUNES),
            "phone": self._phone(rng),
            "first_name": "Lê",
            "last_name": "Văn Cường",
        }
        # GeoReport v2 has no idempotency key: a retry could make a second ticket.
        sub.attempts += 1
        try:
            response = session.post(
                self.config.base_url + "/open311/v2/requests.json", data=form, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            sub.statuses.append(type(exc).__name__)
            return
        sub.statuses.append(response.status_code)
        if response.status_code == 200:
            sub.ok, sub.code = True, response.json()[0].get("service_request_id")

    # --- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the threads."""
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop submitting; wait for the submissions in flight."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(60)

    def save(self, path: Path) -> None:
        """Write every submission as a JSON line (for a post-mortem)."""
        with path.open("w", encoding="utf-8") as handle:
            for sub in self.submissions:
                handle.write(json.dumps(sub.__dict__, ensure_ascii=False) + "\n")


def _code_in(text: str) -> str | None:
    match = CODE_RE.search(text or "")
    return match.group(1) if match else None


def _gather_action(twiml: str) -> str | None:
    gather = ET.fromstring(twiml).find(".//Gather")
    return gather.get("action") if gather is not None else None


def _spoken_code(twiml: str) -> str | None:
    for say in ET.fromstring(twiml).iter("Say"):
        digits = (say.text or "").replace(", ", "")
        if re.fullmatch(r"\d{10}", digits):
            return digits
    return None


def url_status(any_voice_url: str) -> str:
    """The call status callback URL, next to any voice webhook URL."""
    return any_voice_url.split("/twilio/voice")[0] + "/twilio/voice/status"
