"""Sending outbox rows: one job per row, with exponential back-off and permanent failures.

A failed attempt is recorded on the row (attempts, last error, next attempt); the periodic
`flush_outbox` job enqueues rows whose next attempt is due. RQ's own retry is not used for
these jobs: the back-off lives in the database, so it survives a Redis restart.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.extensions import db
from hotline.jobs import PendingJob, push_job
from hotline.models import OutboxMessage
from hotline.notifications.errors import PermanentSendError, TransientSendError
from hotline.notifications.mailer import build_email, send_email
from hotline.notifications.render import RenderedMessage, render_message
from hotline.notifications.sms import count_segments, sms_sender
from hotline.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_CAP = timedelta(hours=6)
# Payload entries that must not outlive the sending (the one-time rating link).
SECRET_PAYLOAD_KEYS = ("rating_url",)


def backoff(attempts: int) -> timedelta:
    """Return the wait after the ATTEMPTS-th failed attempt: 1, 2, 4 ... minutes, at most 6 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _deliver(message: OutboxMessage, rendered: RenderedMessage) -> str:
    reference = message.idempotency_key
    if message.channel == "sms":
        return sms_sender().send(message.recipient, rendered.text, reference)
    if message.channel == "email":
        email = build_email(
            message.recipient, rendered.subject, rendered.text, rendered.html, reference
        )
        return send_email(email)
    raise PermanentSendError(f"unknown channel {message.channel!r}")


def _lock(message_id: int) -> OutboxMessage | None:
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        # Two workers given the same row: the second skips it instead of sending it again.
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.execute(stmt).scalar_one_or_none()


def send_outbox_message(message_id: int, now: datetime | None = None) -> str:
    """Send one outbox row if it is pending and due; record the outcome.

    The row stays locked (PostgreSQL) while the provider is called, so a second worker
    cannot send it at the same time.

    Args:
        message_id: the row's id.
        now: the current instant (tests).

    Returns:
        "sent", "retry", "failed", or why nothing was done ("missing", "not-due",
        or the row's status when it is no longer pending).
    """
    now = now or utcnow()
    message = _lock(message_id)
    if message is None:
        db.session.rollback()
        return "missing"
    if message.status != "pending":
        db.session.rollback()
        return message.status
    if message.next_attempt_at is not None and message.next_attempt_at > now:
        db.session.rollback()
        return "not-due"
    message.attempts = (message.attempts or 0) + 1
    segments = 0
    try:
        rendered = render_message(message)
        if message.channel == "sms":
            segments = count_segments(rendered.text).segments  # what the SMS costs
        provider_id = _deliver(message, rendered)
    except PermanentSendError as exc:
        outcome = "failed"
        message.status = "failed"
        message.last_error = str(exc)[:1000]
        message.next_attempt_at = None
    except Exception as exc:  # noqa: BLE001 - anything else may work next time
        detail = str(exc) if isinstance(exc, TransientSendError) else type(exc).__name__
        message.last_error = detail[:1000]
        if message.attempts >= MAX_ATTEMPTS:
            outcome = "failed"
            message.status = "failed"
            message.next_attempt_at = None
        else:
            outcome = "retry"
            message.next_attempt_at = now + backoff(message.attempts)
        if not isinstance(exc, TransientSendError):
            log.exception("outbox %s (%s) raised", message.id, message.template)
    else:
        outcome = "sent"
        message.status = "sent"
        message.sent_at = now
        message.provider_id = provider_id[:120] if provider_id else None
        message.last_error = ""
        message.next_attempt_at = None
        if any(k in (message.payload or {}) for k in SECRET_PAYLOAD_KEYS):
            message.payload = {
                k: v for k, v in message.payload.items() if k not in SECRET_PAYLOAD_KEYS
            }
    # No recipient in the log: ids and templates only.
    log.info(
        "outbox %s %s via %s: %s (attempt %s%s)",
        message.id,
        message.template,
        message.channel,
        outcome,
        message.attempts,
        f", {segments} SMS segments" if segments else "",
    )
    db.session.commit()
    return outcome


def due_message_ids(now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Return the ids of pending rows whose next attempt is due, oldest first."""
    now = now or utcnow()
    return list(
        db.session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        ).scalars()
    )


def flush_outbox(now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue a send job for every due pending row (the safety net behind every writer).

    Returns:
        How many rows were handed to the queue.
    """
    ids = due_message_ids(now, limit)
    db.session.rollback()
    pushed = 0
    for message_id in ids:
        job = PendingJob(
            "workers.jobs.send_outbox_message",
            (message_id,),
            queue="default",
            job_id=f"outbox-{message_id}",
            retry=0,
        )
        pushed += bool(push_job(job))
    return pushed


def record_delivery_status(provider_id: str, status: str, error_code: str | None = None) -> bool:
    """Record a provider's delivery receipt for the message it knows as PROVIDER_ID.

    Args:
        provider_id: the provider's message id (Twilio's MessageSid).
        status: the provider's status (queued, sent, delivered, undelivered, failed...).
        error_code: the provider's error code, if any.

    Returns:
        False when no message has that id.
    """
    message = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
    ).scalar_one_or_none()
    if message is None:
        return False
    final = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}
    # Receipts can arrive out of order: a late "sent" never undoes "delivered".
    if status in final and message.status in ("sent", "pending", "delivered", "undelivered"):
        message.status = final[status]
        if error_code:
            message.last_error = f"delivery {status}: error {error_code}"[:1000]
    db.session.commit()
    return True
