"""Creating tickets: every channel's intake writes here, on the busiest path of the system.

A new ticket, its first event and the webhook delivery it came from are written in one
transaction (on PostgreSQL in one statement); routing is enqueued after the commit. The
names are re-exported by `hotline.tickets.services`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from hotline.extensions import db
from hotline.jobs import JOB_PATHS, PendingJob, defer_job, push_job
from hotline.models import (
    CHANNELS,
    PRIORITIES,
    Attachment,
    Category,
    Commune,
    InboundMessage,
    Ticket,
    User,
)
from hotline.models.ticket import new_ticket_row
from hotline.notifications import messages as notify
from hotline.observability import INTAKE
from hotline.tickets.codes import new_code
from hotline.tickets.errors import InvalidInput, NotFound, PermissionDenied, required_text
from hotline.tickets.rows import write_new_rows, write_new_rows_alone
from hotline.timeutil import utcnow

ROUTING_JOB_QUEUE = "high"
# A new ticket takes a random code and relies on the unique index: a clash (rare: 10^7
# codes a year) rolls the transaction back and the insert is tried again with another code.
# No look-up before the insert, so the common case costs no extra round trip.
CODE_ATTEMPTS = 20


@dataclass(frozen=True)
class InboundRecord:
    """The webhook delivery a ticket comes from: stored with the ticket, the dedupe key."""

    channel: str
    provider_id: str
    kind: str = "report"
    reply: str = ""
    data: dict[str, Any] = field(default_factory=dict)


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


def _attachment_row(ticket: Ticket, item: NewAttachment, now: datetime) -> Attachment:
    return Attachment(
        ticket_id=ticket.id,
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


def record_inbound(inbound: InboundRecord, ticket: Ticket | None = None) -> InboundMessage:
    """Store a delivery that creates no ticket (a TRA lookup, an empty SMS) and commit.

    A replay of a known delivery returns the stored one.
    """
    existing = find_inbound(inbound.channel, inbound.provider_id)
    if existing is not None:
        return existing
    row = InboundMessage(
        channel=inbound.channel,
        provider_id=inbound.provider_id,
        kind=inbound.kind,
        reply=inbound.reply,
        data=inbound.data,
        ticket=ticket,
    )
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


def _new_rows(
    code: str,
    values: dict[str, Any],
    actor: User | None,
    inbound: InboundRecord | None,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Return the rows of a new ticket: the ticket, its "created" event, its delivery."""
    event = {
        "kind": "created",
        "actor_id": actor.id if actor else None,
        "actor_label": "staff" if actor else "citizen",
        "from_status": None,
        "to_status": "received",
        "note": "",
        "data": {"channel": values["channel"]},
        "public": True,
        "created_at": now,
    }
    delivery = None
    if inbound is not None:
        delivery = {
            "channel": inbound.channel,
            "provider_id": inbound.provider_id,
            "kind": inbound.kind,
            "reply": inbound.reply,
            "data": inbound.data,
            "received_at": now,
        }
    return new_ticket_row(code, values), event, delivery


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


def _known_ticket(ticket_id: int, **loaded: Any) -> Ticket:
    """Return the ORM object of a ticket row just written, without reading it back.

    LOADED are column values known to be stored; the others load on first access.
    """
    ticket = Ticket(id=ticket_id, **loaded)
    make_transient_to_detached(ticket)  # the row exists: known, unchanged, nothing to flush
    db.session.add(ticket)
    return ticket


def _insert_ticket(
    code: str,
    values: dict[str, Any],
    actor: User | None,
    inbound: InboundRecord | None,
    attachments: Sequence[NewAttachment],
    now: datetime,
    route: bool,
) -> Ticket:
    """Write a new ticket with its event, delivery, files, receipt and routing job (no commit).

    The rows are written by Core INSERTs rather than by the ORM's unit of work, which cost
    the webhooks a third of their time. The fields the model derives on a write are filled
    in by `new_ticket_row`.
    """
    row, event, delivery = _new_rows(code, values, actor, inbound, now)
    ticket_id = write_new_rows(row, event, delivery)
    ticket = _known_ticket(ticket_id, **row)
    for item in attachments:
        db.session.add(_attachment_row(ticket, item, now))
    notify.receipt(ticket, now)
    if route:
        defer_job(db.session, routing_job(ticket_id, fresh=True))
    return ticket


def _writes_alone(
    channel: str,
    phone: str | None,
    inbound: InboundRecord | None,
    attachments: Sequence[NewAttachment],
) -> bool:
    """Whether a new ticket's rows can be written by one statement outside any transaction.

    On PostgreSQL, a delivery with no files and no SMS receipt is three rows written by
    one statement (`hotline.tickets.rows`), atomic on its own: run in autocommit, it costs
    no BEGIN and no COMMIT, and on its own pool no ping: one round trip instead of four.
    Only for a delivery, whose unique key makes a retried statement harmless, and only
    when the session holds no transaction, so nothing of the caller's waits for a commit
    that would not come.
    """
    return (
        inbound is not None
        and not attachments
        and not notify.receipt_by_sms(channel, phone)
        # No session yet (a webhook that read nothing) cannot hold a transaction.
        and (not db.session.registry.has() or not db.session().in_transaction())
        and db.engine.dialect.name == "postgresql"
    )


