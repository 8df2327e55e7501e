"""Tests of the ticket page and its actions, end to end through the forms."""

from __future__ import annotations

import re

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import OutboxMessage, Ticket, TicketEvent
from hotline.tickets import services
from hotline.timeutil import to_local
from tests.web.staff_helpers import agency, make_ticket, post_action, reload


def _events(ticket: Ticket) -> list[str]:
    return list(
        db.session.execute(
            select(TicketEvent.kind)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        ).scalars()
    )


def _actions_offered(response) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', response.get_data(as_text=True))


def test_agent_acknowledges_notes_asks_and_answers(signed_in):
    """Test the agency's path: acknowledge, internal note, ask the citizen (SMS), answer."""
    ticket = make_ticket("assigned")
    client, agent = signed_in("agent", "dien-luc", name="Lê Văn Điện")
    page = client.get(f"/staff/tickets/{ticket.code}")
    assert _actions_offered(page) == ["acknowledge", "resolve", "request_transfer", "note"]
    assert "Nguyễn Văn An" in page.get_data(as_text=True)  # the owning agency sees the citizen

    assert post_action(client, ticket.code, "acknowledge").status_code == 303
    assert reload(ticket).status == "acknowledged"
    assert (
        post_action(client, ticket.code, "note", {"note": "Đã cử đội kỹ thuật"}).status_code == 303
    )
    asked = post_action(client, ticket.code, "ask_citizen", {"question": "Số nhà cụ thể?"})
    assert asked.status_code == 303
    assert reload(ticket).status == "waiting_citizen"
    sms = db.session.execute(
        select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.template == "ask_citizen"
        )
    ).scalar_one()
    assert sms.channel == "sms" and sms.payload["question"] == "Số nhà cụ thể?"

    services.citizen_replied(ticket.id, "Số 12 Lê Duẩn")
    answer = "Đã thay dây dẫn, điện đã có lại lúc 15 giờ."
    assert post_action(client, ticket.code, "resolve", {"answer": answer}).status_code == 303
    final = reload(ticket)
    assert final.status == "resolved" and final.public_answer == answer
    assert final.resolve_working_minutes is not None
    page = client.get(f"/staff/tickets/{ticket.code}")
    html = page.get_data(as_text=True)
    assert "Đã cử đội kỹ thuật" in html and "Lê Văn Điện" in html
    assert _events(ticket)[-1] == "resolved"


def test_supervisor_closes_and_publishes(signed_in):
    """Test that a supervisor closes a resolved ticket with its answer published."""
    ticket = make_ticket("resolved")
    client, _ = signed_in("supervisor")
    page = client.get(f"/staff/tickets/{ticket.code}")
    assert _actions_offered(page) == ["close", "reopen", "reject", "merge", "note"]
    response = post_action(client, ticket.code, "close", {"publish": "y"}, page=page)
    assert response.status_code == 303
    closed = reload(ticket)
    assert closed.status == "closed" and closed.answer_published
    assert closed.rating_token_hash
    followed = client.get(response.headers["Location"])
    assert "Đã duyệt và đóng phiếu." in followed.get_data(as_text=True)


def test_supervisor_reopens_with_a_reason(signed_in):
    """Test that a reopen needs a reason, then gives the ticket back with a new deadline."""
    ticket = make_ticket("resolved")
    client, _ = signed_in("supervisor")
    empty = post_action(client, ticket.code, "reopen", {"reason": "  "})
    assert empty.status_code == 400
    assert "Vui lòng nêu lý do." in empty.get_data(as_text=True)
    done = post_action(client, ticket.code, "reopen", {"reason": "Trả lời chưa đầy đủ."})
    assert done.status_code == 303
    assert reload(ticket).status == "acknowledged"


def test_transfer_requested_then_refused_then_approved(signed_in):
    """Test a transfer: the agent asks, the supervisor refuses once, then approves it."""
    ticket = make_ticket("acknowledged")
    agent, _ = signed_in("agent", "dien-luc")
    supervisor, _ = signed_in("supervisor")
    target = agency("so-xay-dung")
    asked = post_action(
        agent,
        ticket.code,
        "request_transfer",
        {"reason": "Cột điện của đơn vị chiếu sáng đô thị", "to_agency": str(target.id)},
    )
    assert asked.status_code == 303
    assert reload(ticket).status == "transfer_requested"
    assert ticket.code in supervisor.get("/staff/transfers").get_data(as_text=True)
    refused = post_action(supervisor, ticket.code, "refuse_transfer", {"reason": "Đúng thẩm quyền"})
    assert refused.status_code == 303 and reload(ticket).status == "acknowledged"
    post_action(agent, ticket.code, "request_transfer", {"reason": "Xin chuyển lại"})
    page = supervisor.get(f"/staff/tickets/{ticket.code}")
    approved = post_action(
        supervisor, ticket.code, "approve_transfer", {"agency": str(target.id)}, page=page
    )
    assert approved.status_code == 303
    moved = reload(ticket)
    assert moved.status == "assigned" and moved.agency_id == target.id
    assert agent.get(f"/staff/tickets/{ticket.code}").status_code == 404


