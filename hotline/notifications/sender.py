"""Sending outbox rows: one job per row, with exponential back-off and permanent failures.

A failed attempt is recorded on the row (attempts, last error, next attempt); the periodic
`flush_outbox` job enqueues rows whose next attempt is due. RQ's own retry is not used for
these jobs: the back-off lives in the database, so it survives a Redis restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import OperationalError

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
# A row is "sending" from the moment the provider may take it until its outcome is
# written. A worker that dies in between leaves it "sending": whether the provider took it
# is unknown, so it is failed (for a person to check) rather than sent again, possibly twice.
# The lease outlasts any live send (SMTP and HTTP time-outs, the outcome write below).
SENDING_LEASE = timedelta(minutes=2)
INTERRUPTED = (
    "interrupted while the provider had the message (the worker stopped): it may have been "
    "sent; not retried, so that it is never sent twice"
)
# Waits (s) while the outcome of a message the provider took cannot be written (database
# restarting): the outcome must not be lost, or the row would look unsent.
OUTCOME_WRITE_WAITS = (1, 2, 4, 8, 15, 30)


def backoff(attempts: int) -> timedelta:
    """Return the wait after the ATTEMPTS-th failed attempt: 1, 2, 4 ... minutes, at most 6 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _deliver(
    message: OutboxMessage, rendered: RenderedMessage, hand_over: Callable[[], None]
) -> str:
    reference = message.idempotency_key
    if message.channel == "sms":
        return sms_sender().send(message.recipient, rendered.text, reference, hand_over)
    if message.channel == "email":
        email = build_email(
            message.recipient, rendered.subject, rendered.text, rendered.html, reference
        )
        return send_email(email, hand_over)
    raise PermanentSendError(f"unknown channel {message.channel!r}")


def _record_outcome(message_id: int, changes: dict[str, Any]) -> None:
    """Write the outcome of a message handed to its provider, waiting out a database outage."""
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    for wait in (*OUTCOME_WRITE_WAITS, None):
        try:
            db.session.execute(stmt)
            db.session.commit()
            return
        except OperationalError:
            db.session.rollback()
            if wait is None:
                raise
            log.warning(
                "outbox %s: outcome not written yet (database); again in %s s", message_id, wait
            )
            time.sleep(wait)


def _lock(message_id: int) -> OutboxMessage | None:
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        # Two workers given the same row: the second skips it instead of sending it again.
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.execute(stmt).scalar_one_or_none()


def _claim(message_id: int, now: datetime) -> OutboxMessage | str:
    """Return the locked row if it is pending and due, else why it is not sent now.

    A row not to be sent is released (rolled back) at once.
    """
    message = _lock(message_id)
    if message is None:
        reason = "missing"
    elif message.status != "pending":
        reason = message.status
    elif message.next_attempt_at is not None and message.next_attempt_at > now:
        reason = "not-due"
    else:
        return message
    db.session.rollback()
    return reason


def _sent_changes(provider_id: str | None, payload: dict[str, Any], now: datetime) -> dict:
    """Return the row's changes once the provider took it; the one-time secrets go."""
    changes: dict[str, Any] = {
        "status": "sent",
        "sent_at": now,
        "provider_id": provider_id[:120] if provider_id else None,
        "last_error": "",
        "next_attempt_at": None,
    }
    if any(k in payload for k in SECRET_PAYLOAD_KEYS):
        changes["payload"] = {k: v for k, v in payload.items() if k not in SECRET_PAYLOAD_KEYS}
    return changes


def _retry_changes(exc: Exception, attempts: int, now: datetime) -> tuple[str, dict[str, Any]]:
    """Return the outcome and row changes of a failure that may work next time.

    After MAX_ATTEMPTS the row fails for good; before, it waits `backoff(attempts)`.
    """
    detail = str(exc) if isinstance(exc, TransientSendError) else type(exc).__name__
    changes: dict[str, Any] = {"status": "pending", "last_error": detail[:1000]}
    if attempts >= MAX_ATTEMPTS:
        changes.update(status="failed", next_attempt_at=None)
        return "failed", changes
    changes["next_attempt_at"] = now + backoff(attempts)
    return "retry", changes