def _insert_alone(
    code: str,
    values: dict[str, Any],
    actor: User | None,
    inbound: InboundRecord | None,
    now: datetime,
    route: bool,
) -> int:
    """Write a new ticket, its event and its delivery in one autocommitted statement, then
    enqueue its routing (see `_writes_alone`); return the ticket's id."""
    ticket_id = write_new_rows_alone(*_new_rows(code, values, actor, inbound, now))
    if route:
        push_job(routing_job(ticket_id, fresh=True))
    return ticket_id


def create_ticket(
    *,
    channel: str,
    description: str,
    actor: User | None = None,
    category_code: str | None = None,
    commune_id: int | None = None,
    priority: str = "normal",
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    citizen_name: str = "",
    phone: str | None = None,
    email: str | None = None,
    contact_consent: bool = False,
    locale: str = "vi",
    inbound: InboundRecord | None = None,
    attachments: Sequence[NewAttachment] = (),
    now: datetime | None = None,
    route: bool = True,
) -> NewTicket:
    """Store a new ticket in state `received` and enqueue its routing after the commit.

    Args:
        channel: voice, sms, web, api, open311 or operator.
        description: the citizen's words (required).
        actor: the operator who typed it in, or None for a citizen channel.
        category_code: the field the citizen chose, if any.
        commune_id: the commune chosen, if any.
        inbound: the webhook delivery it comes from, stored in the same transaction;
            a replay of a known delivery returns the ticket it created.
        attachments: photos, MMS media or recordings stored with the ticket in the
            same transaction.
        route: enqueue routing (tests of the lifecycle switch it off).

    Returns:
        The new ticket's id and code (those of the stored one when INBOUND was a replay).
    """
    # A replay is not looked up first: the unique key of the inbound delivery refuses it at
    # the insert, and only then is the stored ticket read (one round trip less per report).
    if channel not in CHANNELS:
        raise InvalidInput("channel", f"must be one of {', '.join(CHANNELS)}")
    if channel == "operator" and (actor is None or actor.role not in ("operator", "supervisor")):
        raise PermissionDenied("only the 1022 centre creates tickets on a caller's behalf")
    if priority not in PRIORITIES:
        raise InvalidInput("priority", f"must be one of {', '.join(PRIORITIES)}")
    description = required_text(description, "description")
    category = None
    if category_code:
        category = db.session.execute(
            select(Category).filter_by(code=category_code, active=True)
        ).scalar_one_or_none()
        if category is None:
            raise InvalidInput("category", f"unknown category {category_code!r}")
    if commune_id is not None and db.session.get(Commune, commune_id) is None:
        raise InvalidInput("commune", f"unknown commune {commune_id}")
    now = now or utcnow()
    values = {
        "channel": channel,
        "status": "received",
        "priority": priority,
        "category_id": category.id if category else None,
        "commune_id": commune_id,
        "address": (address or "").strip()[:500],
        "latitude": latitude,
        "longitude": longitude,
        "description": description,
        "citizen_name": (citizen_name or "").strip()[:255],
        "phone": phone or None,
        "email": email or None,
        "contact_consent": contact_consent,
        "locale": locale,
        "created_at": now,
        "updated_at": now,
        "updated_by_id": actor.id if actor else None,
    }
    alone = _writes_alone(channel, values["phone"], inbound, attachments)
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code(now)
        try:
            if alone:
                ticket, ticket_id = None, _insert_alone(code, values, actor, inbound, now, route)
            else:
                ticket = _insert_ticket(code, values, actor, inbound, attachments, now, route)
                ticket_id = ticket.id
                db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if inbound is not None:
                seen = find_inbound(inbound.channel, inbound.provider_id)
                if seen is not None and seen.ticket is not None:
                    # A replay, or the same delivery raced us.
                    return NewTicket(seen.ticket.id, seen.ticket.code, created=False)
            if _code_taken(code):
                continue
            raise
        break
    else:
        raise RuntimeError("could not find a free ticket code")  # 20 clashes: not by chance
    INTAKE.labels(channel).inc()
    if ticket is not None:
        # The code never changes: keep it loaded, so a caller using the code does not
        # reload the whole ticket after the commit expired it.
        set_committed_value(ticket, "code", code)
    return NewTicket(ticket_id, code, created=True)


def open_ticket(**kwargs: Any) -> tuple[Ticket, bool]:
    """`create_ticket`, returning the ORM ticket: (ticket, created).

    The ticket's code is loaded; its other columns load on first access (as after any
    commit). Webhooks that only answer with the code call `create_ticket`, which builds
    no ORM object.
    """
    new = create_ticket(**kwargs)
    ticket = db.session.identity_map.get(identity_key(Ticket, new.id))
    if ticket is None:
        ticket = _known_ticket(new.id, code=new.code)
    return ticket, new.created


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
        db.session.add(_attachment_row(ticket, item, now))
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
