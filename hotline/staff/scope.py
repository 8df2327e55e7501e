"""Server-side scoping: which tickets a member of staff may see, applied to every query."""

from __future__ import annotations

from flask import abort
from sqlalchemy import Select, false, select

from hotline.extensions import db
from hotline.models import Ticket, User
from hotline.tickets.permissions import can_view


def scoped(stmt: Select, user: User) -> Select:
    """Restrict STMT (a select over tickets) to the tickets USER may see."""
    if user.sees_all_agencies:
        return stmt
    if user.agency_id is None:  # an agency role without an agency sees nothing
        return stmt.where(false())
    return stmt.where(Ticket.agency_id == user.agency_id)


def ticket_or_404(code: str, user: User) -> Ticket:
    """Return ticket CODE if USER may see it; 404 otherwise, so codes cannot be probed."""
    ticket = db.session.execute(select(Ticket).where(Ticket.code == code)).scalar_one_or_none()
    if ticket is None or not can_view(user, ticket):
        abort(404)
    return ticket
