"""Test factories: users, and tickets put directly in a given state."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Agency, Category, Commune, Ticket, TicketEvent, User
from hotline.tickets.codes import new_code
from hotline.timeutil import utcnow

_seq = itertools.count(1)


def agency(code: str = "dien-luc") -> Agency:
    """Return a loaded agency by code."""
    return db.session.execute(select(Agency).filter_by(code=code)).scalar_one()


def category(code: str = "dien") -> Category:
    """Return a loaded category by code."""
    return db.session.execute(select(Category).filter_by(code=code)).scalar_one()


def commune(code: str = "phuong-tan-lap") -> Commune:
    """Return a loaded commune by code."""
    return db.session.execute(select(Commune).filter_by(code=code)).scalar_one()


def user(
    role: str = "agent", agency_code: str | None = "dien-luc", name: str | None = None
) -> User:
    """Create a member of staff (a cheap password hash: tests need speed, not strength)."""
    n = next(_seq)
    owner = agency(agency_code) if agency_code and role in ("agent", "agency_head") else None
    u = User(
        email=f"{role}{n}@test.1022.vn",
        name=name or f"{role.title()} {n}",
        role=role,
        agency_id=owner.id if owner else None,
        password_hash="pbkdf2:sha256:1$x$0",
    )
    db.session.add(u)
    db.session.commit()
    return u


def ticket(
    status: str = "received",
    agency_code: str | None = "dien-luc",
    category_code: str | None = "dien",
    phone: str | None = "+84912345678",
    now: datetime | None = None,
    **fields,
) -> Ticket:
    """Create a ticket directly in STATUS (with its creation event), bypassing the lifecycle."""
    now = now or utcnow()
    t = Ticket(
        code=new_code(now),
        channel=fields.pop("channel", "web"),
        status=status,
        description=fields.pop("description", "Mất điện cả khu phố từ sáng"),
        category_id=category(category_code).id if category_code else None,
        agency_id=agency(agency_code).id
        if agency_code and status not in ("received", "triage")
        else None,
        phone=phone,
        created_at=now,
        updated_at=now,
        **fields,
    )
    if status == "transfer_requested":
        t.status_before_transfer = "acknowledged"
    db.session.add(t)
    db.session.add(TicketEvent(ticket=t, kind="created", to_status=status, created_at=now))
    db.session.commit()
    return t
