"""Tests of recording downloads: a real local HTTP server stands in for Twilio's media URLs."""

from __future__ import annotations

import base64
import io
import math
import struct
import threading
import wave
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError

import pytest
from rq import Queue
from sqlalchemy import select

from hotline.extensions import db
from hotline.intake.recordings import enqueue_missed_recordings, fetch_recording
from hotline.models import Attachment
from hotline.storage import get_store
from hotline.timeutil import utcnow
from tests import factories
from tests.intake.conftest import twilio_post
from tests.web.staff_helpers import login, make_user, staff_client
from workers.worker import make_worker

ACCOUNT = "AC" + "0" * 32  # TestConfig.TWILIO_ACCOUNT_SID
TOKEN = "test-auth-token"  # TestConfig.TWILIO_AUTH_TOKEN
CALL = {"CallSid": "CA" + "e" * 32, "From": "0912345678", "To": "+842623000000"}


def small_wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """Return a mono 16-bit WAV of a 440 Hz tone, as Twilio records calls (8 kHz)."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


WAV = small_wav()


class FakeTwilioMedia(BaseHTTPRequestHandler):
    """Serves recordings like api.twilio.com: HTTP Basic auth with the account's SID/token."""

    seen: list[tuple[str, str]] = []
    bodies = {"REgood.wav": (WAV, "audio/x-wav"), "REpage.wav": (b"<html>nope</html>", "text/html")}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        auth = self.headers.get("Authorization", "")
        self.seen.append((self.path, auth))
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if auth != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, ctype = self.bodies.get(self.path.rsplit("/", 1)[-1], (b"", ""))
        if not body:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def media_server(app, monkeypatch) -> Iterator[str]:
    """A local server for recordings; the app fetches WAV from it (and from nowhere else)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilioMedia)
    # Polling every 50 ms, shutdown() returns at once (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setitem(app.config, "TWILIO_RECORDING_URL_PREFIXES", (base + "/2010-04-01/",))
    monkeypatch.setitem(app.config, "RECORDING_FORMAT", "wav")
    FakeTwilioMedia.seen = []
    yield base
    server.shutdown()
    server.server_close()


def _recording_url(base: str, sid: str) -> str:
    return f"{base}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}"


def _attachment(source_url: str, **fields) -> Attachment:
    ticket = factories.ticket(channel="voice")
    item = Attachment(ticket=ticket, kind="recording", source_url=source_url, **fields)
    db.session.add(item)
    db.session.commit()
    return item


def test_recording_callback_enqueues_the_download_and_a_worker_stores_it(
    app, client, redis_conn, media_server
):
    """Test that a recording callback queues `fetch_recording`, and a real worker downloads
    the WAV with the account's credentials and fills the attachment."""
    twilio_post(client, "/twilio/voice/speech", {**CALL, "SpeechResult": "Cây đổ chắn đường"})
    callback = {
        **CALL,
        "RecordingUrl": _recording_url(media_server, "REgood"),
        "RecordingSid": "REgood",
        "RecordingDuration": "9",
        "RecordingStatus": "completed",
    }
    assert twilio_post(client, "/twilio/voice/recording", callback).status_code == 204
    item = db.session.execute(select(Attachment)).scalar_one()
    assert Queue("low", connection=redis_conn).job_ids == [f"fetch-recording-{item.id}"]

    make_worker(app, ["low"]).work(burst=True)

    db.session.expire_all()
    item = db.session.get(Attachment, item.id)
    assert (item.content_type, item.size) == ("audio/wav", len(WAV))
    with get_store().open(item.storage_key) as stored:
        assert stored.read() == WAV
    [(path, auth)] = FakeTwilioMedia.seen
    assert path.endswith("/Recordings/REgood.wav") and auth.startswith("Basic ")


