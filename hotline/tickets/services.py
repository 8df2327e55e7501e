"""The ticket lifecycle: one function per transition, each writing its event and committing once.

Services take ids and plain values, never read `flask.request`, and raise the errors of
`hotline.tickets.errors`, which views map to HTTP answers. Routing's transitions are here;
creation, the agency's work and the centre's decisions have their own modules
(`creation`, `agency_work`, `supervision`), whose names this module offers as well.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.extensions import db
from hotline.models import Agency, Category, Commune, Ticket, User
from hotline.notifications import messages as notify
from hotline.sla import cycle as sla
from hotline.tickets.agency_work import (  # noqa: F401  (here as well)
    acknowledge,
    add_note,
    ask_citizen,
    citizen_replied,
    request_transfer,
    resolve,
)
from hotline.tickets.creation import (  # noqa: F401  (the creation names, here as well)
    InboundRecord,
    NewAttachment,
    NewTicket,
    Report,
    add_attachments,
    create_ticket,
    find_inbound,
    record_inbound,
    routing_job,
    update_inbound,
)
from hotline.tickets.errors import InvalidInput
from hotline.tickets.lifecycle import (
    TRANSITIONS,  # noqa: F401  (here as well)
    check_action,
    commit_ticket,
    load_ticket,
    record_transition,
)
from hotline.tickets.supervision import (  # noqa: F401  (here as well)
    approve_transfer,
    close,
    merge_duplicate,
    rate,
    refuse_transfer,
    reject,
    reopen,
)
from hotline.timeutil import utcnow

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
    ticket = load_ticket(ticket_id)
    check_action(ticket, "triage", actor, None)
    now = now or utcnow()
    record_transition(
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
    ticket = load_ticket(ticket_id)
    check_action(ticket, "assign", actor, expected_version)
    # Read as the database has them now (a deactivated agency takes no new ticket), without
    # flushing the caller's changes to the ticket first: it is updated once, at the commit.
    with db.session.no_autoflush:
        agency = db.session.get(Agency, agency_id)
        if agency is None or not agency.active:
            raise InvalidInput("agency", f"unknown or inactive agency {agency_id}")
        if category_id is not None and db.session.get(Category, category_id) is None:
            raise InvalidInput("category", f"unknown category {category_id}")
        if commune_id is not None and db.session.get(Commune, commune_id) is None:
            raise InvalidInput("commune", f"unknown commune {commune_id}")
    if category_id is not None:
        ticket.category_id = category_id
    if commune_id is not None:
        ticket.commune_id = commune_id
    now = now or utcnow()
    ticket.agency_id = agency.id
    sla.start_cycle(ticket, now)
    record_transition(
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
