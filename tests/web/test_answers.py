"""Tests of the public pages: published answers with search, and the one-time rating page."""

from __future__ import annotations

import re

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Ticket, TicketEvent
from hotline.notifications.links import new_rating_token
from hotline.tickets import services
from tests.web.staff_helpers import csrf_from, make_ticket, reload, staff_client


def test_published_answers_are_listed_and_searchable_without_personal_data(anon):
    """Test /answers: only published answers, searchable with or without diacritics."""
    shown = make_ticket("closed", description="Đường Lê Duẩn mất điện cả đêm.", publish=True)
    hidden = make_ticket("closed", description="Mất điện ở xã Hòa Phú.", publish=False)
    open_one = make_ticket("resolved", description="Mất điện ở phường Tân An.")
    page = anon.get("/answers")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert shown.code in html and hidden.code not in html and open_one.code not in html
    assert "Nguyễn Văn An" not in html and "+849" not in html
    assert shown.code in anon.get("/answers?q=mat dien").get_data(as_text=True)
    assert shown.code in anon.get("/answers?q=LÊ DUẨN").get_data(as_text=True)
    assert shown.code not in anon.get("/answers?q=cấp nước").get_data(as_text=True)
    detail = anon.get(f"/answers/{shown.code}")
    assert detail.status_code == 200
    assert "Đã khắc phục xong sự cố điện." in detail.get_data(as_text=True)
    assert "Nguyễn Văn An" not in detail.get_data(as_text=True)
    assert anon.get(f"/answers/{hidden.code}").status_code == 404


def _rateable() -> tuple[Ticket, str]:
    ticket = make_ticket("closed")
    token, digest = new_rating_token()
    row = db.session.get(Ticket, ticket.id)
    row.rating_token_hash = digest
    db.session.commit()
    return ticket, token


def test_rating_once(app, anon):
    """Test that the rating link records 1–5 and a comment once; a second visit says so."""
    ticket, token = _rateable()
    page = anon.get(f"/r/{token}")
    assert page.status_code == 200
    assert "Đã khắc phục xong sự cố điện." in page.get_data(as_text=True)
    done = anon.post(
        f"/r/{token}",
        data={"rating": "4", "comment": "Xử lý nhanh", "csrf_token": csrf_from(page)},
    )
    assert done.status_code == 200
    assert "Cảm ơn bạn đã đánh giá" in done.get_data(as_text=True)
    rated = reload(ticket)
    assert (rated.rating, rated.rating_comment) == (4, "Xử lý nhanh")
    kinds = db.session.execute(
        select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
    ).scalars()
    assert "rated" in list(kinds)
    other = staff_client(app)
    again_page = other.get(f"/r/{token}")
    assert "đã được đánh giá trước đó" in again_page.get_data(as_text=True)
    assert reload(ticket).rating == 4


def test_rating_refuses_bad_values_and_unknown_links(anon):
    """Test that a missing or out-of-range rating is a 400 and a wrong token a 404."""
    ticket, token = _rateable()
    page = anon.get(f"/r/{token}")
    token_value = csrf_from(page)
    for value in ("", "0", "6", "abc"):
        response = anon.post(f"/r/{token}", data={"rating": value, "csrf_token": token_value})
        assert response.status_code == 400, value
    assert reload(ticket).rating is None
    assert anon.get("/r/not-a-real-token").status_code == 404
    assert anon.get("/r/" + "x" * 300).status_code == 404
    no_csrf = anon.post(f"/r/{token}", data={"rating": "5"})
    assert no_csrf.status_code == 400


def test_rating_link_of_a_reopened_ticket_is_not_accepted(anon):
    """Test that once a ticket is reopened, its old rating link is refused."""
    ticket, token = _rateable()
    services.reopen(ticket.id, "Chưa đạt", actor=None)
    response = anon.get(f"/r/{token}")
    assert response.status_code == 404
    assert re.search("Liên kết không hợp lệ", response.get_data(as_text=True))
