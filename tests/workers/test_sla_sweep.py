"""The SLA sweep as time passes: timer states, the escalation ladder once, pauses, holidays."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import EscalationStep, OutboxMessage, Ticket, TicketEvent
from hotline.sla.sweep import sweep
from hotline.tickets import services
from tests.workers.conftest import assigned_ticket

LOCAL = timedelta(hours=7)


def local(y, m, d, hh, mm) -> datetime:
    """Return the UTC instant of a local Đắk Lắk wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - LOCAL


def _fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def _count(model, **filters) -> int:
    return db.session.execute(
        select(func.count()).select_from(model).filter_by(**filters)
    ).scalar_one()


def _recipients(template: str) -> set[str]:
    return set(
        db.session.execute(select(OutboxMessage.recipient).filter_by(template=template)).scalars()
    )


def test_states_and_ladder_as_time_passes(staff):
    """Test that an urgent ticket is at risk at 75% and breached at its deadline, for both
    timers, and that each rung emails the right people once."""
    ticket = assigned_ticket(phone=None)
    assert ticket.acknowledge_due_at == local(2026, 3, 2, 9, 0)
    assert ticket.resolve_due_at == local(2026, 3, 2, 14, 0)
    assert ticket.next_sla_check_at == local(2026, 3, 2, 8, 45)

    with time_machine.travel(local(2026, 3, 2, 8, 30), tick=False):
        assert sweep().checked == 0  # nothing due yet: the sweep does not even look
    with time_machine.travel(local(2026, 3, 2, 8, 50), tick=False):
        report = sweep()
    ticket = _fresh(ticket.id)
    assert report.checked == 1 and report.levels == {"at_risk": 1}
    assert (ticket.acknowledge_state, ticket.resolve_state) == ("at_risk", "on_track")
    assert ticket.next_sla_check_at == local(2026, 3, 2, 9, 0)
    assert _recipients("escalation_at_risk") == {"agent@dienluc.example"}

    with time_machine.travel(local(2026, 3, 2, 9, 1), tick=False):
        report = sweep()
    ticket = _fresh(ticket.id)
    assert ticket.acknowledge_state == "breached"
    assert report.levels == {"breached": 1}
    assert _recipients("escalation_breached") == {"head@dienluc.example", "supervisor@1022.example"}
    # The resolve timer turns at risk after 3 of its 4 working hours.
    assert ticket.next_sla_check_at == local(2026, 3, 2, 11, 0)

    with time_machine.travel(local(2026, 3, 2, 14, 5), tick=False):
        sweep()
    ticket = _fresh(ticket.id)
    assert (ticket.acknowledge_state, ticket.resolve_state) == ("breached", "breached")
    steps = db.session.execute(
        select(EscalationStep.timer, EscalationStep.level).filter_by(ticket_id=ticket.id)
    ).all()
    # The resolve timer jumped from on track to breached between sweeps: no stale warning.
    assert sorted(steps) == [
        ("acknowledge", "at_risk"),
        ("acknowledge", "breached"),
        ("resolve", "breached"),
    ]
    assert _count(TicketEvent, ticket_id=ticket.id, kind="sla_breached") == 2


def test_escalation_happens_once_when_the_sweep_runs_twice(staff):
    """Test that running the sweep again (and again later) adds no step, event or email."""
    ticket = assigned_ticket()
    at = local(2026, 3, 2, 9, 10)
    sweep(now=at)
    counts = (_count(EscalationStep), _count(OutboxMessage), _count(TicketEvent))
    # Force the row to be looked at again: a second sweep must still do nothing new.
    db.session.execute(
        Ticket.__table__.update().values(next_sla_check_at=at - timedelta(minutes=1))
    )
    db.session.commit()
    assert sweep(now=at).steps == 0
    assert sweep(now=at + timedelta(minutes=1)).steps == 0
    assert (_count(EscalationStep), _count(OutboxMessage), _count(TicketEvent)) == counts
    assert _fresh(ticket.id).version == ticket.version  # bookkeeping, not an edit


