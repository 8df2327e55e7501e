"""Tests of the 1022 centre's screens: a ticket typed in for a caller, and the triage form."""

from __future__ import annotations

from rq import Queue
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Ticket
from tests.web.staff_helpers import (
    agency,
    category,
    commune,
    csrf_from,
    make_ticket,
    post_action,
    reload,
)


def _new_ticket(client, **fields):
    page = client.get("/staff/tickets/new")
    data = {"csrf_token": csrf_from(page), "priority": "normal", **fields}
    return client.post("/staff/tickets/new", data=data)


def test_operator_creates_a_ticket_that_is_routed_after_commit(signed_in, redis_conn):
    """Test that a caller's ticket is stored with channel operator and its routing enqueued."""
    client, operator = signed_in("operator")
    response = _new_ticket(
        client,
        description="Đèn đường ở ngã tư Lê Duẩn bị hỏng cả tuần nay.",
        category="giao-thong",
        commune=str(commune("phuong-tan-lap").id),
        citizen_name="Trần Thị Bình",
        phone="0912 345 678",
        contact_consent="y",
    )
    assert response.status_code == 303
    ticket = db.session.execute(select(Ticket)).scalar_one()
    assert response.headers["Location"].endswith(f"/staff/tickets/{ticket.code}")
    assert ticket.channel == "operator" and ticket.status == "received"
    assert ticket.phone == "+84912345678" and ticket.category.code == "giao-thong"
    assert ticket.updated_by_id == operator.id
    queue = Queue("high", connection=redis_conn)
    assert f"route-{ticket.id}" in queue.job_ids
    followed = client.get(response.headers["Location"])
    assert f"Đã tạo phiếu {ticket.code}." in followed.get_data(as_text=True)


def test_operator_form_errors_are_shown_next_to_fields(signed_in):
    """Test that a short description or a bad phone number is refused with a clear message."""
    client, _ = signed_in("operator")
    short = _new_ticket(client, description="ngắn")
    assert short.status_code == 400
    assert "Nội dung cần từ 10 đến 4000 ký tự." in short.get_data(as_text=True)
    phone = _new_ticket(client, description="Rác thải tồn đọng nhiều ngày.", phone="12345")
    assert phone.status_code == 400
    assert "Số điện thoại không hợp lệ." in phone.get_data(as_text=True)
    assert "Rác thải tồn đọng nhiều ngày." in phone.get_data(as_text=True)  # text kept
    assert db.session.execute(select(Ticket)).first() is None


def test_triage_by_category_finds_the_agency(signed_in):
    """Test that choosing a provincial category routes to its agency (no agency chosen)."""
    ticket = make_ticket("triage")
    client, _ = signed_in("operator")
    response = post_action(client, ticket.code, "assign", {"category": str(category("dien").id)})
    assert response.status_code == 303
    routed = reload(ticket)
    assert routed.status == "assigned" and routed.agency_id == agency("dien-luc").id
    assert routed.due_at is not None


def test_triage_local_category_goes_to_the_commune(signed_in):
    """Test that a local category with a commune goes to that commune's People's Committee."""
    ticket = make_ticket("triage")
    place = commune("phuong-tan-lap")
    client, _ = signed_in("operator")
    response = post_action(
        client,
        ticket.code,
        "assign",
        {"category": str(category("moi-truong").id), "commune": str(place.id)},
    )
    assert response.status_code == 303
    assert reload(ticket).agency_id == place.agency_id


def test_triage_without_a_responsible_agency_asks_to_choose_one(signed_in):
    """Test that "Khác" without an agency is refused at the agency field; choosing one works."""
    ticket = make_ticket("triage")
    client, _ = signed_in("operator")
    fields = {"category": str(category("khac").id)}
    refused = post_action(client, ticket.code, "assign", fields)
    assert refused.status_code == 400
    assert "Chưa xác định được đơn vị" in refused.get_data(as_text=True)
    chosen = post_action(
        client, ticket.code, "assign", {**fields, "agency": str(agency("vp-ubnd").id)}
    )
    assert chosen.status_code == 303
    assert reload(ticket).agency_id == agency("vp-ubnd").id
