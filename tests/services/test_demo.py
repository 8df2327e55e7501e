"""Tests of the demo data that `make run` seeds (`flask hotline demo`)."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.demo import create_demo_data
from hotline.extensions import db
from hotline.models import Ticket


def test_demo_data_reaches_the_states_of_a_working_hotline():
    """Test that the demo tickets are spread over the states, a question to a citizen
    included (that step read a field the ticket writer no longer returns)."""
    create_demo_data(count=40, seed=1022)
    counts = dict(
        db.session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
        .tuples()
        .all()
    )
    assert sum(counts.values()) == 40
    assert {"assigned", "acknowledged", "waiting_citizen", "resolved", "closed"} <= set(counts)
