"""/staff/tickets/<code>: the ticket, its files and timeline, and the actions its state allows."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from hotline.auth.access import roles_required, staff_user
from hotline.extensions import db
from hotline.labels import ACTION_LABELS, options
from hotline.models import Ticket, TicketEvent, User
from hotline.routing.services import reroute_ticket
from hotline.sla.cycle import get_calendar
from hotline.staff import bp, forms
from hotline.staff.choices import reference_choices
from hotline.staff.privacy import contact_for
from hotline.staff.scope import ticket_or_404
from hotline.staff.sla_display import running_deadline
from hotline.tickets import services
from hotline.tickets.errors import (
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from hotline.tickets.permissions import can_act
from hotline.timeutil import to_local, utcnow

# The order in which actions are offered on the page.
ACTION_ORDER = (
    "acknowledge",
    "resolve",
    "ask_citizen",
    "request_transfer",
    "assign",
    "approve_transfer",
    "refuse_transfer",
    "close",
    "reopen",
    "reject",
    "merge",
    "note",
)
FORMS = {
    "acknowledge": forms.AcknowledgeForm,
    "note": forms.NoteForm,
    "ask_citizen": forms.AskCitizenForm,
    "resolve": forms.ResolveForm,
    "request_transfer": forms.RequestTransferForm,
    "approve_transfer": forms.ApproveTransferForm,
    "refuse_transfer": forms.RefuseTransferForm,
    "close": forms.CloseForm,
    "reopen": forms.ReopenForm,
    "reject": forms.RejectForm,
    "merge": forms.MergeForm,
    "assign": forms.AssignForm,
}
SUCCESS = {
    "acknowledge": lambda: _("Đã tiếp nhận xử lý phiếu."),
    "note": lambda: _("Đã lưu ghi chú."),
    "ask_citizen": lambda: _("Đã gửi đề nghị bổ sung cho người dân."),
    "resolve": lambda: _("Đã gửi trả lời, chờ giám sát duyệt."),
    "request_transfer": lambda: _("Đã gửi đề nghị chuyển đơn vị."),
    "approve_transfer": lambda: _("Đã chuyển phiếu cho đơn vị mới."),
    "refuse_transfer": lambda: _("Đã trả phiếu về đơn vị."),
    "close": lambda: _("Đã duyệt và đóng phiếu."),
    "reopen": lambda: _("Đã mở lại phiếu cho đơn vị."),
    "reject": lambda: _("Đã từ chối phiếu."),
    "merge": lambda: _("Đã gộp phiếu vào phiếu gốc."),
    "assign": lambda: _("Đã phân loại và giao phiếu cho đơn vị."),
}
INPUT_ERRORS = {
    "question": lambda: _("Người dân không để lại số điện thoại hoặc email để hỏi thêm."),
    "agency": lambda: _("Chưa xác định được đơn vị: hãy chọn đơn vị khác đơn vị hiện tại."),
    "original": lambda: _(
        "Phiếu gốc không hợp lệ: không tồn tại, là chính phiếu này hoặc đã là phiếu trùng."
    ),
    "category": lambda: _("Lĩnh vực không hợp lệ."),
    "commune": lambda: _("Xã, phường không hợp lệ."),
}


def available_actions(ticket: Ticket, user: User) -> list[str]:
    """Return the actions USER may take on TICKET in its present state, in page order."""
    result = []
    for action in ACTION_ORDER:
        if action == "note":
            if can_act(user, "note", ticket):
                result.append(action)
            continue
        allowed, _target = services.TRANSITIONS[action]
        if ticket.status not in allowed or not can_act(user, action, ticket):
            continue
        if action == "ask_citizen" and not (ticket.phone or ticket.email):
            continue
        if action == "reopen" and ticket.agency_id is None:
            continue
        result.append(action)
    return result


def _agency_choices(exclude: int | None = None, blank: str | None = None) -> list:
    choices = [("", blank)] if blank is not None else []
    return options(choices + reference_choices().agency_options(exclude=exclude))


def build_form(action: str, ticket: Ticket, formdata=None):
    """Return ACTION's form for TICKET (bound to FORMDATA when a POST came in)."""
    form = FORMS[action](formdata=formdata, prefix=action)
    if formdata is None:
        form.version.data = str(ticket.version)
    locale = str(get_locale() or "vi")
    if action == "request_transfer":
        form.to_agency.choices = _agency_choices(ticket.agency_id, _("— Không rõ —"))
    elif action == "approve_transfer":
        form.agency.choices = _agency_choices(ticket.agency_id, _("— Chọn đơn vị —"))
        if formdata is None and ticket.transfer_to_agency_id:
            form.agency.data = str(ticket.transfer_to_agency_id)
    elif action == "assign":
        ref = reference_choices()
        form.category.choices = options(
            [("", _("— Chọn lĩnh vực —"))] + ref.category_options(locale)
        )
        form.commune.choices = options([("", _("— Không rõ —"))] + ref.commune_options())
        form.agency.choices = _agency_choices(blank=_("— Tự động —"))
        if formdata is None:
            form.category.data = str(ticket.category_id or "")
            form.commune.data = str(ticket.commune_id or "")
    return form


