"""/staff/tickets/new: an operator types in a caller's report (channel `operator`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from hotline.auth.access import roles_required, staff_user
from hotline.extensions import db
from hotline.forms import add_error
from hotline.labels import options
from hotline.phones import normalize_phone
from hotline.staff import bp
from hotline.staff.choices import reference_choices
from hotline.staff.forms import NewTicketForm
from hotline.tickets import services
from hotline.tickets.errors import InvalidInput


def _fill(form: NewTicketForm) -> None:
    ref = reference_choices()
    form.category.choices = options(
        [("", _("— Chưa rõ (hệ thống tự phân loại) —"))]
        + ref.category_options(str(get_locale() or "vi"), by_code=True)
    )
    form.commune.choices = options([("", _("— Chưa rõ —"))] + ref.commune_options())


@bp.route("/tickets/new", methods=["GET", "POST"])
@roles_required("operator", "supervisor")
def new_ticket():
    """Create a ticket for a caller; routing then places it like any other."""
    form = NewTicketForm()
    _fill(form)
    status = 200
    if form.validate_on_submit():
        phone = None
        if form.phone.data and form.phone.data.strip():
            phone = normalize_phone(form.phone.data)
            if phone is None:
                add_error(form.phone, _("Số điện thoại không hợp lệ."))
        if not form.phone.errors:
            try:
                report = services.Report(
                    channel="operator",
                    description=form.description.data or "",
                    category_code=form.category.data or None,
                    commune_id=int(form.commune.data) if form.commune.data else None,
                    priority=form.priority.data,
                    address=form.address.data or "",
                    citizen_name=form.citizen_name.data or "",
                    phone=phone,
                    email=(form.email.data or "").strip() or None,
                    contact_consent=bool(form.contact_consent.data),
                )
                ticket = services.create_ticket(report, actor=staff_user())
            except InvalidInput as exc:
                db.session.rollback()
                field = getattr(form, exc.field, None)
                target = field if field is not None else form.description
                add_error(target, _("Giá trị không hợp lệ."))
            else:
                flash(_("Đã tạo phiếu %(code)s.", code=ticket.code), "success")
                return redirect(url_for("staff.ticket", code=ticket.code), code=303)
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("staff/new_ticket.html", form=form), status
