"""The ticket lifecycle's shared steps: the state machine of SPEC §3, loading and checking a
ticket for an action, writing a transition and its event, committing with conflict detection.

The transitions themselves are in `services` (routing), `agency_work` and `supervision`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm.exc import StaleDataError

from hotline.extensions import db
from hotline.models import OPEN_STATUSES, Ticket, TicketEvent, User
from hotline.tickets.errors import ConflictError, InvalidTransition, NotFound, PermissionDenied
from hotline.tickets.permissions import can_act

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


def actor_name(user: User | None) -> str | None:
    return user.name if user else None


def load_ticket(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def check_action(
    ticket: Ticket, action: str, actor: User | None, expected_version: int | None
) -> str | None:
    """Check version, state and permission for ACTION; return the target state."""
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(ticket.code, actor_name(ticket.updated_by), ticket.updated_at)
    allowed, target = TRANSITIONS[action]
    if ticket.status not in allowed:
        raise InvalidTransition(action, ticket.status)
    if not can_act(actor, action, ticket):
        raise PermissionDenied(f"not allowed to {action} ticket {ticket.code}")
    return target


def check_transition(
    ticket: Ticket, action: str, actor: User | None, expected_version: int | None
) -> str:
    """`check_action` for an ACTION that leads to a fixed state; return that state."""
    target = check_action(ticket, action, actor, expected_version)
    if target is None:
        raise ValueError(f"{action} has no fixed target state: use check_action")
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
        TicketEvent.row(
            ticket.id,
            kind,
            actor,
            actor_label=actor_label,
            from_status=from_status,
            to_status=to_status,
            note=note,
            data=data,
            public=public,
            now=now,
        ),
    )


def record_transition(
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
        raise ConflictError(code, actor_name(fresh.updated_by), fresh.updated_at) from None
    return ticket