def _original_id(code: str) -> int:
    original = db.session.execute(select(Ticket).where(Ticket.code == code)).scalar_one_or_none()
    if original is None:
        raise InvalidInput("original", "unknown ticket")
    return original.id


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def perform(action: str, ticket: Ticket, form, user: User) -> Ticket:
    """Call ACTION's service with the form's values and the version it was shown with."""
    v = form.expected_version()
    tid = ticket.id
    if action == "acknowledge":
        return services.acknowledge(tid, actor=user, expected_version=v)
    if action == "note":
        return services.add_note(tid, form.note.data, actor=user, expected_version=v)
    if action == "ask_citizen":
        return services.ask_citizen(tid, form.question.data, actor=user, expected_version=v)
    if action == "resolve":
        return services.resolve(tid, form.answer.data, actor=user, expected_version=v)
    if action == "request_transfer":
        return services.request_transfer(
            tid,
            form.reason.data,
            actor=user,
            to_agency_id=_int_or_none(form.to_agency.data),
            expected_version=v,
        )
    if action == "approve_transfer":
        agency_id = _int_or_none(form.agency.data)
        if agency_id is None:
            raise InvalidInput("agency", "required")
        return services.approve_transfer(
            tid, agency_id, actor=user, note=form.note.data or "", expected_version=v
        )
    if action == "refuse_transfer":
        return services.refuse_transfer(tid, form.reason.data, actor=user, expected_version=v)
    if action == "close":
        return services.close(
            tid,
            actor=user,
            publish=bool(form.publish.data),
            note=form.note.data or "",
            expected_version=v,
        )
    if action == "reopen":
        return services.reopen(tid, form.reason.data, actor=user, expected_version=v)
    if action == "reject":
        return services.reject(
            tid, form.reason.data, form.note.data, actor=user, expected_version=v
        )
    if action == "merge":
        return services.merge_duplicate(
            tid, _original_id(form.original.data), actor=user, expected_version=v
        )
    if action == "assign":
        return reroute_ticket(
            tid,
            actor=user,
            category_id=_int_or_none(form.category.data),
            commune_id=_int_or_none(form.commune.data),
            agency_id=_int_or_none(form.agency.data),
            note=form.reason.data or "",
            expected_version=v,
        )
    abort(404)


def conflict_message(exc: ConflictError) -> str:
    """The message a stale writer sees: who changed the ticket, and when."""
    when = to_local(exc.changed_at)
    hhmm = when.strftime("%H:%M") if when else "--:--"
    if exc.changed_by:
        return _(
            "Phiếu đã được %(name)s thay đổi lúc %(time)s, vui lòng tải lại.",
            name=exc.changed_by,
            time=hhmm,
        )
    return _("Phiếu đã được hệ thống thay đổi lúc %(time)s, vui lòng tải lại.", time=hhmm)


def _render(ticket: Ticket, user: User, bound: dict | None = None, alert: str | None = None):
    """Render the ticket page; BOUND holds a submitted form to show again with its errors."""
    actions = available_actions(ticket, user)
    action_forms = {}
    for action in actions:
        form = build_form(action, ticket)
        if bound and action in bound:
            submitted = bound[action]
            submitted.version.data = str(ticket.version)  # the page now shows this version
            form = submitted
        action_forms[action] = form
    events = db.session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).scalars()
    duplicates = db.session.execute(
        select(Ticket.code).where(Ticket.duplicate_of_id == ticket.id).order_by(Ticket.id)
    ).scalars()
    return render_template(
        "staff/ticket.html",
        ticket=ticket,
        events=list(events),
        duplicates=list(duplicates),
        actions=actions,
        action_forms=action_forms,
        action_labels=ACTION_LABELS,
        deadline=running_deadline(ticket, utcnow(), get_calendar()),
        contact=contact_for(ticket, user),
        alert=alert,
        locale=str(get_locale() or "vi"),
    )


@bp.get("/tickets/<code>")
@roles_required()
def ticket(code: str):
    """The ticket page (404 when the ticket is another agency's)."""
    user = staff_user()
    return _render(ticket_or_404(code, user), user)


@bp.post("/tickets/<code>/<action>")
@roles_required()
def act(code: str, action: str):
    """Take ACTION on the ticket; a stale version is refused with who changed it and when."""
    user = staff_user()
    current = ticket_or_404(code, user)
    if action not in FORMS:
        abort(404)
    if not can_act(user, action, current):
        abort(403)  # the role may not do this at all (the state is checked by the service)
    form = FORMS[action](prefix=action)  # bound to the posted fields
    _fill_choices_like(form, build_form(action, current))
    if not form.validate():
        return _render(current, user, bound={action: form}), 400
    try:
        perform(action, current, form, user)
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    except NotFound:
        db.session.rollback()
        abort(404)
    except ConflictError as exc:
        db.session.rollback()
        fresh = ticket_or_404(code, user)
        return _render(fresh, user, bound={action: form}, alert=conflict_message(exc)), 409
    except InvalidTransition:
        db.session.rollback()
        fresh = ticket_or_404(code, user)
        message = _(
            "Thao tác không còn phù hợp với trạng thái hiện tại của phiếu, vui lòng tải lại."
        )
        return _render(fresh, user, alert=message), 409
    except InvalidInput as exc:
        db.session.rollback()
        message = INPUT_ERRORS.get(exc.field, lambda: _("Giá trị không hợp lệ."))()
        target = _error_field(form, exc.field)
        if target is not None:
            target.errors = [*target.errors, message]
            alert = None
        else:
            alert = message
        fresh = ticket_or_404(code, user)
        return _render(fresh, user, bound={action: form}, alert=alert), 400
    flash(SUCCESS[action](), "success")
    return redirect(url_for("staff.ticket", code=code), code=303)


def _fill_choices_like(form, template) -> None:
    """Copy the select choices of TEMPLATE (built for the ticket) onto the submitted FORM."""
    for name, field in template._fields.items():
        if hasattr(field, "choices") and field.choices is not None:
            form[name].choices = field.choices


def _error_field(form, name: str):
    """The form field a service's InvalidInput points at, if the form has one."""
    aliases = {"agency": ("agency", "to_agency"), "question": ("question",)}
    for candidate in aliases.get(name, (name,)):
        if candidate in form._fields:
            field = form._fields[candidate]
            field.errors = list(field.errors)
            return field
    return None
