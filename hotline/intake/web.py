"""The public web channel: the report form (`GET/POST /`), its success page, `/track`."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from hotline.extensions import db, limiter
from hotline.intake.common import (
    commune_by_code,
    is_answered,
    status_label,
    ticket_by_code,
)
from hotline.intake.forms import ReportForm, TrackForm
from hotline.models import Ticket, TicketEvent
from hotline.phones import last_digits, normalize_phone
from hotline.storage import get_store
from hotline.tickets.codes import clean_code
from hotline.tickets.errors import InvalidInput
from hotline.tickets.services import InboundRecord, NewAttachment, Report, create_ticket

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)

# Per client IP. Generous: many citizens share one carrier NAT address.
DEFAULT_REPORT_LIMIT = "20 per hour;5 per minute"
DEFAULT_TRACK_LIMIT = "30 per hour;10 per minute"


def _report_limit() -> str:
    return current_app.config.get("INTAKE_WEB_RATE_LIMIT", DEFAULT_REPORT_LIMIT)


def _track_limit() -> str:
    return current_app.config.get("INTAKE_TRACK_RATE_LIMIT", DEFAULT_TRACK_LIMIT)


def _store_photos(form: ReportForm) -> list[NewAttachment]:
    store = get_store()
    stored = []
    for photo in form.checked_photos:
        key = store.save(photo.data, photo.extension)
        stored.append(
            NewAttachment(
                "photo",
                storage_key=key,
                content_type=photo.content_type,
                size=len(photo.data),
                data={"width": photo.width, "height": photo.height},
            )
        )
    return stored


def _forget_photos(attachments: list[NewAttachment]) -> None:
    store = get_store()
    for item in attachments:
        if item.storage_key:
            store.delete(item.storage_key)


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(_report_limit, methods=["POST"])
def report():
    """The report form; a valid post stores the ticket and shows its code."""
    form = ReportForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("public/report.html", form=form), status
    if form.website.data:
        log.info("web report dropped: honeypot field filled")
        session.pop("submitted_code", None)
        return redirect(url_for("public.submitted"))
    commune = commune_by_code(form.commune.data)
    attachments = _store_photos(form)
    try:
        report = Report(
            channel="web",
            description=form.description.data or "",
            category_code=form.category.data or None,
            commune_id=commune.id if commune else None,
            address=form.address.data or "",
            citizen_name=form.name.data or "",
            phone=normalize_phone(form.phone.data),
            email=(form.email.data or "").strip().lower() or None,
            contact_consent=bool(form.consent.data),
            locale=str(session.get("lang") or "vi"),
        )
        # A double-clicked submit posts the same form id twice: one ticket.
        submission_id = form.submission_id.data
        assert submission_id, "ReportForm gives every form a submission id"
        inbound = InboundRecord("web", submission_id, data={"photos": len(attachments)})
        ticket = create_ticket(report, inbound=inbound, attachments=attachments)
    except InvalidInput as exc:
        _forget_photos(attachments)
        field = getattr(form, exc.field, None)
        if field is not None:
            field.errors = [*field.errors, _("Giá trị không hợp lệ.")]
        return render_template("public/report.html", form=form), 400
    except Exception:
        _forget_photos(attachments)
        raise
    if not ticket.created:  # the same form posted twice: its photos are kept once
        _forget_photos(attachments)
    session["submitted_code"] = ticket.code
    return redirect(url_for("public.submitted"))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An upload over MAX_CONTENT_LENGTH: the form again, with the reason."""
    form = ReportForm(formdata=None)
    form.photos.errors = [_("Tổng dung lượng ảnh quá lớn: tối đa 3 ảnh, mỗi ảnh 5 MB.")]
    return render_template("public/report.html", form=form), 413


@bp.errorhandler(CSRFError)
def csrf_failed(exc):
    """A missing or stale CSRF token: ask to send again, in Vietnamese, keeping nothing."""
    if request.endpoint == "public.track":
        form = TrackForm(formdata=None)
        form.code.errors = [_("Phiên làm việc đã hết hạn. Xin tra cứu lại.")]
        return render_template("public/track.html", form=form, result=None, searched=False), 400
    form = ReportForm(formdata=None)
    form.description.errors = [_("Phiên làm việc đã hết hạn. Xin nhập và gửi lại phản ánh.")]
    return render_template("public/report.html", form=form), 400


@bp.errorhandler(429)
def too_many(exc):
    """Rate limit reached: say so in Vietnamese."""
    return render_template("public/limited.html"), 429


@bp.get("/submitted")
def submitted():
    """The success page: the code of the report just sent (kept in the session only)."""
    code = session.get("submitted_code")
    return render_template("public/success.html", code=code)


def _public_timeline(ticket: Ticket) -> list[dict]:
    events = db.session.execute(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.public.is_(True),
            TicketEvent.to_status.is_not(None),
        )
        .order_by(TicketEvent.id)
    ).scalars()
    # Only dates and states: notes, names and agencies' staff stay internal.
    return [
        {"at": e.created_at, "status": status_label(e.to_status)} for e in events if e.to_status
    ]


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(_track_limit, methods=["POST"])
def track():
    """Tracking: code + last 4 phone digits → status, public timeline and answer."""
    form = TrackForm()
    if request.method == "GET":
        form.code.data = request.args.get("code", "")[:20]
        return render_template("public/track.html", form=form, result=None, searched=False)
    if not form.validate_on_submit():
        return render_template("public/track.html", form=form, result=None, searched=False), 400
    ticket = ticket_by_code(clean_code(form.code.data))
    digits = (form.phone_last4.data or "").strip()
    # One answer for "no such code" and "wrong digits": codes cannot be enumerated.
    if ticket is None or (ticket.phone and last_digits(ticket.phone) != digits):
        return render_template("public/track.html", form=form, result=None, searched=True)
    result = {
        "code": ticket.code,
        "status": status_label(ticket.status),
        "created_at": ticket.created_at,
        "category": ticket.category.name_vi if ticket.category else None,
        "agency": ticket.agency.name if ticket.agency else None,
        "timeline": _public_timeline(ticket),
        "answer": ticket.public_answer if is_answered(ticket) else None,
    }
    return render_template("public/track.html", form=form, result=result, searched=True)
