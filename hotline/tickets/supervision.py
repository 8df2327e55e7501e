"""The 1022 centre's decisions on a ticket: transfers, closing, rejecting, reopening,
merging duplicates; and the citizen's rating of the answer. Each function is one
transition, writes its event and commits once.
"""

from __future__ import annotations

from datetime import datetime

from hotline.extensions import db
from hotline.models import CLOSE_REASONS, Agency, Ticket, User
from hotline.notifications import messages as notify
from hotline.notifications.links import new_rating_token
from hotline.sla import cycle as sla
from hotline.tickets.errors import InvalidInput, InvalidTransition, required_text
from hotline.tickets.lifecycle import (
    add_event,
    check_action,
    check_transition,
    commit_ticket,
    load_ticket,
    record_transition,
)
from hotline.timeutil import utcnow


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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "approve_transfer", actor, expected_version)
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
    record_transition(
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
    ticket = load_ticket(ticket_id)
    check_action(ticket, "refuse_transfer", actor, expected_version)
    reason = required_text(reason, "reason", 2000)
    now = now or utcnow()
    target = ticket.status_before_transfer or "assigned"
    ticket.status_before_transfer = None
    ticket.transfer_to_agency_id = None
    record_transition(ticket, target, actor, "transfer_refused", now, note=reason, public=False)
    return commit_ticket(ticket)


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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "close", actor, expected_version)
    now = now or utcnow()
    ticket.close_reason = "answered"
    ticket.closed_at = now
    ticket.answer_published = bool(publish)
    # A one-time rating link: only its hash is kept, the token travels in the SMS.
    rating_token, ticket.rating_token_hash = new_rating_token()
    record_transition(
        ticket, target, actor, "closed", now, note=note, data={"published": bool(publish)}
    )
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "reject", actor, expected_version)
    if reason not in CLOSE_REASONS or reason == "answered":
        raise InvalidInput("reason", "must be spam, duplicate or out_of_scope")
    note = required_text(note, "note", 2000)
    now = now or utcnow()
    sla.stop(ticket, now)
    ticket.close_reason = reason
    ticket.closed_at = now
    record_transition(ticket, target, actor, "rejected", now, note=note, data={"reason": reason})
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "reopen", actor, expected_version)
    if ticket.agency_id is None:
        raise InvalidTransition("reopen", f"{ticket.status} without an agency")
    reason = required_text(reason, "reason", 2000)
    now = now or utcnow()
    ticket.close_reason = None
    ticket.closed_at = None
    ticket.answer_published = False
    sla.on_reopened(ticket, now)
    record_transition(ticket, target, actor, "reopened", now, note=reason)
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
    ticket = load_ticket(ticket_id)
    target = check_transition(ticket, "merge", actor, expected_version)
    original = load_ticket(original_id)
    if original.id == ticket.id:
        raise InvalidInput("original", "a ticket cannot duplicate itself")
    if original.duplicate_of_id is not None:
        raise InvalidInput("original", f"ticket {original.code} is itself a duplicate")
    now = now or utcnow()
    sla.stop(ticket, now)
    ticket.duplicate_of_id = original.id
    ticket.close_reason = "duplicate"
    ticket.closed_at = now
    record_transition(
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
    ticket = load_ticket(ticket_id)
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
