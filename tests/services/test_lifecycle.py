"""Tests of the ticket state machine: every allowed and every forbidden transition."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import STATUSES, Ticket, TicketEvent
from hotline.tickets import services
from hotline.tickets.errors import InvalidInput, InvalidTransition, PermissionDenied
from hotline.tickets.lifecycle import check_transition
from tests import factories as f


def _call(action: str, ticket: Ticket, actors: dict) -> Ticket:
    """Run ACTION on TICKET with the actor entitled to it and valid arguments."""
    agent, sup, op = actors["agent"], actors["supervisor"], actors["operator"]
    other = f.agency("so-xay-dung")
    calls: dict[str, Callable[[], Ticket]] = {
        "triage": lambda: services.send_to_triage(ticket.id, reason="không rõ"),
        "assign": lambda: services.assign(ticket.id, f.agency("dien-luc").id, actor=op),
        "acknowledge": lambda: services.acknowledge(ticket.id, actor=agent),
        "ask_citizen": lambda: services.ask_citizen(ticket.id, "Xin địa chỉ cụ thể?", actor=agent),
        "citizen_replied": lambda: services.citizen_replied(ticket.id, "Số 5 Lê Duẩn"),
        "request_transfer": lambda: services.request_transfer(
            ticket.id, "Không thuộc thẩm quyền", actor=agent
        ),
        "approve_transfer": lambda: services.approve_transfer(ticket.id, other.id, actor=sup),
        "refuse_transfer": lambda: services.refuse_transfer(
            ticket.id, "Đúng thẩm quyền", actor=sup
        ),
        "resolve": lambda: services.resolve(ticket.id, "Đã khắc phục xong.", actor=agent),
        "close": lambda: services.close(ticket.id, actor=sup, publish=True),
        "reject": lambda: services.reject(ticket.id, "spam", "Tin rác", actor=sup),
        "reopen": lambda: services.reopen(ticket.id, "Trả lời chưa đầy đủ", actor=sup),
        "merge": lambda: services.merge_duplicate(ticket.id, actors["original"].id, actor=sup),
    }
    return calls[action]()


EXPECTED_TARGET = {
    "triage": "triage",
    "assign": "assigned",
    "acknowledge": "acknowledged",
    "ask_citizen": "waiting_citizen",
    "citizen_replied": "acknowledged",
    "request_transfer": "transfer_requested",
    "approve_transfer": "assigned",
    "refuse_transfer": "acknowledged",  # the factory's status_before_transfer
    "resolve": "resolved",
    "close": "closed",
    "reject": "closed",
    "reopen": "acknowledged",
    "merge": "closed",
}
CASES = [
    (action, status, status in services.TRANSITIONS[action][0])
    for action in services.TRANSITIONS
    for status in STATUSES
]


@pytest.fixture
def actors():
    """An agent of Điện lực, a supervisor, an operator and an original ticket for merges."""
    return {
        "agent": f.user("agent", "dien-luc"),
        "supervisor": f.user("supervisor", None),
        "operator": f.user("operator", None),
        "original": f.ticket("acknowledged"),
    }


@pytest.mark.parametrize(
    ("action", "status", "allowed"),
    CASES,
    ids=[f"{a}-from-{s}-{'ok' if ok else 'refused'}" for a, s, ok in CASES],
)
def test_transition(action, status, allowed, actors):
    """Test that each action succeeds exactly from the states SPEC §3 allows, writing one event."""
    ticket = f.ticket(status)
    before = db.session.scalar(select(func.count(TicketEvent.id)).filter_by(ticket_id=ticket.id))
    version = ticket.version
    if allowed:
        result = _call(action, ticket, actors)
        assert result.status == EXPECTED_TARGET[action]
        events = db.session.scalars(
            select(TicketEvent).filter_by(ticket_id=ticket.id).order_by(TicketEvent.id)
        ).all()
        assert len(events) == before + 1
        assert events[-1].from_status == status
        assert events[-1].to_status == EXPECTED_TARGET[action]
        assert result.version == version + 1
    else:
        with pytest.raises(InvalidTransition):
            _call(action, ticket, actors)
        db.session.rollback()
        fresh = db.session.get(Ticket, ticket.id)
        assert fresh.status == status
        count = db.session.scalar(select(func.count(TicketEvent.id)).filter_by(ticket_id=ticket.id))
        assert count == before


ROLE_CASES = [
    ("acknowledge", "assigned", "agent", True),
    ("acknowledge", "assigned", "agency_head", True),
    ("acknowledge", "assigned", "other_agent", False),
    ("acknowledge", "assigned", "supervisor", False),
    ("acknowledge", "assigned", "operator", False),
    ("acknowledge", "assigned", "admin", False),
    ("resolve", "acknowledged", "other_agent", False),
    ("close", "resolved", "agent", False),
    ("close", "resolved", "operator", False),
    ("close", "resolved", "admin", False),
    ("close", "resolved", "supervisor", True),
    ("approve_transfer", "transfer_requested", "agency_head", False),
    ("reopen", "closed", "agent", False),
    ("assign", "triage", "agent", False),
    ("assign", "triage", "operator", True),
    ("assign", "triage", "supervisor", True),
]


@pytest.mark.parametrize(("action", "status", "role", "allowed"), ROLE_CASES)
def test_who_may(action, status, role, allowed, actors):
    """Test that only the roles SPEC §2 names may act, on their own agency's tickets."""
    ticket = f.ticket(status)
    if role == "other_agent":
        actor = f.user("agent", "so-xay-dung")
    elif role in ("agent", "agency_head"):
        actor = f.user(role, "dien-luc")
    else:
        actor = f.user(role, None)
    for key in ("agent", "supervisor", "operator"):
        actors[key] = actor
    if allowed:
        assert _call(action, ticket, actors).status == EXPECTED_TARGET[action]
    else:
        with pytest.raises(PermissionDenied):
            _call(action, ticket, actors)


