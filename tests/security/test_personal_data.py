"""Personal data by role: full contact details only where the role acts on them, masked
elsewhere on the ticket page, and never in lists, exports or public answers."""

from __future__ import annotations

import pytest

from hotline.extensions import db
from hotline.staff.privacy import mask_email, mask_name, mask_phone
from tests.security.pages import client_for
from tests.web.staff_helpers import make_ticket

NAME, PHONE, EMAIL = "Lê Thị Hoa", "+84987654321", "hoa.le@example.vn"
# Every way the number may be written, and the name with and without diacritics.
TRACES = [
    PHONE,
    "0987654321",
    "84987654321",
    "987654321",
    "098 765 4321",
    EMAIL,
    NAME,
    "Le Thi Hoa",
]
LISTS = [
    "/staff/tickets",
    "/staff/triage",
    "/staff/review",
    "/staff/transfers",
    "/staff/dashboard",
    "/staff/tickets.csv",
    "/staff/tickets.csv?status=triage",
    "/staff/dashboard.csv",
    "/admin/audit",
]


def citizen_ticket(status: str):
    """A ticket of the power company (or waiting in triage) with all three contact details."""
    ticket = make_ticket(status, "dien-luc", phone=PHONE)
    ticket.citizen_name, ticket.email = NAME, EMAIL
    db.session.commit()
    return ticket


def traces_in(text: str) -> list[str]:
    """The contact details found in TEXT."""
    return [t for t in TRACES if t in text]


# (role, agency, ticket state) -> "full" | "masked" | "hidden" (404: not theirs to see)
VISIBILITY = [
    ("agent", "dien-luc", "assigned", "full"),
    ("agency_head", "dien-luc", "acknowledged", "full"),
    ("agent", "cap-nuoc-dl", "assigned", "hidden"),
    ("agency_head", "cap-nuoc-dl", "assigned", "hidden"),
    ("supervisor", None, "assigned", "full"),
    ("supervisor", None, "triage", "full"),
    ("operator", None, "triage", "full"),
    ("operator", None, "received", "full"),
    ("operator", None, "assigned", "masked"),
    ("operator", None, "closed", "masked"),
    ("admin", None, "triage", "masked"),
    ("admin", None, "assigned", "masked"),
]


@pytest.mark.parametrize(("role", "agency_code", "status", "expected"), VISIBILITY)
def test_ticket_page_shows_contact_details_only_to_who_needs_them(
    app, role, agency_code, status, expected
):
    """Test that the ticket page shows name, phone and email in full to the owning agency,
    supervisors and (while it waits for them) operators, masked to others."""
    from tests.web.staff_helpers import login, make_user, staff_client

    ticket = citizen_ticket(status)
    client = staff_client(app)
    login(client, make_user(role, agency_code))
    response = client.get(f"/staff/tickets/{ticket.code}")
    if expected == "hidden":
        assert response.status_code == 404
        return
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if expected == "full":
        assert {PHONE, EMAIL, NAME} <= set(traces_in(html))
        assert f'href="tel:{PHONE}"' in html
    else:
        assert traces_in(html) == []
        assert mask_phone(PHONE) in html and mask_email(EMAIL) in html
        assert mask_name(NAME) == "L. T. H." and "L. T. H." in html
        assert "chỉ hiển thị cho đơn vị xử lý và lãnh đạo" in html


@pytest.mark.parametrize("role", ["operator", "agent", "agency_head", "supervisor", "admin"])
def test_lists_exports_and_dashboard_never_show_contact_details(app, role):
    """Test that queues, CSV exports, the dashboard and the audit log show no contact detail
    to any role, whatever the ticket's state."""
    for status in ("triage", "assigned", "resolved", "closed"):
        citizen_ticket(status)
    client = client_for(app, role)
    opened = 0
    for path in LISTS:
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert traces_in(body) == [], (role, path)
        opened += response.status_code == 200
    assert opened >= 2


def test_public_pages_and_apis_never_show_contact_details(client, app):
    """Test that tracking, published answers, Open311 and the JSON API show no contact detail."""
    from hotline.models import ApiKey

    ticket = citizen_ticket("closed")
    row, key = ApiKey.generate("privacy")
    db.session.add(row)
    db.session.commit()
    pages = [
        client.get(f"/track?code={ticket.code}"),
        client.get("/answers"),
        client.get(f"/answers/{ticket.code}"),
        client.get(f"/open311/v2/requests/{ticket.code}.json"),
        client.get(f"/open311/v2/requests/{ticket.code}.xml"),
        client.get("/open311/v2/requests.json"),
        client.get(f"/api/v1/tickets/{ticket.code}", headers={"X-API-Key": key}),
    ]
    for response in pages:
        assert traces_in(response.get_data(as_text=True)) == [], response.request.path


def test_masks_keep_enough_to_tell_people_apart():
    """Test the masked forms: network and last digits of a phone, first letter and domain of
    an email, initials of a name; empty values stay empty."""
    assert mask_phone("+84987654321") == "+8498•••••21"
    assert mask_email("hoa.le@example.vn") == "h•••@example.vn"
    assert mask_name("  Nguyễn   Văn An ") == "N. V. A."
    assert (mask_phone(None), mask_email(""), mask_name(None)) == ("", "", "")
