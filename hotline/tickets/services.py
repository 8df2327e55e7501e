"""The ticket lifecycle: one function per transition, each writing its event and committing once.

Services take ids and plain values, never read `flask.request`, and raise the errors of
`hotline.tickets.errors`, which views map to HTTP answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from hotline.extensions import db
from hotline.jobs import enqueue_after_commit
from hotline.models import (
    CHANNELS,
    CLOSE_REASONS,
    OPEN_STATUSES,
    PRIORITIES,
    Agency,
    Attachment,
    Category,
    Commune,
    InboundMessage,
    Ticket,
    TicketEvent,
    User,
)
from hotline.notifications import messages as notify
from hotline.notifications.links import new_rating_token
from hotline.observability import INTAKE
from hotline.sla import cycle as sla
from hotline.tickets.codes import new_code
from hotline.tickets.errors import (
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from hotline.tickets.permissions import can_act
from hotline.timeutil import utcnow

# The state machine of SPEC §3: action -> (states it may start from, state it leads to).
# None as the target means "stays where it is" or "decided by the function".
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "triage": (frozenset({"received"}), "triage"),
    "assign": (frozenset({"received", "triage"}), "assigned"),
    "acknowledge": (frozenset({"assigned"}), "acknowledged"),
    "ask_citizen": (frozenset({"acknowledged"}), "waiting_citizen"),
    "citizen_replied": (frozenset({"waiting_citizen"}), "acknowledged"),
    "request_transfer": (frozenset({"assigned", "acknowledged"}), "transfer_requested"),
    "approve_transfer": (frozenset({"transfer_requested"}), "assigned"),
    "refuse_transfer": (frozenset({"transfer_requested"}), None),
    "resolve": (frozenset({"assigned", "acknowledged"}), "resolved"),
    "close": (frozenset({"resolved"}), "closed"),
    "reject": (frozenset(OPEN_STATUSES), "closed"),
    "reopen": (frozenset({"resolved", "closed"}), "acknowledged"),
    "merge": (frozenset(OPEN_STATUSES), "closed"),
}
ROUTING_JOB_QUEUE = "high"


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


def _attachment_row(ticket: Ticket, item: NewAttachment, now: datetime) -> Attachment:
    return Attachment(
        ticket=ticket,
        kind=item.kind,
        storage_key=item.storage_key,
        source_url=item.source_url,
        content_type=item.content_type,
        size=item.size,
        data=item.data,
        created_at=now,
    )


def _actor_name(user: User | None) -> str | None:
    return user.name if user else None


def _load(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def _check(
    ticket: Ticket, action: str, actor: User | None, expected_version: int | None
) -> str | None:
    """Check version, state and permission for ACTION; return the target state."""
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(ticket.code, _actor_name(ticket.updated_by), ticket.updated_at)
    allowed, target = TRANSITIONS[action]
    if ticket.status not in allowed:
        raise InvalidTransition(action, ticket.status)
    if not can_act(actor, action, ticket):
        raise PermissionDenied(f"not allowed to {action} ticket {ticket.code}")
    return target


def add_event(
    ticket: Ticket,
    kind: str,
    actor: User | None,
    *,
    actor_label: str = "system",
    from_status: str | None = None,
    to_status: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = False,
    now: datetime | None = None,
) -> None:
    """Append an event to TICKET's history, in the session's transaction (no commit).

    A Core INSERT on the session's connection: the row is append-only and nothing reads it
    back before the commit, and the ORM's unit of work cost more than the statement itself
    on the routing worker's path (bench/routing_throughput.py). It does not autoflush, so
    the ticket's pending changes are still written once, at the commit.
    """
    if ticket.id is None:
        db.session.flush()  # a new ticket: the event needs its id
    db.session.connection().execute(
        insert(TicketEvent.__table__),
        {
            "ticket_id": ticket.id,
            "kind": kind,
            "actor_id": actor.id if actor else None,
            "actor_label": "staff" if actor else actor_label,
            "from_status": from_status,
            "to_status": to_status,
            "note": note,
            "data": data or {},
            "public": public,
            "created_at": now or utcnow(),
        },
    )


def _transition(
    ticket: Ticket,
    target: str,
    actor: User | None,
    kind: str,
    now: datetime,
    *,
    actor_label: str = "system",
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
) -> None:
    previous = ticket.status
    ticket.status = target
    ticket.updated_at = now
    ticket.updated_by_id = actor.id if actor else None
    add_event(
        ticket,
        kind,
        actor,
        actor_label=actor_label,
        from_status=previous,
        to_status=target,
        note=note,
        data=data,
        public=public,
        now=now,
    )


def commit_ticket(ticket: Ticket) -> Ticket:
    """Commit the session; a concurrent change to TICKET becomes a ConflictError."""
    code = ticket.code
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.execute(select(Ticket).filter_by(code=code)).scalar_one()
        db.session.refresh(fresh)
        raise ConflictError(code, _actor_name(fresh.updated_by), fresh.updated_at) from None
    return ticket


def _required_text(value: str | None, field_name: str, max_len: int = 4000) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(field_name, "is required")
    if len(text) > max_len:
        raise InvalidInput(field_name, f"is longer than {max_len} characters")
    return text


# --- creation ---------------------------------------------------------------------------


# A new ticket takes a random code and relies on the unique index: a clash (rare: 10^7
# codes a year) rolls the transaction back and the insert is tried again with another code.
# No look-up before the insert, so the common case costs no extra round trip.
CODE_ATTEMPTS = 20


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

    The ticket goes through the ORM (its derived fields, its version); its first event and
    its delivery are plain rows written by two Core INSERTs, which cost a fraction of the
    ORM's unit of work on the busiest path of the system (every SMS, call and form).
    """
    ticket = Ticket(code=code, **values)
    db.session.add(ticket)
    db.session.flush()
    db.session.execute(
        insert(TicketEvent.__table__),
        {
            "ticket_id": ticket.id,
            "kind": "created",
            "actor_id": actor.id if actor else None,
            "actor_label": "staff" if actor else "citizen",
            "from_status": None,
            "to_status": "received",
            "note": "",
            "data": {"channel": ticket.channel},
            "public": True,
            "created_at": now,
        },
    )
    if inbound is not None:
        db.session.execute(
            insert(InboundMessage.__table__),
            {
                "channel": inbound.channel,
                "provider_id": inbound.provider_id,
                "ticket_id": ticket.id,
                "kind": inbound.kind,
                "reply": inbound.reply,
                "data": inbound.data,
                "received_at": now,
            },
        )
    for item in attachments:
        db.session.add(_attachment_row(ticket, item, now))
    notify.receipt(ticket, now)
    if route:
        enqueue_after_commit(
            db.session,
            "route_ticket",
            ticket.id,
            queue=ROUTING_JOB_QUEUE,
            job_id=f"route-{ticket.id}",
            fresh=True,  # the ticket id was just given out: no job can have it yet
        )
    return ticket


