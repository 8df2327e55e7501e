"""Outbound messages (the outbox) and the record of escalation steps taken."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import Model
from hotline.models.types import UTCDateTime
from hotline.timeutil import utcnow

# "sending": handed to the provider, outcome not written yet (see notifications.sender).
OUTBOX_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "undelivered")


class OutboxMessage(Model):
    """An SMS or email to send, written in the transaction of the change that causes it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index(
            "ix_outbox_pending_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms | email
    recipient: Mapped[str] = mapped_column(String(255))
    template: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str | None] = mapped_column(String(120), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EscalationStep(Model):
    """One rung of the escalation ladder reached by one ticket, timer and deadline: taken once."""

    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("ticket_id", "timer", "level", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    timer: Mapped[str] = mapped_column(String(12))  # acknowledge | resolve
    level: Mapped[str] = mapped_column(String(12))  # at_risk | breached | leadership
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
