"""The staff UI: queues, the ticket page and its actions, triage, review, dashboard, export."""

from __future__ import annotations

from flask import Blueprint

from hotline import labels

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.app_template_filter("status_label")
def _status_label(code: str | None) -> str:
    return labels.label(labels.STATUS_LABELS, code)


@bp.app_template_filter("sla_label")
def _sla_label(code: str | None) -> str:
    return labels.label(labels.SLA_LABELS, code)


@bp.app_template_filter("channel_label")
def _channel_label(code: str | None) -> str:
    return labels.label(labels.CHANNEL_LABELS, code)


@bp.app_template_filter("role_label")
def _role_label(code: str | None) -> str:
    return labels.label(labels.ROLE_LABELS, code)


@bp.app_template_filter("priority_label")
def _priority_label(code: str | None) -> str:
    return labels.label(labels.PRIORITY_LABELS, code)


@bp.app_template_filter("close_reason_label")
def _close_reason_label(code: str | None) -> str:
    return labels.label(labels.CLOSE_REASON_LABELS, code)


@bp.app_template_filter("event_label")
def _event_label(code: str | None) -> str:
    return labels.label(labels.EVENT_LABELS, code)


@bp.app_template_filter("actor_label")
def _actor_label(code: str | None) -> str:
    return labels.label(labels.ACTOR_LABELS, code)


@bp.app_template_filter("masked_phone")
def _masked_phone(phone: str | None) -> str:
    """Show a phone in lists as "+8491•••••78": enough to recognise, not to copy."""
    if not phone:
        return ""
    return phone[:5] + "•" * max(len(phone) - 7, 0) + phone[-2:]


from hotline.staff import (  # noqa: E402,F401  (routes attach themselves to bp)
    attachments,
    dashboard,
    export,
    operator,
    ticket_views,
    views,
)
