"""Who sees a citizen's name, phone and email in full, and how the others see them masked.

Lists (queues, dashboard, CSV exports) never show contact details at all. On the ticket
page they are shown in full only to the roles that act on them:

- the owning agency's agents and head: they answer the citizen and may call back;
- supervisors: they review answers, close, reopen, and handle complaints about the case;
- operators, while the ticket waits for them (received, triage): they classify it and may
  have to call the citizen back to do so. Once an agency owns it, they see it masked;
- admins never: they run the system, not the cases.

Masked, a member of staff can still tell two reports of the same person apart
("+8491•••••78", "a•••@example.vn", "N. V. A.") but cannot contact or identify them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.models import Ticket, User
from hotline.tickets.permissions import can_view

OPERATOR_STATES = frozenset({"received", "triage"})
DOT = "•"


def can_see_contact(user: User | None, ticket: Ticket) -> bool:
    """Return whether USER may see TICKET's contact details in full (None: the system)."""
    if user is None:
        return True
    if not user.active or not can_view(user, ticket):
        return False
    if user.role in ("agent", "agency_head"):
        return ticket.agency_id is not None and ticket.agency_id == user.agency_id
    if user.role == "supervisor":
        return True
    if user.role == "operator":
        return ticket.status in OPERATOR_STATES
    return False


def mask_phone(phone: str | None) -> str:
    """Return PHONE as "+8491•••••78": country and network kept, the rest hidden."""
    if not phone:
        return ""
    return phone[:5] + DOT * max(len(phone) - 7, 0) + phone[-2:]


def mask_email(email: str | None) -> str:
    """Return EMAIL as "a•••@example.vn"."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{DOT * 3}@{domain}" if domain else local[:1] + DOT * 3


def mask_name(name: str | None) -> str:
    """Return NAME as its initials, "Nguyễn Văn An" as "N. V. A."."""
    return " ".join(f"{word[0]}." for word in (name or "").split() if word[0].isalnum())


@dataclass(frozen=True)
class Contact:
    """The contact details as a member of staff may see them."""

    name: str
    phone: str
    email: str
    masked: bool


def contact_for(ticket: Ticket, user: User | None) -> Contact:
    """Return TICKET's contact details, in full or masked for USER."""
    if can_see_contact(user, ticket):
        return Contact(ticket.citizen_name or "", ticket.phone or "", ticket.email or "", False)
    return Contact(
        mask_name(ticket.citizen_name),
        mask_phone(ticket.phone),
        mask_email(ticket.email),
        masked=bool(ticket.citizen_name or ticket.phone or ticket.email),
    )