def test_download_needs_the_accounts_credentials(app, media_server, monkeypatch):
    """Test that without the right token the server refuses, the job fails (RQ retries it),
    and nothing is stored."""
    item = _attachment(_recording_url(media_server, "REgood"))
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "not-the-token")
    with pytest.raises(HTTPError) as refused:
        fetch_recording(item.id)
    assert refused.value.code == 401
    refused.value.close()
    db.session.expire_all()
    item = db.session.get(Attachment, item.id)
    assert item.storage_key is None and item.data["fetch_attempts"] == 1
    assert [auth for _path, auth in FakeTwilioMedia.seen][0].startswith("Basic ")


def test_fetched_recording_plays_on_the_staff_ticket_page(app, media_server):
    """Test that once fetched the ticket page has an <audio> player whose source streams the
    WAV inline (with ranges, so the player can seek)."""
    item = _attachment(_recording_url(media_server, "REgood"))
    staff = staff_client(app)
    login(staff, make_user("operator"))
    code = item.ticket.code
    assert "Tệp chưa được tải về hệ thống." in staff.get(f"/staff/tickets/{code}").text
    assert fetch_recording(item.id) == "stored"
    assert fetch_recording(item.id) == "already stored"
    page = staff.get(f"/staff/tickets/{code}").text
    assert f'<audio controls preload="none" src="/staff/attachments/{item.id}"' in page
    with staff.get(f"/staff/attachments/{item.id}") as played:
        assert played.status_code == 200 and played.mimetype == "audio/wav"
        assert played.data == WAV and played.headers["Accept-Ranges"] == "bytes"
        assert not played.headers.get("Content-Disposition", "").startswith("attachment")
    range_ = {"Range": "bytes=0-43"}
    with staff.get(f"/staff/attachments/{item.id}", headers=range_) as part:
        assert part.status_code == 206 and part.data == WAV[:44]


def test_oversized_or_non_audio_downloads_are_refused_for_good(app, media_server, monkeypatch):
    """Test that a file over the size cap or a page that is not audio is not stored, and the
    job ends (no retry) with the reason on the attachment."""
    page = _attachment(_recording_url(media_server, "REpage"))
    assert fetch_recording(page.id).startswith("refused: the download is not")
    monkeypatch.setitem(app.config, "RECORDING_MAX_BYTES", len(WAV) - 1)
    big = _attachment(_recording_url(media_server, "REgood"))
    assert fetch_recording(big.id).startswith("refused: recording of")
    db.session.expire_all()
    for item in (page, big):
        item = db.session.get(Attachment, item.id)
        assert item.storage_key is None and item.data["fetch_refused"]


def test_urls_outside_twilio_are_never_fetched(media_server):
    """Test that a recording URL outside the allowed prefixes gets no request (no SSRF,
    and the credentials go nowhere else)."""
    item = _attachment(f"{media_server}/elsewhere/REgood")
    assert fetch_recording(item.id) == "refused: not a Twilio recording URL"
    assert FakeTwilioMedia.seen == []


def test_no_download_without_twilio_credentials(app, media_server, monkeypatch):
    """Test that without an account (development, the simulator) nothing is requested."""
    item = _attachment(_recording_url(media_server, "REgood"))
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "")
    assert fetch_recording(item.id) == "refused: no Twilio credentials"
    assert FakeTwilioMedia.seen == []


def test_missed_downloads_are_enqueued_again(redis_conn, media_server):
    """Test that the sweep re-enqueues a recording whose job was lost, but not a fresh one,
    a refused one, or one whose downloads failed too often."""
    url = _recording_url(media_server, "REgood")
    old = utcnow() - timedelta(minutes=30)
    lost = _attachment(url, created_at=old)
    _attachment(url)  # just arrived: its own job is on its way
    _attachment(url, created_at=old, data={"fetch_refused": "not audio"})
    _attachment(url, created_at=old, data={"fetch_attempts": 8})
    assert enqueue_missed_recordings() == 1
    assert Queue("low", connection=redis_conn).job_ids == [f"fetch-recording-{lost.id}"]
