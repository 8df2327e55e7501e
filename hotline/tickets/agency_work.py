"""The agency's work on a ticket: acknowledge, notes, questions to the citizen, transfer
requests, answers. Each function is one transition, writes its event and commits once.
"""

from __future__ import annotations

from datetime import datetime

from hotline.extensions import db
from hotline.models import Agency, Ticket, User
from hotline.notifications import messages as notify
from hotline.sla import cycle as sla
from hotline.tickets.errors import ConflictError, InvalidInput, PermissionDenied, required_text
from hotline.tickets.lifecycle import (
    actor_name,
    add_event,
    check_transition,
    commit_ticket,
    load_ticket,
    record_transition,
)
from hotline.tickets.permissions import can_act
from hotline.timeutil import utcnow


def acknowledge(
    ticket_id: int,
    *,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The agency accepts the ticket: the first-response timer stops."""
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "acknowledge", actor, expected_version)
    now = now or utcnow()
    sla.on_acknowledged(ticket, now)
    record_transition(ticket, target, actor, "acknowledged", now)
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
    ticket = load_ticket(ticket_id)
    if not can_act(actor, "note", ticket):
        raise PermissionDenied(f"not allowed to add a note to ticket {ticket.code}")
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(ticket.code, actor_name(ticket.updated_by), ticket.updated_at)
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "ask_citizen", actor, expected_version)
    question = required_text(question, "question", 1000)
    if not ticket.phone and not ticket.email:
        raise InvalidInput("question", "the citizen left no phone number or email to ask")
    now = now or utcnow()
    sla.pause(ticket, now)
    record_transition(
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "citizen_replied", actor, expected_version)
    now = now or utcnow()
    record_transition(
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "request_transfer", actor, expected_version)
    reason = required_text(reason, "reason", 2000)
    if to_agency_id is not None:
        if db.session.get(Agency, to_agency_id) is None:
            raise InvalidInput("agency", f"unknown agency {to_agency_id}")
        if to_agency_id == ticket.agency_id:
            raise InvalidInput("agency", "the ticket already belongs to that agency")
    now = now or utcnow()
    ticket.status_before_transfer = ticket.status
    ticket.transfer_to_agency_id = to_agency_id
    record_transition(ticket, target, actor, "transfer_requested", now, note=reason, public=False)
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "resolve", actor, expected_version)
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
    record_transition(ticket, target, actor, "resolved", now)
    return commit_ticket(ticket)
