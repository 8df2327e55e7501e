"""Test the access matrix: every role × route × own/other agency gets exactly 200/302/403/404."""

from __future__ import annotations

import pytest

from hotline.extensions import db
from hotline.models import Attachment
from hotline.storage import get_store
from tests.web.staff_helpers import category, csrf_from, make_ticket, post_action

ROLES = ("anonymous", "operator", "agent", "agency_head", "supervisor", "admin")
OWN, OTHER = "dien-luc", "so-xay-dung"
ALL = {"operator", "agent", "agency_head", "supervisor", "admin"}

# Pages that do not depend on a ticket: path -> roles allowed (others get 403).
PAGES = {
    "/staff/tickets": ALL,
    "/staff/tickets.csv": ALL,
    "/staff/triage": {"operator", "supervisor"},
    "/staff/tickets/new": {"operator", "supervisor"},
    "/staff/transfers": {"supervisor"},
    "/staff/review": {"supervisor"},
    "/staff/dashboard": {"supervisor", "admin", "agency_head"},
    "/staff/dashboard.csv": {"supervisor", "admin", "agency_head"},
    "/admin/": {"admin"},
    "/admin/agencies": {"admin"},
    "/admin/users": {"admin"},
    "/admin/categories": {"admin"},
    "/admin/sla": {"admin"},
    "/admin/calendar": {"admin"},
    "/admin/audit": {"admin"},
    "/account/password": ALL,
}


def _client(signed_in, anon, role: str):
    if role == "anonymous":
        return anon
    agency = OWN if role in ("agent", "agency_head") else None
    return signed_in(role, agency)[0]


@pytest.mark.parametrize("path", sorted(PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_pages(signed_in, anon, role, path):
    """Test that each page answers 200 to the roles it serves, 403 to others, 302 to visitors."""
    client = _client(signed_in, anon, role)
    response = client.get(path)
    response.get_data()
    if role == "anonymous":
        expected = 302
    else:
        expected = 200 if role in PAGES[path] else 403
    assert response.status_code == expected


# Ticket pages: who sees a ticket of their own agency / of another agency.
SEES = {
    ("operator", "own"): 200,
    ("operator", "other"): 200,
    ("agent", "own"): 200,
    ("agent", "other"): 404,
    ("agency_head", "own"): 200,
    ("agency_head", "other"): 404,
    ("supervisor", "own"): 200,
    ("supervisor", "other"): 200,
    ("admin", "own"): 200,
    ("admin", "other"): 200,
    ("anonymous", "own"): 302,
    ("anonymous", "other"): 302,
}


@pytest.mark.parametrize("side", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
def test_ticket_page_and_attachment(signed_in, anon, role, side):
    """Test the ticket page and its attachment route per role and agency."""
    ticket = make_ticket("acknowledged", OWN if side == "own" else OTHER, "dien")
    key = get_store().save(b"\xff\xd8\xff\xe0fake-jpeg", "jpg")
    item = Attachment(ticket_id=ticket.id, kind="photo", storage_key=key, content_type="image/jpeg")
    db.session.add(item)
    db.session.commit()
    client = _client(signed_in, anon, role)
    expected = SEES[(role, side)]
    assert client.get(f"/staff/tickets/{ticket.code}").status_code == expected
    response = client.get(f"/staff/attachments/{item.id}")
    assert response.status_code == expected
    if expected == 200:
        assert response.data == b"\xff\xd8\xff\xe0fake-jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


# Actions: (action, ticket state, fields) -> expected per (role, side); 303 = done.
ACTIONS = {
    "acknowledge": ("assigned", {}),
    "note": ("acknowledged", {"note": "Đã gọi lại cho người dân"}),
    "close": ("resolved", {"publish": "y"}),
    "reject": ("acknowledged", {"reason": "spam", "note": "Tin nhắn quảng cáo"}),
}
ACT = {
    # acknowledge: the agency's own staff only
    ("acknowledge", "agent", "own"): 303,
    ("acknowledge", "agent", "other"): 404,
    ("acknowledge", "agency_head", "own"): 303,
    ("acknowledge", "agency_head", "other"): 404,
    ("acknowledge", "operator", "own"): 403,
    ("acknowledge", "supervisor", "own"): 403,
    ("acknowledge", "admin", "own"): 403,
    # note: anyone who sees the ticket
    ("note", "agent", "own"): 303,
    ("note", "agent", "other"): 404,
    ("note", "operator", "other"): 303,
    ("note", "supervisor", "other"): 303,
    # close and reject: supervisors only
    ("close", "supervisor", "own"): 303,
    ("close", "supervisor", "other"): 303,
    ("close", "agent", "own"): 403,
    ("close", "agent", "other"): 404,
    ("close", "agency_head", "own"): 403,
    ("close", "operator", "own"): 403,
    ("close", "admin", "own"): 403,
    ("reject", "supervisor", "own"): 303,
    ("reject", "agent", "own"): 403,
    ("reject", "operator", "other"): 403,
}


@pytest.mark.parametrize(("action", "role", "side"), sorted(ACT))
def test_actions(signed_in, role, action, side):
    """Test that each action is allowed, refused (403) or hidden (404) per role and agency."""
    status, fields = ACTIONS[action]
    ticket = make_ticket(status, OWN if side == "own" else OTHER, "dien")
    client = _client(signed_in, None, role)
    # A real CSRF token (from a page every role sees) and the version the ticket has.
    data = {f"{action}-{k}": v for k, v in fields.items()}
    data[f"{action}-version"] = str(ticket.version)
    data[f"{action}-csrf_token"] = csrf_from(client.get("/staff/tickets"))
    response = client.post(f"/staff/tickets/{ticket.code}/{action}", data=data)
    assert response.status_code == ACT[(action, role, side)]


def test_triage_assign_is_for_the_centre_only(signed_in):
    """Test that operators route a triage ticket and agency staff cannot even see it."""
    ticket = make_ticket("triage")
    operator = signed_in("operator")[0]
    agent = signed_in("agent", OWN)[0]
    assert agent.get(f"/staff/tickets/{ticket.code}").status_code == 404
    fields = {"category": str(category("dien").id)}
    response = post_action(operator, ticket.code, "assign", fields)
    assert response.status_code == 303
