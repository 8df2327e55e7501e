"""Tests of optimistic locking: a stale writer gets a conflict naming who changed the ticket."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from hotline.extensions import db
from hotline.models import Ticket
from hotline.tickets import services
from hotline.tickets.errors import ConflictError
from tests import factories as f


def test_stale_expected_version_names_the_other_writer():
    """Test that acting with an old version raises a conflict that names the last writer."""
    ticket = f.ticket("acknowledged")
    alice = f.user("agent", "dien-luc", name="Nguyễn Thị Alice")
    bob = f.user("agent", "dien-luc", name="Trần Văn Bob")
    seen = ticket.version
    services.add_note(ticket.id, "Đã liên hệ", actor=alice, expected_version=seen)
    with pytest.raises(ConflictError) as err:
        services.resolve(ticket.id, "Đã xử lý", actor=bob, expected_version=seen)
    assert err.value.changed_by == "Nguyễn Thị Alice"
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).status == "acknowledged"


def test_two_sessions_cannot_both_win(app):
    """Test that when two database sessions update one ticket, the second commit is refused.

    On PostgreSQL the sessions are real concurrent connections; the UPDATE of the loser
    matches no row (its version is stale), which becomes a ConflictError naming the winner.
    """
    ticket = f.ticket("assigned")
    agent = f.user("agent", "dien-luc")
    head = f.user("agency_head", "dien-luc", name="Trưởng phòng Hà")
    # Session 1 (the app's) holds the ticket at version 1.
    mine = db.session.get(Ticket, ticket.id)
    assert mine.version == 1
    # Session 2 commits a change first, on its own connection.
    with Session(db.engine) as other:
        theirs = other.get(Ticket, ticket.id)
        theirs.status = "acknowledged"
        theirs.updated_by_id = head.id
        other.commit()
    with pytest.raises(ConflictError) as err:
        services.acknowledge(ticket.id, actor=agent)
    assert err.value.changed_by == "Trưởng phòng Hà"
    db.session.rollback()
    fresh = db.session.get(Ticket, ticket.id)
    db.session.refresh(fresh)
    assert fresh.version == 2 and fresh.updated_by_id == head.id