def open_ticket(
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
) -> tuple[Ticket, bool]:
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
        (ticket, created): created is False when INBOUND was a replay.
    """
    # A replay is not looked up first: the unique key of the inbound delivery refuses it at
    # the insert, and only then is the stored ticket read (one round trip less per report).
    if channel not in CHANNELS:
        raise InvalidInput("channel", f"must be one of {', '.join(CHANNELS)}")
    if channel == "operator" and (actor is None or actor.role not in ("operator", "supervisor")):
        raise PermissionDenied("only the 1022 centre creates tickets on a caller's behalf")
    if priority not in PRIORITIES:
        raise InvalidInput("priority", f"must be one of {', '.join(PRIORITIES)}")
    description = _required_text(description, "description")
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
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code(now)
        try:
            ticket = _insert_ticket(code, values, actor, inbound, attachments, now, route)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if inbound is not None:
                seen = find_inbound(inbound.channel, inbound.provider_id)
                if seen is not None and seen.ticket is not None:
                    return seen.ticket, False  # a replay, or the same delivery raced us
            if _code_taken(code):
                continue
            raise
        break
    else:
        raise RuntimeError("could not find a free ticket code")  # 20 clashes: not by chance
    INTAKE.labels(channel).inc()
    # The code never changes: keep it loaded, so a webhook replying with the code does
    # not reload the whole ticket after the commit expired it.
    set_committed_value(ticket, "code", code)
    return ticket, True


def add_attachments(
    ticket_id: int, attachments: Sequence[NewAttachment], *, now: datetime | None = None
) -> int:
    """Keep ATTACHMENTS with an existing ticket and commit; return how many were new.

    A provider's file already kept (same source_url) is skipped, so a callback delivered
    twice adds its file once.
    """
    ticket = _load(ticket_id)
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


# --- routing ----------------------------------------------------------------------------


def send_to_triage(
    ticket_id: int,
    *,
    actor: User | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Routing could not decide: the ticket waits for an operator."""
    ticket = _load(ticket_id)
    _check(ticket, "triage", actor, None)
    now = now or utcnow()
    _transition(
        ticket,
        "triage",
        actor,
        "triage",
        now,
        actor_label="routing",
        note=reason,
        data=data,
        public=False,
    )
    return commit_ticket(ticket)


