"""/admin: the index and the audit log."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, select

from hotline.admin import bp
from hotline.auth.access import roles_required
from hotline.extensions import db
from hotline.models import Agency, AuditEntry, CalendarDay, Category, SlaPolicy, User

AUDIT_PAGE = 100


@bp.get("/")
@roles_required("admin")
def index():
    """The admin home: counts and links."""
    counts = {
        "agencies": db.session.scalar(select(func.count()).select_from(Agency)),
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "categories": db.session.scalar(select(func.count()).select_from(Category)),
        "sla": db.session.scalar(select(func.count()).select_from(SlaPolicy)),
        "calendar": db.session.scalar(select(func.count()).select_from(CalendarDay)),
    }
    return render_template("admin/index.html", counts=counts)


@bp.get("/audit")
@roles_required("admin")
def audit():
    """The audit log, newest first, by keyset pages."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE + 1)
    before = request.args.get("before", "")
    if before.isdigit():
        stmt = stmt.where(AuditEntry.id < int(before))
    action = request.args.get("action", "").strip()
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action[:64], autoescape=True))
    entries = db.session.execute(stmt).scalars().all()
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    actors: dict[int, str] = {}
    ids = {e.actor_id for e in entries if e.actor_id}
    if ids:
        rows = db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        actors = dict(rows.tuples().all())
    return render_template(
        "admin/audit.html",
        entries=entries,
        actors=actors,
        next_before=entries[-1].id if more else None,
        action=action,
    )