def send_outbox_message(message_id: int, now: datetime | None = None) -> str:
    """Send one outbox row if it is pending and due; record the outcome.

    The row stays locked (PostgreSQL) until the provider is about to take the message;
    then it is committed as "sending", which keeps every other worker off it, and after
    the provider answered the outcome is written. A worker killed in between leaves the
    row "sending": `fail_interrupted` fails it after SENDING_LEASE, it is never resent.

    Args:
        message_id: the row's id.
        now: the current instant (tests).

    Returns:
        "sent", "retry", "failed", or why nothing was done ("missing", "not-due",
        or the row's status when it is no longer pending).
    """
    now = now or utcnow()
    message = _claim(message_id, now)
    if isinstance(message, str):
        return message
    attempts = message.attempts = (message.attempts or 0) + 1
    template, channel = message.template, message.channel
    payload = dict(message.payload or {})
    handed_over = False

    def hand_over() -> None:
        # The provider may take the message from here on: make that durable first.
        nonlocal handed_over
        message.status = "sending"
        message.next_attempt_at = now + SENDING_LEASE
        db.session.commit()
        handed_over = True

    segments = 0
    changes: dict[str, Any]
    try:
        rendered = render_message(message)
        if channel == "sms":
            segments = count_segments(rendered.text).segments  # what the SMS costs
        provider_id = _deliver(message, rendered, hand_over)
    except PermanentSendError as exc:
        outcome = "failed"
        changes = {"status": "failed", "last_error": str(exc)[:1000], "next_attempt_at": None}
    except Exception as exc:  # noqa: BLE001 - anything else may work next time
        outcome, changes = _retry_changes(exc, attempts, now)
        if not isinstance(exc, TransientSendError):
            log.exception("outbox %s (%s) raised", message_id, template)
    else:
        outcome = "sent"
        changes = _sent_changes(provider_id, payload, now)
    # No recipient in the log: ids and templates only.
    what, costs = f"{template} via {channel}", f", {segments} SMS segments" if segments else ""
    log.info("outbox %s %s: %s (attempt %s%s)", message_id, what, outcome, attempts, costs)
    if handed_over:
        _record_outcome(message_id, changes)  # the row was committed: write it anew
    else:
        _apply(message, changes)
    return outcome


def _apply(message: OutboxMessage, changes: dict[str, Any]) -> None:
    """Write CHANGES on the row still locked by this transaction, and commit."""
    for name, value in changes.items():
        setattr(message, name, value)
    db.session.commit()


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


def fail_interrupted(now: datetime | None = None) -> int:
    """Fail the rows left "sending" past their lease by a worker that died mid-send.

    Returns:
        How many rows were failed.
    """
    now = now or utcnow()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now)
        .values(status="failed", last_error=INTERRUPTED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    # An UPDATE without RETURNING gives a CursorResult; Session.execute is typed for any.
    interrupted = cast(CursorResult[Any], result).rowcount
    db.session.commit()
    if interrupted:
        log.warning(
            "outbox: %d message(s) interrupted mid-send, failed without resend", interrupted
        )
    return interrupted


def flush_outbox(now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue a send job for every due pending row (the safety net behind every writer).

    Returns:
        How many rows were handed to the queue.
    """
    fail_interrupted(now)
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


def record_delivery_status(
    provider_id: str, status: str, error_code: str | None = None, reference: str | None = None
) -> bool:
    """Record a provider's delivery receipt for the message it knows as PROVIDER_ID.

    Args:
        provider_id: the provider's message id (Twilio's MessageSid, the gateway's id).
        status: the provider's status (queued, sent, delivered, undelivered, failed...).
        error_code: the provider's error code, if any.
        reference: our own id of the message (its idempotency key, sent to the carrier
            gateway as `message_id`), looked up when no message has PROVIDER_ID.

    Returns:
        False when no message has that id.
    """
    message = None
    if provider_id:
        message = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
        ).scalar_one_or_none()
    if message is None and reference:
        message = db.session.execute(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key == reference, OutboxMessage.channel == "sms"
            )
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
