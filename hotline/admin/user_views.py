"""/admin/users: staff accounts (role, agency, active), password resets and unlocking."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from hotline.admin import bp
from hotline.admin.changes import apply_changes
from hotline.admin.forms import ConfirmForm, UserForm
from hotline.auth import audit
from hotline.auth.access import roles_required, staff_user
from hotline.extensions import db
from hotline.forms import add_error
from hotline.labels import options
from hotline.models import Agency, User
from hotline.users import normalise_email


@bp.get("/users")
@roles_required("admin")
def users():
    """Every member of staff."""
    rows = db.session.execute(select(User).order_by(User.role, User.name)).scalars().all()
    return render_template("admin/users.html", users=rows, confirm=ConfirmForm(formdata=None))


def _refused(form: UserForm, record: User | None, email: str) -> bool:
    """Put on FORM why it cannot be saved (no password, email taken, self-demotion)."""
    taken = db.session.execute(
        select(User.id).where(
            func.lower(User.email) == email, User.id != (record.id if record else 0)
        )
    ).first()
    if record is None and not form.password.data:
        add_error(form.password, _("Vui lòng đặt mật khẩu cho tài khoản mới."))
    elif taken:
        add_error(form.email, _("Email này đã có tài khoản."))
    elif (
        record is not None
        and record.id == staff_user().id
        and (form.role.data != "admin" or not form.active.data)
    ):
        add_error(form.role, _("Không thể tự bỏ quyền quản trị của chính mình."))
    else:
        return False
    return True


def _save(form: UserForm, record: User | None, email: str) -> str:
    """Create or update the account from FORM, audit what changed, commit; return its name."""
    values = {
        "email": email,
        "name": (form.name.data or "").strip(),
        "role": form.role.data,
        "agency_id": int(form.agency.data) if form.agency.data else None,
        "active": bool(form.active.data),
    }
    if record is None:
        record = User(**values)
        db.session.add(record)
        changes, action = {k: [None, v] for k, v in values.items()}, "admin.user.create"
    else:
        changes, action = apply_changes(record, values), "admin.user.update"
    if form.password.data:
        record.set_password(form.password.data)
        changes["password"] = ["***", "***"]  # that it changed, never the value
    if changes:
        db.session.flush()
        audit.record(
            action, actor=staff_user(), target=f"user:{record.id}", data={"changes": changes}
        )
        db.session.commit()
    return values["name"]


@bp.route("/users/new", methods=["GET", "POST"], defaults={"user_id": None})
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user(user_id: int | None):
    """Create or edit a member of staff (a password is required for a new account)."""
    record = db.session.get(User, user_id) if user_id else None
    if user_id and record is None:
        abort(404)
    form = UserForm(obj=record)
    agencies = db.session.execute(select(Agency).order_by(Agency.name)).scalars()
    form.agency.choices = options(
        [("", _("— Không thuộc đơn vị —"))] + [(a.id, a.name) for a in agencies]
    )
    if request.method == "GET" and record is not None:
        form.agency.data = str(record.agency_id or "")
        form.password.data = ""
    if form.validate_on_submit():
        email = normalise_email(form.email.data or "")
        if not _refused(form, record, email):
            name = _save(form, record, email)
            flash(_("Đã lưu tài khoản %(name)s.", name=name), "success")
            return redirect(url_for("admin.users"), code=303)
    status = 400 if request.method == "POST" else 200
    title = record.name if record else _("Thêm tài khoản")
    return (
        render_template("admin/form.html", title=title, form=form, back=url_for("admin.users")),
        status,
    )


@bp.post("/users/<int:user_id>/unlock")
@roles_required("admin")
def unlock_user(user_id: int):
    """Lift a temporary lock after repeated failed logins."""
    record = db.session.get(User, user_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    record.locked_until = None
    record.failed_logins = 0
    audit.record("admin.user.unlock", actor=staff_user(), target=f"user:{record.id}")
    db.session.commit()
    flash(_("Đã mở khóa tài khoản %(name)s.", name=record.name), "success")
    return redirect(url_for("admin.users"), code=303)
