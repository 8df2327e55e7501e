"""Helpers of the staff UI tests: users with real passwords, tickets in any state, CSRF tokens."""

from __future__ import annotations

import itertools
import re
from datetime import datetime

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from hotline.extensions import db
from hotline.models import Agency, Category, Commune, Ticket, User
from hotline.tickets import services

PASSWORD = "mat-khau-thu-nghiem-1022"
# A cheap hash of PASSWORD (tests need speed, not strength), computed once.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)
_TOKEN_RE = re.compile(r'name="(?:[a-z_]+-)?csrf_token"[^>]*value="([^"]+)"')
_VERSION_RE = r'name="{action}-version"[^>]*value="(\d+)"'


class StaffClient(FlaskClient):
    """A test client whose requests do not share `g`.

    The suite keeps one app context open per test, and Flask reuses it for every request,
    so the per-request caches kept on `g` (the signed-in user, the CSRF token, the locale)
    would leak from one request, or one user's client, to the next.
    """

    def open(self, *args, **kwargs):
        g._get_current_object().__dict__.clear()
        return super().open(*args, **kwargs)


def staff_client(app: Flask) -> StaffClient:
    """Return a fresh client (its own cookies) of APP."""
    return StaffClient(app, app.response_class, use_cookies=True)


def agency(code: str) -> Agency:
    """Return a loaded agency by code."""
    return db.session.execute(select(Agency).filter_by(code=code)).scalar_one()


def category(code: str) -> Category:
    """Return a loaded category by code."""
    return db.session.execute(select(Category).filter_by(code=code)).scalar_one()


def commune(code: str) -> Commune:
    """Return a loaded commune by code."""
    return db.session.execute(select(Commune).filter_by(code=code)).scalar_one()


def make_user(role: str, agency_code: str | None = None, name: str | None = None) -> User:
    """Create a member of staff whose password is PASSWORD."""
    n = next(_seq)
    owner = agency(agency_code) if agency_code else None
    user = User(
        email=f"{role}.{n}@test.1022.vn",
        name=name or f"Cán bộ {role} {n}",
        role=role,
        agency_id=owner.id if owner else None,
        password_hash=_HASH,
    )
    db.session.add(user)
    db.session.commit()
    return user


# The lifecycle path to each state, from "received".
_PATH = {
    "received": [],
    "triage": ["triage"],
    "assigned": ["assign"],
    "acknowledged": ["assign", "acknowledge"],
    "waiting_citizen": ["assign", "acknowledge", "ask"],
    "transfer_requested": ["assign", "acknowledge", "transfer"],
    "resolved": ["assign", "acknowledge", "resolve"],
    "closed": ["assign", "acknowledge", "resolve", "close"],
}


def make_ticket(
    status: str = "assigned",
    agency_code: str = "dien-luc",
    category_code: str = "dien",
    *,
    description: str = "Khu phố mất điện từ sáng đến giờ, đề nghị kiểm tra gấp.",
    phone: str | None = "+84912345678",
    channel: str = "web",
    now: datetime | None = None,
    publish: bool = True,
) -> Ticket:
    """Create a ticket and take it through the real services to STATUS."""
    report = services.Report(
        channel,
        description,
        phone=phone,
        citizen_name="Nguyễn Văn An",
        contact_consent=True,
    )
    ticket = services.create_ticket(report, route=False, now=now).ticket
    for step in _PATH[status]:
        if step == "triage":
            services.send_to_triage(ticket.id, reason="thử nghiệm", now=now)
        elif step == "assign":
            services.assign(
                ticket.id,
                agency(agency_code).id,
                category_id=category(category_code).id,
                reason="thử nghiệm",
                now=now,
            )
        elif step == "acknowledge":
            services.acknowledge(ticket.id, actor=None, now=now)
        elif step == "ask":
            services.ask_citizen(ticket.id, "Địa chỉ cụ thể ở đâu?", actor=None, now=now)
        elif step == "transfer":
            services.request_transfer(ticket.id, "Không thuộc thẩm quyền.", actor=None, now=now)
        elif step == "resolve":
            services.resolve(ticket.id, "Đã khắc phục xong sự cố điện.", actor=None, now=now)
        elif step == "close":
            services.close(ticket.id, actor=None, publish=publish, now=now)
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def login(client, user: User) -> None:
    """Sign USER in through the real login form."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def csrf_from(response) -> str:
    """Return the CSRF token of the first form of a page."""
    match = _TOKEN_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def version_from(response, action: str) -> str:
    """Return the ticket version carried by ACTION's form on a ticket page."""
    match = re.search(_VERSION_RE.format(action=action), response.get_data(as_text=True))
    assert match, f"no {action} form on the page"
    return match.group(1)


def post_action(client, code: str, action: str, fields: dict | None = None, page=None):
    """Load the ticket page (unless PAGE is given), then submit ACTION's form with FIELDS."""
    page = page or client.get(f"/staff/tickets/{code}")
    data = {f"{action}-{k}": v for k, v in (fields or {}).items()}
    data[f"{action}-csrf_token"] = csrf_from(page)
    data[f"{action}-version"] = version_from(page, action)
    return client.post(f"/staff/tickets/{code}/{action}", data=data)


def reload(ticket: Ticket) -> Ticket:
    """Return TICKET as the database has it now."""
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)
