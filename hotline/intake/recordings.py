"""Call recordings: downloaded from Twilio into our attachment store, so staff can play them.

Twilio's recording URLs need the account's credentials, so the staff page cannot play them
from Twilio. When a recording arrives, a `fetch_recording` job (low queue, retried with
back-off) downloads it with HTTP Basic auth, checks that it is audio and not too large,
stores it through `hotline.storage` and fills the attachment's `storage_key`,
`content_type` and `size`. A periodic sweep re-enqueues recordings whose job was lost.

Only URLs under TWILIO_RECORDING_URL_PREFIXES are fetched (Twilio's API by default): the
credentials are never sent anywhere else, not even after a redirect. Optional app config:
RECORDING_FORMAT ("mp3", or "wav"), RECORDING_MAX_BYTES (30 MB).
"""

from __future__ import annotations

import logging
import time
import urllib.request
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update

from hotline.extensions import db
from hotline.jobs import JOB_PATHS, PendingJob, push_job
from hotline.models import Attachment
from hotline.storage import get_store
from hotline.timeutil import utcnow

log = logging.getLogger(__name__)

FETCH_QUEUE = "low"
DEFAULT_URL_PREFIXES = ("https://api.twilio.com/",)
DEFAULT_FORMAT = "mp3"  # a quarter of the WAV's size; both play in every browser
MAX_BYTES = 30 * 1024 * 1024  # about 2 hours of Twilio's MP3, 30 minutes of its WAV
CONNECT_TIMEOUT = 10.0  # seconds per socket operation
TOTAL_TIMEOUT = 120.0  # seconds for the whole download
CHUNK = 64 * 1024
# The sweep: a recording still not stored this long after it arrived lost its job; one
# whose download failed this many times (deleted at Twilio, say) is left alone.
MISSED_AFTER = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=2)
MAX_FETCH_ATTEMPTS = 8


class RecordingRefused(Exception):
    """The download is not a recording we keep (too large, not audio): no point retrying."""


def fetch_job(attachment_id: int) -> PendingJob:
    """Return the job that downloads attachment ATTACHMENT_ID (one job id per recording)."""
    return PendingJob(
        JOB_PATHS["fetch_recording"],
        (attachment_id,),
        queue=FETCH_QUEUE,
        job_id=f"fetch-recording-{attachment_id}",
    )


def _waiting_recordings():
    return select(Attachment.id).where(
        Attachment.kind == "recording",
        Attachment.storage_key.is_(None),
        Attachment.source_url.is_not(None),
    )


def enqueue_recording_fetches(ticket_id: int) -> int:
    """Enqueue the download of every recording of TICKET_ID still only at Twilio.

    Called after the commit that stored them; a job already waiting is not queued twice.

    Returns:
        How many jobs were pushed (or found waiting).
    """
    ids = db.session.execute(_waiting_recordings().where(Attachment.ticket_id == ticket_id))
    return sum(push_job(fetch_job(attachment_id)) for attachment_id in ids.scalars())


