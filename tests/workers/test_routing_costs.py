"""What routing one ticket costs the database, and that the cheaper writes keep every guarantee."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket, TicketEvent
from hotline.routing.services import route_ticket
from hotline.tickets import services
from tests.workers.conftest import new_ticket

POWER_CUT = "Khu vực phường Tân Lập mất điện từ 2 giờ chiều đến giờ chưa có lại"


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Collect the first words of the SQL statements the app's engine runs in the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()[:3]).upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture()
def warm_router():
    """Route one ticket first: the rules, calendar and SLA policies are then cached."""
    route_ticket(new_ticket(POWER_CUT).id)
    db.session.remove()


def _events(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(
        db.session.execute(select(TicketEvent).filter_by(ticket_id=ticket_id, kind=kind)).scalars()
    )


def test_assigning_a_ticket_reads_its_agency_afresh_and_updates_it_once(warm_router):
    """Test that routing a ticket to an agency that wants new-ticket emails reads the
    ticket and the agency as the database has them (no cached row), the category and
    commune named in the email, and writes all of it with one UPDATE: assignment, SLA
    deadlines, one version bump, event, outbox row."""
    ticket = new_ticket(POWER_CUT)
    ticket_id, version = ticket.id, ticket.version
    db.session.remove()

    with sql_statements() as statements:
        assert route_ticket(ticket_id) == "assigned:dien-luc"
    assert statements == [
        "SELECT TICKETS.ID AS",
        "SELECT AGENCIES.ID AS",
        "INSERT INTO TICKET_EVENTS",
        "SELECT CATEGORIES.ID AS",
        "SELECT COMMUNES.ID AS",
        "INSERT INTO OUTBOX_MESSAGES",
        "UPDATE TICKETS SET",
    ]
    db.session.remove()
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.status == "assigned" and ticket.agency.code == "dien-luc"
    assert ticket.version == version + 1
    assert ticket.sla_cycle == 1 and ticket.acknowledge_state == "on_track"
    assert ticket.acknowledge_due_at is not None and ticket.resolve_due_at is not None
    assert ticket.due_at == ticket.acknowledge_due_at
    assert ticket.next_sla_check_at is not None
    (assigned,) = _events(ticket.id, "assigned")
    assert (assigned.from_status, assigned.to_status) == ("received", "assigned")
    assert assigned.actor_label == "routing" and assigned.public
    assert "phường: Tân Lập" in assigned.note and assigned.data["agency"] == "dien-luc"
    email = db.session.execute(select(OutboxMessage).filter_by(ticket_id=ticket.id)).scalar_one()
    assert email.template == "new_ticket" and email.recipient == "dien-luc@daklak.example"


def test_triage_is_three_statements(warm_router):
    """Test that sending an unclear ticket to triage reads it, writes its event, updates it."""
    ticket_id = new_ticket("xin cảm ơn các anh chị đã hỗ trợ").id
    db.session.remove()

    with sql_statements() as statements:
        assert route_ticket(ticket_id) == "triage"

    assert statements == ["SELECT TICKETS.ID AS", "INSERT INTO TICKET_EVENTS", "UPDATE TICKETS SET"]
    db.session.remove()
    assert db.session.get(Ticket, ticket_id).status == "triage"
    assert len(_events(ticket_id, "triage")) == 1


def test_a_failed_commit_leaves_no_event_and_no_email(warm_router, monkeypatch):
    """Test that the event and the outbox row, written before the ticket's update, belong to
    its transaction: when the commit fails, none of them exists and the job can run again."""
    ticket_id = new_ticket(POWER_CUT).id
    db.session.remove()

    def fail_to_commit(_ticket):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "commit_ticket", fail_to_commit)
    with pytest.raises(RuntimeError):
        route_ticket(ticket_id)
    db.session.rollback()
    monkeypatch.undo()

    assert db.session.get(Ticket, ticket_id).status == "received"
    assert _events(ticket_id, "assigned") == []
    count = select(func.count()).select_from(OutboxMessage).filter_by(ticket_id=ticket_id)
    assert db.session.execute(count).scalar_one() == 0
    # Retried, the job does it all once.
    assert route_ticket(ticket_id) == "assigned:dien-luc"
    assert len(_events(ticket_id, "assigned")) == 1
    assert db.session.execute(count).scalar_one() == 1
