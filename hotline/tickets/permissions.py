"""Who may see a ticket and who may take each action on it."""

from __future__ import annotations

from hotline.models import Ticket, User

# Actions an agency's own staff take on tickets their agency owns.
AGENCY_ACTIONS = frozenset(
    {"acknowledge", "ask_citizen", "request_transfer", "resolve", "citizen_replied"}
)
# Actions reserved to supervisors.
SUPERVISOR_ACTIONS = frozenset(
    {"approve_transfer", "refuse_transfer", "close", "reject", "reopen", "merge"}
)
# Classifying and routing by hand: the 1022 centre.
ROUTING_ACTIONS = frozenset({"assign", "triage", "reroute"})


def can_view(user: User | None, ticket: Ticket) -> bool:
    """Return whether USER may see TICKET (None means the system, which sees everything)."""
    if user is None:
        return True
    if user.sees_all_agencies:
        return True
    return user.agency_id is not None and ticket.agency_id == user.agency_id


def can_act(user: User | None, action: str, ticket: Ticket) -> bool:
    """Return whether USER may take ACTION on TICKET.

    Args:
        user: the member of staff, or None for the system (routing, workers, citizen channels).
        action: the service's action name (acknowledge, close, ...).
        ticket: the ticket as loaded.

    Returns:
        True when the role and agency allow it; the state machine is checked separately.
    """
    if user is None:
        return True
    if not user.active:
        return False
    if action == "note":
        return can_view(user, ticket)
    if action in AGENCY_ACTIONS:
        return user.role in ("agent", "agency_head") and ticket.agency_id == user.agency_id
    if action in SUPERVISOR_ACTIONS:
        return user.role == "supervisor"
    if action in ROUTING_ACTIONS:
        return user.role in ("operator", "supervisor")
    return False