def enqueue_missed_recordings(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue the downloads that never happened (Redis was down, a job was lost).

    Returns:
        How many jobs were pushed (or found waiting).
    """
    now = now or utcnow()
    rows = db.session.execute(
        select(Attachment.id, Attachment.data)
        .where(
            Attachment.id.in_(_waiting_recordings()),
            Attachment.created_at <= now - MISSED_AFTER,
            Attachment.created_at >= now - GIVE_UP_AFTER,
        )
        .order_by(Attachment.id)
        .limit(limit)
    ).all()
    due = [
        row.id
        for row in rows
        if (row.data or {}).get("fetch_attempts", 0) < MAX_FETCH_ATTEMPTS
        and not (row.data or {}).get("fetch_refused")
    ]
    pushed = sum(push_job(fetch_job(attachment_id)) for attachment_id in due)
    if due:
        log.info("recordings: %d of %d missed downloads enqueued", pushed, len(due))
    return pushed


def _sniff_audio(data: bytes) -> tuple[str, str] | None:
    """Return (content type, extension) of DATA when it is WAV or MP3, by its first bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav", "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg", "mp3"
    return None


def _download(url: str, account_sid: str, auth_token: str, max_bytes: int) -> bytes:
    """GET URL with HTTP Basic auth (sent to URL's own prefix only); return at most MAX_BYTES."""
    passwords = urllib.request.HTTPPasswordMgrWithPriorAuth()
    passwords.add_password(None, url, account_sid, auth_token, is_authenticated=True)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))
    request = urllib.request.Request(url, headers={"User-Agent": "hotline-1022/recordings"})
    deadline = time.monotonic() + TOTAL_TIMEOUT
    with opener.open(request, timeout=CONNECT_TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise RecordingRefused(f"recording of {length} bytes is over the limit")
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise RecordingRefused("recording is over the size limit")
            if time.monotonic() > deadline:
                raise TimeoutError("recording download took too long")
            chunks.append(chunk)
    return b"".join(chunks)


def _note(attachment: Attachment, **values: Any) -> None:
    attachment.data = {**(attachment.data or {}), **values}
    db.session.commit()


def fetch_recording(attachment_id: int) -> str:
    """Download a recording from Twilio into the attachment store (the `fetch_recording` job).

    Idempotent: a recording already stored is left alone, and of two concurrent runs only
    one file is kept. A network or HTTP error propagates, so RQ retries the job.

    Args:
        attachment_id: the recording's attachment.

    Returns:
        "stored", "already stored", "missing", "refused: <reason>" or "not a recording".
    """
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        return "missing"
    if attachment.storage_key:
        return "already stored"
    if attachment.kind != "recording" or not attachment.source_url:
        return "not a recording"
    config = current_app.config
    extension = config.get("RECORDING_FORMAT", DEFAULT_FORMAT)
    url = attachment.source_url
    if not url.endswith((".mp3", ".wav")):
        url = f"{url}.{extension}"
    prefixes = tuple(config.get("TWILIO_RECORDING_URL_PREFIXES", DEFAULT_URL_PREFIXES))
    account_sid = config.get("TWILIO_ACCOUNT_SID") or ""
    auth_token = config.get("TWILIO_AUTH_TOKEN") or ""
    if not url.startswith(prefixes):
        _note(attachment, fetch_refused="not a Twilio recording URL")
        return "refused: not a Twilio recording URL"
    if not (account_sid and auth_token):
        # Development and the simulator: no account to fetch with (and nothing to fetch).
        _note(attachment, fetch_refused="no Twilio credentials")
        return "refused: no Twilio credentials"
    _note(attachment, fetch_attempts=(attachment.data or {}).get("fetch_attempts", 0) + 1)
    try:
        data = _download(
            url, account_sid, auth_token, int(config.get("RECORDING_MAX_BYTES", MAX_BYTES))
        )
        kind = _sniff_audio(data)
        if kind is None:
            raise RecordingRefused("the download is not WAV or MP3 audio")
    except RecordingRefused as exc:
        _note(attachment, fetch_refused=str(exc))
        log.warning("recording %d not kept: %s", attachment_id, exc)
        return f"refused: {exc}"
    content_type, stored_extension = kind
    if not _store_once(attachment_id, data, content_type, stored_extension):
        return "already stored"
    db.session.commit()
    return "stored"


def _store_once(attachment_id: int, data: bytes, content_type: str, extension: str) -> bool:
    """Store DATA as the attachment's file unless another run stored one first; say which.

    The UPDATE that sets the storage key only where none is set decides: of two concurrent
    runs one keeps its file, the other rolls back and deletes its own.
    """
    store = get_store()
    key = store.save(data, extension)
    result = db.session.execute(
        update(Attachment)
        .where(Attachment.id == attachment_id, Attachment.storage_key.is_(None))
        .values(storage_key=key, content_type=content_type, size=len(data))
    )
    # An UPDATE without RETURNING gives a CursorResult, but Session.execute is typed for any
    # statement: the cast reaches its rowcount.
    if cast(CursorResult[Any], result).rowcount:
        return True
    db.session.rollback()
    store.delete(key)
    return False
