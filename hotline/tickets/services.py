"""The ticket lifecycle: one function per transition, each writing its event and committing once.

Services take ids and plain values, never read `flask.request`, and raise the errors of
`hotline.tickets.errors`, which views map to HTTP answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm.exc import StaleDataError

from hotline.extensions import db
from hotline.models import (
    CLOSE_REASONS,
    OPEN_STATUSES,
    Agency,
    Category,
    Commune,
    Ticket,
    TicketEvent,
    User,
)
from hotline.notifications import messages as notify
from hotline.notifications.links import new_rating_token
from hotline.sla import cycle as sla
from hotline.tickets.creation import (  # noqa: F401  (the creation names, here as well)
    InboundRecord,
    NewAttachment,
    NewTicket,
    add_attachments,
    create_ticket,
    find_inbound,
    open_ticket,
    record_inbound,
    routing_job,
    update_inbound,
)
from hotline.tickets.errors import (
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    required_text,
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
    note = required_text(note, "note")
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
    question = required_text(question, "question", 1000)
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
    reason = required_text(reason, "reason", 2000)
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
    reason = required_text(reason, "reason", 2000)
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
    answer = required_text(answer, "answer", 8000)
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
    note = required_text(note, "note", 2000)
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
    reason = required_text(reason, "reason", 2000)
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