def test_leadership_flag_two_working_days_after_the_deadline(staff):
    """Test that a ticket still breached 2 working days after its deadline is flagged once,
    counting working days (Friday's deadline is flagged on Tuesday)."""
    friday = local(2026, 3, 6, 8, 0)
    ticket = assigned_ticket(now=friday)
    sweep(now=local(2026, 3, 6, 15, 0))  # both timers breached on Friday
    ticket = _fresh(ticket.id)
    assert ticket.next_sla_check_at == local(2026, 3, 10, 9, 0)  # ack due 09:00 + 2 days
    assert sweep(now=local(2026, 3, 9, 16, 0)).checked == 0  # Monday: not yet
    report = sweep(now=local(2026, 3, 10, 14, 30))
    assert report.levels == {"leadership": 2}
    assert _count(EscalationStep, level="leadership") == 2
    assert _count(OutboxMessage, template="escalation_leadership") == 0  # digest only
    assert _fresh(ticket.id).next_sla_check_at is None
    assert sweep(now=local(2026, 3, 11, 9, 0)).steps == 0


def test_acknowledged_ticket_keeps_only_the_resolve_timer(staff):
    """Test that acknowledging stops the first-response timer: only resolve is swept."""
    ticket = assigned_ticket()
    services.acknowledge(ticket.id, actor=staff["agent"], now=local(2026, 3, 2, 8, 20))
    ticket = _fresh(ticket.id)
    assert ticket.acknowledge_state == "met"
    assert ticket.next_sla_check_at == local(2026, 3, 2, 11, 0)
    sweep(now=local(2026, 3, 2, 11, 5))
    ticket = _fresh(ticket.id)
    assert (ticket.acknowledge_state, ticket.resolve_state) == ("met", "at_risk")


def test_waiting_for_the_citizen_pauses_the_clock(staff):
    """Test that a ticket waiting for the citizen is not swept, and its deadline moves by the
    working time paused when the citizen answers."""
    ticket = assigned_ticket(phone="+84912345678")
    services.acknowledge(ticket.id, actor=staff["agent"], now=local(2026, 3, 2, 8, 10))
    services.ask_citizen(
        ticket.id, "Xin cho biết số nhà cụ thể?", actor=staff["agent"], now=local(2026, 3, 2, 9, 0)
    )
    assert _fresh(ticket.id).next_sla_check_at is None
    assert sweep(now=local(2026, 3, 3, 9, 0)).checked == 0
    services.citizen_replied(ticket.id, "Số 12", now=local(2026, 3, 2, 10, 0))
    ticket = _fresh(ticket.id)
    assert ticket.resolve_due_at == local(2026, 3, 2, 15, 0)  # one working hour later
    assert ticket.resolve_state == "on_track"


def test_holidays_are_skipped_by_the_clock(staff):
    """Test that a ticket assigned on the Friday before Tết is still on track during Tết and
    turns at risk only on the first working day after it."""
    ticket = assigned_ticket(now=local(2026, 2, 13, 16, 0))
    ticket = _fresh(ticket.id)
    assert ticket.resolve_due_at == local(2026, 2, 23, 10, 30)
    sweep(now=local(2026, 2, 13, 17, 5))  # acknowledge breached at 17:00 Friday
    ticket = _fresh(ticket.id)
    assert (ticket.acknowledge_state, ticket.resolve_state) == ("breached", "on_track")
    assert ticket.next_sla_check_at == local(2026, 2, 23, 9, 30)
    assert sweep(now=local(2026, 2, 18, 10, 0)).checked == 0  # Tết: nothing moves
    sweep(now=local(2026, 2, 23, 9, 45))
    assert _fresh(ticket.id).resolve_state == "at_risk"


@pytest.mark.postgres
def test_two_concurrent_sweeps_double_nothing(app, staff):
    """Test that two sweeps running at the same moment on PostgreSQL (SKIP LOCKED) take each
    step once and queue each email once."""
    tickets = [assigned_ticket() for _ in range(40)]
    at = local(2026, 3, 2, 9, 10)  # every acknowledge timer breached
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                reports.append(sweep(now=at, batch_size=5))
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r.checked for r in reports) == len(tickets)
    assert sum(r.steps for r in reports) == len(tickets)
    assert _count(EscalationStep) == len(tickets)
    assert _count(TicketEvent, kind="sla_breached") == len(tickets)
    assert _count(OutboxMessage, template="escalation_breached") == 2 * len(tickets)
