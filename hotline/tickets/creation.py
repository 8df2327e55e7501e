"""Creating tickets: every channel's intake writes a new ticket here, and only here.

`create_ticket` stores a `Report` as a ticket in state `received`, in one transaction with
its "created" event, the webhook delivery it came from and its files; routing is enqueued
after the commit (`hotline.jobs`). The same code runs on PostgreSQL and SQLite. The names
are re-exported by `hotline.tickets.services`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError

from hotline.extensions import db
from hotline.jobs import JOB_PATHS, PendingJob, defer_job
from hotline.models import (
    CHANNELS,
    PRIORITIES,
    Attachment,
    Category,
    Commune,
    InboundMessage,
    Ticket,
    TicketEvent,
    User,
)
from hotline.models.ticket import derived_columns
from hotline.notifications import messages as notify
from hotline.observability import INTAKE
from hotline.tickets.codes import new_code
from hotline.tickets.errors import InvalidInput, NotFound, PermissionDenied, required_text
from hotline.timeutil import utcnow

ROUTING_JOB_QUEUE = "high"
# A new ticket takes a random code and relies on the unique index: a clash (rare: 10^7
# codes a year) rolls the transaction back and the insert is tried again with another code.
CODE_ATTEMPTS = 20
# The three INSERTs of a new report, built once (SQLAlchemy caches their compiled form).
_INSERT_TICKET = insert(Ticket.__table__)
_INSERT_EVENT = insert(TicketEvent.__table__)
_INSERT_DELIVERY = insert(InboundMessage.__table__)


@dataclass(frozen=True)
class Report:
    """What the citizen reported, as a channel parsed it: a new ticket's own fields.

    Attributes:
        channel: voice, sms, web, api, open311 or operator.
        description: the citizen's words (required).
        category_code: the field the citizen chose, if any.
        commune_id: the commune chosen, if any.
    """

    channel: str
    description: str
    category_code: str | None = None
    commune_id: int | None = None
    priority: str = "normal"
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    citizen_name: str = ""
    phone: str | None = None
    email: str | None = None
    contact_consent: bool = False
    locale: str = "vi"


@dataclass(frozen=True)
class InboundRecord:
    """The webhook delivery a ticket comes from: stored with the ticket, the dedupe key."""

    channel: str
    provider_id: str
    kind: str = "report"
    reply: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def row(self, ticket_id: int | None, now: datetime) -> dict[str, Any]:
        """The columns of its `inbound_messages` row, for the ticket TICKET_ID (if any)."""
        return {
            "ticket_id": ticket_id,
            "channel": self.channel,
            "provider_id": self.provider_id,
            "kind": self.kind,
            "reply": self.reply,
            "data": self.data,
            "received_at": now,
        }


@dataclass(frozen=True)
class NewAttachment:
    """A file kept with a ticket: stored by us (storage_key) or at the provider (source_url)."""

    kind: str  # photo | mms | recording
    storage_key: str | None = None
    source_url: str | None = None
    content_type: str = ""
    size: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewTicket:
    """What `create_ticket` stored: the ticket's id and code, and whether it is new."""

    id: int
    code: str
    created: bool  # False when the delivery was a replay of one that made the ticket

    @property
    def ticket(self) -> Ticket:
        """The stored ticket, read from the session (webhooks that answer with the code
        alone never need it)."""
        return db.session.get_one(Ticket, self.id)


def _attachment_row(ticket_id: int, item: NewAttachment, now: datetime) -> Attachment:
    return Attachment(
        ticket_id=ticket_id,
        kind=item.kind,
        storage_key=item.storage_key,
        source_url=item.source_url,
        content_type=item.content_type,
        size=item.size,
        data=item.data,
        created_at=now,
    )


def _code_taken(code: str) -> bool:
    return bool(db.session.execute(select(exists().where(Ticket.code == code))).scalar())


def find_inbound(channel: str, provider_id: str) -> InboundMessage | None:
    """Return the stored delivery CHANNEL/PROVIDER_ID, if it was seen before."""
    return db.session.execute(
        select(InboundMessage).filter_by(channel=channel, provider_id=provider_id)
    ).scalar_one_or_none()


def record_inbound(inbound: InboundRecord) -> InboundMessage:
    """Store a delivery that creates no ticket (a TRA lookup, an empty SMS) and commit.

    A replay of a known delivery returns the stored one.
    """
    existing = find_inbound(inbound.channel, inbound.provider_id)
    if existing is not None:
        return existing
    row = InboundMessage(**inbound.row(None, utcnow()))
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = find_inbound(inbound.channel, inbound.provider_id)
        if existing is None:
            raise
        return existing
    return row


def routing_job(ticket_id: int, *, fresh: bool = False) -> PendingJob:
    """Return the job that routes ticket TICKET_ID (one id per ticket: pushed twice, it runs
    once). FRESH: the ticket was just created, so no such job can be waiting yet."""
    return PendingJob(
        JOB_PATHS["route_ticket"],
        (ticket_id,),
        queue=ROUTING_JOB_QUEUE,
        job_id=f"route-{ticket_id}",
        fresh=fresh,
    )


def _checked_category_id(report: Report) -> int | None:
    if not report.category_code:
        return None
    category_id = db.session.execute(
        select(Category.id).filter_by(code=report.category_code, active=True)
    ).scalar_one_or_none()
    if category_id is None:
        raise InvalidInput("category", f"unknown category {report.category_code!r}")
    return category_id