def assign(
    ticket_id: int,
    agency_id: int,
    *,
    actor: User | None = None,
    category_id: int | None = None,
    commune_id: int | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Give the ticket to AGENCY_ID (by routing or by an operator) and start its SLA cycle."""
    ticket = _load(ticket_id)
    _check(ticket, "assign", actor, expected_version)
    agency = db.session.get(Agency, agency_id)
    if agency is None or not agency.active:
        raise InvalidInput("agency", f"unknown agency {agency_id}")
    if category_id is not None:
        if db.session.get(Category, category_id) is None:
            raise InvalidInput("category", f"unknown category {category_id}")
        ticket.category_id = category_id
    if commune_id is not None:
        if db.session.get(Commune, commune_id) is None:
            raise InvalidInput("commune", f"unknown commune {commune_id}")
        ticket.commune_id = commune_id
    now = now or utcnow()
    ticket.agency_id = agency.id
    sla.start_cycle(ticket, now)
    _transition(
        ticket,
        "assigned",
        actor,
        "assigned",
        now,
        actor_label="routing",
        note=reason,
        data={**(data or {}), "agency": agency.code},
    )
    notify.new_ticket(ticket, now)
    return commit_ticket(ticket)


# --- agency work ------------------------------------------------------------------------


def acknowledge(
    ticket_id: int,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The agency accepts the ticket: the first-response timer stops."""
    ticket = _load(ticket_id)
    target = _check(ticket, "acknowledge", actor, expected_version)
    now = now or utcnow()
    sla.on_acknowledged(ticket, now)
    _transition(ticket, target, actor, "acknowledged", now)
    return commit_ticket(ticket)


def add_note(
    ticket_id: int,
    note: str,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Add an internal note (never shown to the public)."""
    ticket = _load(ticket_id)
    if not can_act(actor, "note", ticket):
        raise PermissionDenied(f"not allowed to add a note to ticket {ticket.code}")
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(ticket.code, _actor_name(ticket.updated_by), ticket.updated_at)
    note = _required_text(note, "note")
    now = now or utcnow()
    add_event(ticket, "note", actor, note=note, now=now)
    ticket.updated_at = now
    ticket.updated_by_id = actor.id if actor else None
    return commit_ticket(ticket)


def ask_citizen(
    ticket_id: int,
    question: str,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Ask the citizen for more information; the resolve clock pauses."""
    ticket = _load(ticket_id)
    target = _check(ticket, "ask_citizen", actor, expected_version)
    question = _required_text(question, "question", 1000)
    if not ticket.phone and not ticket.email:
        raise InvalidInput("question", "the citizen left no phone number or email to ask")
    now = now or utcnow()
    sla.pause(ticket, now)
    _transition(
        ticket, target, actor, "asked_citizen", now, note=question, data={"question": question}
    )
    notify.ask_citizen(ticket, question, now)
    return commit_ticket(ticket)


def citizen_replied(
    ticket_id: int,
    reply: str,
    *,
    actor: User | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The citizen answered: work resumes and the deadline moves by the paused working time."""
    ticket = _load(ticket_id)
    target = _check(ticket, "citizen_replied", actor, expected_version)
    now = now or utcnow()
    _transition(
        ticket,
        target,
        actor,
        "citizen_replied",
        now,
        actor_label="citizen",
        note=(reply or "").strip(),
    )
    sla.resume(ticket, now)
    return commit_ticket(ticket)


def request_transfer(
    ticket_id: int,
    reason: str,
    *,
    actor: User | None,
    to_agency_id: int | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The agency says the ticket is not theirs ("không thuộc thẩm quyền")."""
    ticket = _load(ticket_id)
    target = _check(ticket, "request_transfer", actor, expected_version)
    reason = _required_text(reason, "reason", 2000)
    if to_agency_id is not None:
        if db.session.get(Agency, to_agency_id) is None:
            raise InvalidInput("agency", f"unknown agency {to_agency_id}")
        if to_agency_id == ticket.agency_id:
            raise InvalidInput("agency", "the ticket already belongs to that agency")
    now = now or utcnow()
    ticket.status_before_transfer = ticket.status
    ticket.transfer_to_agency_id = to_agency_id
    _transition(ticket, target, actor, "transfer_requested", now, note=reason, public=False)
    return commit_ticket(ticket)


def approve_transfer(
    ticket_id: int,
    agency_id: int,
    *,
    actor: User | None,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A supervisor moves the ticket to AGENCY_ID; a new SLA cycle starts for that agency."""
    ticket = _load(ticket_id)
    target = _check(ticket, "approve_transfer", actor, expected_version)
    agency = db.session.get(Agency, agency_id)
    if agency is None or not agency.active:
        raise InvalidInput("agency", f"unknown agency {agency_id}")
    if agency.id == ticket.agency_id:
        raise InvalidInput(
            "agency", "choose another agency than the one that asked for the transfer"
        )
    now = now or utcnow()
    previous = ticket.agency.code if ticket.agency else None
    ticket.agency_id = agency.id
    ticket.transfer_to_agency_id = None
    ticket.status_before_transfer = None
    sla.start_cycle(ticket, now)
    _transition(
        ticket,
        target,
        actor,
        "transfer_approved",
        now,
        note=note,
        data={"from": previous, "to": agency.code},
    )
    notify.new_ticket(ticket, now)
    return commit_ticket(ticket)


def refuse_transfer(
    ticket_id: int,
    reason: str,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A supervisor sends the ticket back to its agency; the clock is unchanged."""
    ticket = _load(ticket_id)
    _check(ticket, "refuse_transfer", actor, expected_version)
    reason = _required_text(reason, "reason", 2000)
    now = now or utcnow()
    target = ticket.status_before_transfer or "assigned"
    ticket.status_before_transfer = None
    ticket.transfer_to_agency_id = None
    _transition(ticket, target, actor, "transfer_refused", now, note=reason, public=False)
    return commit_ticket(ticket)


def resolve(
    ticket_id: int,
    answer: str,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The agency submits its answer; it waits for a supervisor's review."""
    ticket = _load(ticket_id)
    target = _check(ticket, "resolve", actor, expected_version)
    answer = _required_text(answer, "answer", 8000)
    now = now or utcnow()
    if ticket.acknowledged_at is None:
        sla.on_acknowledged(ticket, now)
    sla.on_resolved(ticket, now)
    if ticket.sla_started_at is not None:
        # Kept for the dashboard's medians, which cannot redo calendar maths per row.
        spent = sla.get_calendar().working_time_between(ticket.sla_started_at, now)
        ticket.resolve_working_minutes = int(spent.total_seconds() // 60)
    ticket.public_answer = answer
    _transition(ticket, target, actor, "resolved", now)
    return commit_ticket(ticket)


# --- supervision ------------------------------------------------------------------------


def close(
    ticket_id: int,
    *,
    actor: User | None,
    publish: bool = False,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A supervisor accepts the answer, optionally publishing it on /answers."""
    ticket = _load(ticket_id)
    target = _check(ticket, "close", actor, expected_version)
    now = now or utcnow()
    ticket.close_reason = "answered"
    ticket.closed_at = now
    ticket.answer_published = bool(publish)
    # A one-time rating link: only its hash is kept, the token travels in the SMS.
    rating_token, ticket.rating_token_hash = new_rating_token()
    _transition(ticket, target, actor, "closed", now, note=note, data={"published": bool(publish)})
    notify.answer(ticket, rating_token, now)
    return commit_ticket(ticket)


def reject(
    ticket_id: int,
    reason: str,
    note: str,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A supervisor closes the ticket as spam, duplicate or out of scope, saying why."""
    ticket = _load(ticket_id)
    target = _check(ticket, "reject", actor, expected_version)
    if reason not in CLOSE_REASONS or reason == "answered":
        raise InvalidInput("reason", "must be spam, duplicate or out_of_scope")
    note = _required_text(note, "note", 2000)
    now = now or utcnow()
    sla.stop(ticket, now)
    ticket.close_reason = reason
    ticket.closed_at = now
    _transition(ticket, target, actor, "rejected", now, note=note, data={"reason": reason})
    notify.closed(ticket, reason, now)
    return commit_ticket(ticket)


def reopen(
    ticket_id: int,
    reason: str,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A supervisor finds the answer insufficient: back to the agency, new resolve deadline."""
    ticket = _load(ticket_id)
    target = _check(ticket, "reopen", actor, expected_version)
    if ticket.agency_id is None:
        raise InvalidTransition("reopen", f"{ticket.status} without an agency")
    reason = _required_text(reason, "reason", 2000)
    now = now or utcnow()
    ticket.close_reason = None
    ticket.closed_at = None
    ticket.answer_published = False
    sla.on_reopened(ticket, now)
    _transition(ticket, target, actor, "reopened", now, note=reason)
    return commit_ticket(ticket)


def merge_duplicate(
    ticket_id: int,
    original_id: int,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Close TICKET_ID as a duplicate of ORIGINAL_ID, linking the two."""
    ticket = _load(ticket_id)
    target = _check(ticket, "merge", actor, expected_version)
    original = _load(original_id)
    if original.id == ticket.id:
        raise InvalidInput("original", "a ticket cannot duplicate itself")
    if original.duplicate_of_id is not None:
        raise InvalidInput("original", f"ticket {original.code} is itself a duplicate")
    now = now or utcnow()
    sla.stop(ticket, now)
    ticket.duplicate_of_id = original.id
    ticket.close_reason = "duplicate"
    ticket.closed_at = now
    _transition(
        ticket, target, actor, "merged", now, note=original.code, data={"original": original.code}
    )
    add_event(original, "duplicate_linked", actor, data={"duplicate": ticket.code}, now=now)
    notify.merged(ticket, original, now)
    return commit_ticket(ticket)


# --- citizen feedback -------------------------------------------------------------------


def rate(
    ticket_id: int,
    rating: int,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> Ticket:
    """The citizen rates the answer (1 to 5, with an optional comment), once.

    Raises:
        InvalidTransition: the ticket was not closed with an answer, or is already rated.
        InvalidInput: the rating is not 1 to 5 or the comment is too long.
        ConflictError: a concurrent rating won (the caller shows "already rated").
    """
    ticket = _load(ticket_id)
    if ticket.status != "closed" or ticket.close_reason != "answered":
        raise InvalidTransition("rate", ticket.status)
    if ticket.rated_at is not None:
        raise InvalidTransition("rate", "rated")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("rating", "must be a whole number from 1 to 5")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise InvalidInput("comment", "is longer than 2000 characters")
    now = now or utcnow()
    ticket.rating = rating
    ticket.rating_comment = comment
    ticket.rated_at = now
    add_event(
        ticket, "rated", None, actor_label="citizen", note=comment, data={"rating": rating}, now=now
    )
    return commit_ticket(ticket)
