"""Tests that a worker dying while a provider has a message never leads to a second send."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotline.extensions import db
from hotline.models import OutboxMessage
from hotline.notifications import sender
from hotline.notifications.sender import (
    INTERRUPTED,
    SENDING_LEASE,
    fail_interrupted,
    flush_outbox,
    send_outbox_message,
)
from hotline.timeutil import utcnow
from tests.workers.test_outbox import _email


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even an `except Exception`."""


def _row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_death_after_the_server_took_the_email_sends_it_once(smtp_server, monkeypatch):
    """Test that a worker dying between the SMTP server's 250 and the outcome write leaves
    the row "sending", which is never sent again and is failed after the lease."""
    message_id = _email("handover")

    def die(*_args, **_kwargs):
        raise WorkerKilled

    monkeypatch.setattr(sender, "_record_outcome", die)
    with pytest.raises(WorkerKilled):
        send_outbox_message(message_id)
    db.session.rollback()
    monkeypatch.undo()
    assert len(smtp_server.messages) == 1
    row = _row(message_id)
    assert (row.status, row.attempts) == ("sending", 1)

    # The job handed back from the dead worker, and the periodic flush, send nothing.
    assert send_outbox_message(message_id) == "sending"
    assert flush_outbox() == 0
    assert _row(message_id).status == "sending"

    assert fail_interrupted(utcnow() + SENDING_LEASE + timedelta(seconds=1)) == 1
    row = _row(message_id)
    assert (row.status, row.last_error, row.next_attempt_at) == ("failed", INTERRUPTED, None)
    assert len(smtp_server.messages) == 1


def test_refusal_before_the_message_is_handed_over_is_retried(smtp_server):
    """Test that a refusal of the envelope (nothing handed over) keeps the row pending."""

    async def busy(server, session, envelope, address, rcpt_options):
        return "451 4.3.0 Try again later"

    smtp_server.handle_RCPT = busy
    message_id = _email("refused")
    assert send_outbox_message(message_id) == "retry"
    row = _row(message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    assert smtp_server.messages == []


def test_outcome_is_written_after_the_database_comes_back(smtp_server, monkeypatch):
    """Test that a database outage right after the send delays the outcome write, not loses
    it (a lost outcome would leave the row looking unsent)."""
    from sqlalchemy.exc import OperationalError

    message_id = _email("db-hiccup")
    real_commit = db.session.commit
    calls = []

    def flaky_commit():
        calls.append(1)
        if len(calls) == 2:  # 1: "sending" before the send; 2: the outcome after it
            raise OperationalError("UPDATE outbox_messages", {}, Exception("server closed"))
        return real_commit()

    monkeypatch.setattr(sender.time, "sleep", lambda _s: None)
    monkeypatch.setattr(db.session, "commit", flaky_commit)
    assert send_outbox_message(message_id) == "sent"
    monkeypatch.undo()
    assert len(calls) == 3
    assert _row(message_id).status == "sent"
    assert len(smtp_server.messages) == 1