def test_reject_as_out_of_scope_and_merge_duplicate(signed_in):
    """Test rejecting a ticket (out of scope) and merging a duplicate into its original."""
    complaint = make_ticket("acknowledged")
    original = make_ticket("acknowledged")
    duplicate = make_ticket("assigned")
    client, _ = signed_in("supervisor")
    rejected = post_action(
        client,
        complaint.code,
        "reject",
        {"reason": "out_of_scope", "note": "Nội dung tố cáo, đề nghị gửi theo Luật Tố cáo."},
    )
    assert rejected.status_code == 303
    assert reload(complaint).close_reason == "out_of_scope"
    bad = post_action(client, duplicate.code, "merge", {"original": "1234567890"})
    assert bad.status_code == 400
    assert "Mã phiếu không đúng" in bad.get_data(as_text=True)
    merged = post_action(client, duplicate.code, "merge", {"original": original.code})
    assert merged.status_code == 303
    row = reload(duplicate)
    assert row.status == "closed" and row.duplicate_of_id == original.id
    page = client.get(f"/staff/tickets/{original.code}").get_data(as_text=True)
    assert duplicate.code in page
    assert _events(original)[-1] == "duplicate_linked"


def test_second_writer_is_told_who_changed_the_ticket_and_nothing_is_overwritten(signed_in):
    """Test that two people saving the same ticket: the second gets a clear 409, no overwrite."""
    ticket = make_ticket("acknowledged")
    first, first_user = signed_in("agent", "dien-luc", name="Nguyễn Thị Hoa")
    second, _ = signed_in("agent", "dien-luc", name="Trần Văn Nam")
    page_first = first.get(f"/staff/tickets/{ticket.code}")
    page_second = second.get(f"/staff/tickets/{ticket.code}")  # both see the same version
    answer = "Đã khắc phục xong sự cố."
    assert (
        post_action(first, ticket.code, "resolve", {"answer": answer}, page=page_first).status_code
        == 303
    )
    late = post_action(
        second, ticket.code, "resolve", {"answer": "Câu trả lời khác"}, page=page_second
    )
    assert late.status_code == 409
    changed = reload(ticket)
    hhmm = to_local(changed.updated_at).strftime("%H:%M")
    html = late.get_data(as_text=True)
    assert f"Phiếu đã được Nguyễn Thị Hoa thay đổi lúc {hhmm}, vui lòng tải lại." in html
    assert changed.public_answer == answer and changed.updated_by_id == first_user.id
    stale_note = post_action(second, ticket.code, "note", {"note": "ghi chú"}, page=page_second)
    assert stale_note.status_code == 409
    assert "note" not in _events(ticket)
    assert "ghi chú" in stale_note.get_data(as_text=True)  # the typed text is kept for a retry


def test_answer_is_required_and_stays_typed_after_an_error(signed_in):
    """Test that form errors come back next to the field with a 400, never a 500."""
    ticket = make_ticket("acknowledged")
    client, _ = signed_in("agent", "dien-luc")
    empty = post_action(client, ticket.code, "resolve", {"answer": ""})
    assert empty.status_code == 400
    assert "Vui lòng nhập nội dung trả lời." in empty.get_data(as_text=True)
    too_long = post_action(client, ticket.code, "resolve", {"answer": "x" * 9000})
    assert too_long.status_code == 400
    tampered = client.post(
        f"/staff/tickets/{ticket.code}/resolve",
        data={"resolve-answer": "ok", "resolve-version": "abc"},
    )
    assert tampered.status_code == 400  # no CSRF token
    assert reload(ticket).status == "acknowledged"


def test_unknown_action_and_ticket_are_404(signed_in):
    """Test that unknown actions and codes are 404s."""
    ticket = make_ticket("acknowledged")
    client, _ = signed_in("supervisor")
    assert client.get("/staff/tickets/0000000000").status_code == 404
    page = client.get(f"/staff/tickets/{ticket.code}")
    token = re.search(r'name="note-csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    response = client.post(
        f"/staff/tickets/{ticket.code}/explode", data={"csrf_token": token.group(1)}
    )
    assert response.status_code == 404


def test_action_that_no_longer_fits_the_state_is_refused_clearly(signed_in):
    """Test that acknowledging an already acknowledged ticket (fresh version) says so, 409."""
    ticket = make_ticket("assigned")
    client, _ = signed_in("agent", "dien-luc")
    page = client.get(f"/staff/tickets/{ticket.code}")
    assert post_action(client, ticket.code, "acknowledge", page=page).status_code == 303
    fresh = reload(ticket)
    token = re.search(
        r'name="acknowledge-csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)
    )
    again = client.post(
        f"/staff/tickets/{ticket.code}/acknowledge",
        data={"acknowledge-csrf_token": token.group(1), "acknowledge-version": str(fresh.version)},
    )
    assert again.status_code == 409
    assert "không còn phù hợp" in again.get_data(as_text=True)