def _check(report: Report, actor: User | None) -> None:
    if report.channel not in CHANNELS:
        raise InvalidInput("channel", f"must be one of {', '.join(CHANNELS)}")
    if report.channel == "operator" and (
        actor is None or actor.role not in ("operator", "supervisor")
    ):
        raise PermissionDenied("only the 1022 centre creates tickets on a caller's behalf")
    if report.priority not in PRIORITIES:
        raise InvalidInput("priority", f"must be one of {', '.join(PRIORITIES)}")
    if report.commune_id is not None and db.session.get(Commune, report.commune_id) is None:
        raise InvalidInput("commune", f"unknown commune {report.commune_id}")


def _ticket_row(
    report: Report, code: str, category_id: int | None, actor: User | None, now: datetime
) -> dict[str, Any]:
    """Return the columns of REPORT's new ticket, derived ones included; the others take
    the defaults the model gives them."""
    row = {
        "code": code,
        "channel": report.channel,
        "status": "received",
        "priority": report.priority,
        "category_id": category_id,
        "commune_id": report.commune_id,
        "address": (report.address or "").strip()[:500],
        "latitude": report.latitude,
        "longitude": report.longitude,
        "description": required_text(report.description, "description"),
        "citizen_name": (report.citizen_name or "").strip()[:255],
        "phone": report.phone or None,
        "email": report.email or None,
        "contact_consent": report.contact_consent,
        "locale": report.locale,
        "created_at": now,
        "updated_at": now,
        "updated_by_id": actor.id if actor else None,
    }
    return {**row, **derived_columns(row)}


def _write(
    row: dict[str, Any],
    actor: User | None,
    inbound: InboundRecord | None,
    attachments: Sequence[NewAttachment],
    now: datetime,
    route: bool,
) -> int:
    """Write the ticket ROW with its event, delivery, files, receipt and routing job, in the
    session's transaction, and commit; return the ticket's id.

    Core INSERTs on the session's connection: the rows are new, nothing in the session
    refers to them, and the ORM's unit of work would double the CPU a webhook spends.
    """
    connection = db.session.connection()
    key = connection.execute(_INSERT_TICKET, row).inserted_primary_key
    assert key is not None  # None only for an executemany; this is one row
    ticket_id = key[0]
    event = TicketEvent.row(
        ticket_id,
        "created",
        actor,
        actor_label="citizen",
        to_status="received",
        data={"channel": row["channel"]},
        public=True,
        now=now,
    )
    connection.execute(_INSERT_EVENT, event)
    if inbound is not None:
        connection.execute(_INSERT_DELIVERY, inbound.row(ticket_id, now))
    for item in attachments:
        db.session.add(_attachment_row(ticket_id, item, now))
    if notify.receipt_by_sms(row["channel"], row["phone"]):
        notify.receipt(db.session.get_one(Ticket, ticket_id), now)
    if route:
        defer_job(db.session, routing_job(ticket_id, fresh=True))
    db.session.commit()
    return ticket_id


def create_ticket(
    report: Report,
    *,
    actor: User | None = None,
    inbound: InboundRecord | None = None,
    attachments: Sequence[NewAttachment] = (),
    now: datetime | None = None,
    route: bool = True,
) -> NewTicket:
    """Store REPORT as a ticket in state `received`; enqueue its routing after the commit.

    Args:
        report: what was reported.
        actor: the operator who typed it in, or None for a citizen channel.
        inbound: the webhook delivery it comes from, stored in the same transaction;
            a replay of a known delivery returns the ticket it created.
        attachments: photos, MMS media or recordings stored with the ticket in the
            same transaction.
        route: enqueue routing (tests of the lifecycle switch it off).

    Returns:
        The stored ticket (the earlier one when INBOUND was a replay).
    """
    # A replay is not looked up first: the unique key of the inbound delivery refuses it at
    # the insert, and only then is the stored ticket read (one round trip less per report).
    _check(report, actor)
    category_id = _checked_category_id(report)
    now = now or utcnow()
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code(now)
        try:
            ticket_id = _write(
                _ticket_row(report, code, category_id, actor, now),
                actor,
                inbound,
                attachments,
                now,
                route,
            )
        except IntegrityError:
            db.session.rollback()
            if inbound is not None:
                seen = find_inbound(inbound.channel, inbound.provider_id)
                if seen is not None and seen.ticket is not None:
                    # A replay, or the same delivery raced us.
                    return NewTicket(seen.ticket.id, seen.ticket.code, False)
            if _code_taken(code):
                continue
            raise
        INTAKE.labels(report.channel).inc()
        return NewTicket(ticket_id, code, True)
    raise RuntimeError("could not find a free ticket code")  # 20 clashes: not by chance


def add_attachments(
    ticket_id: int, attachments: Sequence[NewAttachment], *, now: datetime | None = None
) -> int:
    """Keep ATTACHMENTS with an existing ticket and commit; return how many were new.

    A provider's file already kept (same source_url) is skipped, so a callback delivered
    twice adds its file once.
    """
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    known = set(
        db.session.execute(
            select(Attachment.source_url).where(
                Attachment.ticket_id == ticket.id, Attachment.source_url.is_not(None)
            )
        ).scalars()
    )
    now = now or utcnow()
    added = 0
    for item in attachments:
        if item.source_url and item.source_url in known:
            continue
        db.session.add(_attachment_row(ticket.id, item, now))
        known.add(item.source_url)
        added += 1
    if added:
        db.session.commit()
    return added


def update_inbound(channel: str, provider_id: str, data: dict[str, Any]) -> bool:
    """Merge DATA into a stored delivery's data (e.g. a call's final status) and commit.

    Returns:
        Whether the delivery was known.
    """
    row = find_inbound(channel, provider_id)
    if row is None:
        return False
    row.data = {**(row.data or {}), **data}
    db.session.commit()
    return True
