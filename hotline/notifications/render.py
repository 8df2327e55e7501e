"""Rendering an outbox row into the text (and HTML) that goes out, in the recipient's locale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import force_locale, gettext, lazy_gettext

from hotline.models import OutboxMessage
from hotline.notifications.sms import sms_text
from hotline.province import province_json

# Messages to citizens: one short text, sent by SMS or wrapped in a simple email.
CITIZEN_TEMPLATES = frozenset({"receipt", "ask_citizen", "answer", "closed", "merged"})
# Messages to staff: subject line per template (the bodies are files under email/).
STAFF_SUBJECTS = {
    "new_ticket": lazy_gettext("[1022] Phiếu mới %(code)s: %(category)s"),
    "escalation_at_risk": lazy_gettext("[1022] Phiếu %(code)s sắp quá hạn"),
    "escalation_breached": lazy_gettext("[1022] Phiếu %(code)s đã quá hạn"),
    "digest_agency": lazy_gettext("[1022] Phiếu sắp quá hạn và quá hạn ngày %(date)s"),
    "digest_supervisor": lazy_gettext("[1022] Tình hình xử lý phiếu ngày %(date)s"),
}


@dataclass(frozen=True)
class RenderedMessage:
    """What a sender needs: a subject (email only), the text and the HTML (email only)."""

    subject: str
    text: str
    html: str | None


def _context(payload: dict[str, Any]) -> dict[str, Any]:
    province = province_json("province.json")
    return {
        **payload,
        "hotline_name": province.get("hotline_name", "Tổng đài 1022"),
        "province": province.get("name", ""),
    }


def render_message(message: OutboxMessage) -> RenderedMessage:
    """Render MESSAGE from its template and payload.

    Args:
        message: an outbox row.

    Returns:
        The subject, text and HTML. SMS text honours SMS_STRIP_DIACRITICS.

    Raises:
        jinja2.TemplateNotFound: the row names a template that does not exist.
    """
    payload = dict(message.payload or {})
    locale = payload.get("locale") or "vi"
    context = _context(payload)
    with force_locale(locale):
        if message.template in CITIZEN_TEMPLATES:
            body = " ".join(render_template(f"sms/{message.template}.txt", **context).split())
            if message.channel == "sms":
                return RenderedMessage("", sms_text(body), None)
            subject = gettext(
                "%(name)s: phiếu %(code)s",
                name=context["hotline_name"],
                code=payload.get("code", ""),
            )
            html = render_template("email/citizen.html", body=body, subject=subject, **context)
            return RenderedMessage(subject, body, html)
        subject_template = STAFF_SUBJECTS.get(message.template)
        if subject_template is None:
            raise LookupError(f"no subject for template {message.template!r}")
        subject = str(subject_template) % {k: v for k, v in payload.items() if _is_scalar(v)}
        text = render_template(f"email/{message.template}.txt", subject=subject, **context)
        html = render_template(f"email/{message.template}.html", subject=subject, **context)
        return RenderedMessage(subject, text.strip() + "\n", html)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)