def test_reject_needs_a_reason_from_the_list(actors):
    """Test that a rejection with an unknown reason or no note is refused and changes nothing."""
    ticket = f.ticket("assigned")
    with pytest.raises(InvalidInput):
        services.reject(ticket.id, "boring", "x", actor=actors["supervisor"])
    with pytest.raises(InvalidInput):
        services.reject(ticket.id, "spam", "   ", actor=actors["supervisor"])
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).status == "assigned"


def test_merge_links_both_tickets(actors):
    """Test that merging closes the duplicate, links it to the original and notes it on both."""
    dup = f.ticket("assigned")
    original = actors["original"]
    services.merge_duplicate(dup.id, original.id, actor=actors["supervisor"])
    assert dup.duplicate_of_id == original.id and dup.close_reason == "duplicate"
    kinds = [e.kind for e in db.session.get(Ticket, original.id).events]
    assert "duplicate_linked" in kinds


def test_create_ticket_writes_received_and_created_event():
    """Test that create_ticket stores a received ticket with a valid code and a public event."""
    from hotline.tickets.codes import is_valid_code

    report = services.Report("web", "Đèn đường hỏng", category_code="trat-tu-do-thi")
    new = services.create_ticket(report, route=False)
    ticket = new.ticket
    assert new.created and ticket.status == "received" and is_valid_code(ticket.code)
    assert [(e.kind, e.to_status, e.public) for e in ticket.events] == [
        ("created", "received", True)
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "fax", "description": "x"}, "channel"),
        ({"channel": "web", "description": "   "}, "description"),
        ({"channel": "web", "description": "x" * 4001}, "description"),
        ({"channel": "web", "description": "ok", "priority": "asap"}, "priority"),
        ({"channel": "web", "description": "ok", "category_code": "nope"}, "category"),
        ({"channel": "web", "description": "ok", "commune_id": 999999}, "commune"),
    ],
)
def test_create_ticket_refuses_bad_input(kwargs, field):
    """Test that bad input to create_ticket names the field and stores nothing."""
    with pytest.raises(InvalidInput) as err:
        services.create_ticket(services.Report(**kwargs), route=False)
    assert err.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_check_transition_has_no_state_for_an_action_that_decides_its_own(actors):
    """Test that check_transition refuses refuse_transfer, whose target the service decides
    (the state before the transfer request), instead of handing out None as a state."""
    ticket = f.ticket("transfer_requested")
    assert check_transition(ticket, "approve_transfer", actors["supervisor"], None) == "assigned"
    with pytest.raises(ValueError, match="refuse_transfer"):
        check_transition(ticket, "refuse_transfer", actors["supervisor"], None)
