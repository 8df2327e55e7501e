"""The audit log of staff actions outside a ticket's timeline (logins, admin changes)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from hotline.extensions import db
from hotline.models import AuditEntry, User


def record(
    action: str, *, actor: User | None, target: str = "", data: dict[str, Any] | None = None
) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit stores it with the change.

    Args:
        action: what happened, dotted ("auth.login", "admin.agency.update").
        actor: the member of staff, or None when unknown (a failed login for no account).
        target: the record concerned ("agency:dien-luc", "user:12").
        data: details (changed fields, old and new values); never passwords.

    Returns:
        The new entry.
    """
    details = dict(data or {})
    if has_request_context():
        details.setdefault("ip", request.remote_addr or "")
    entry = AuditEntry(
        actor_id=actor.id if actor else None, action=action, target=target[:120], data=details
    )
    db.session.add(entry)
    return entry
