"""/admin: agencies, categories with their keywords and SLA policies, calendar days."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hotline.admin import bp
from hotline.admin.changes import apply_changes
from hotline.admin.forms import (
    AgencyForm,
    CalendarDayForm,
    CategoryForm,
    ConfirmForm,
    KeywordForm,
    SlaPolicyForm,
)
from hotline.auth import audit
from hotline.auth.access import roles_required, staff_user
from hotline.cache import invalidate_caches
from hotline.extensions import db
from hotline.forms import add_error
from hotline.labels import options
from hotline.models import Agency, CalendarDay, Category, RoutingKeyword, SlaPolicy
from hotline.text import normalize


def _save(action: str, target: str, data: dict) -> bool:
    """Audit and commit; False (rolled back) when a unique key is already taken.

    Every page here changes reference data that the routing, the SLA clocks and the staff
    forms keep in memory for a minute: a commit empties those caches of this process, so
    the change holds from the next request on (other processes follow within the minute).
    """
    audit.record(action, actor=staff_user(), target=target, data=data)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    invalidate_caches()
    return True


def _render_form(title: str, form, back: str, status: int = 200, **extra):
    return render_template("admin/form.html", title=title, form=form, back=back, **extra), status


# --- agencies ------------------------------------------------------------------------------


@bp.get("/agencies")
@roles_required("admin")
def agencies():
    """Every agency, with its notification emails."""
    rows = db.session.execute(select(Agency).order_by(Agency.kind, Agency.name)).scalars().all()
    return render_template("admin/agencies.html", agencies=rows)


@bp.route("/agencies/new", methods=["GET", "POST"], defaults={"agency_id": None})
@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@roles_required("admin")
def agency(agency_id: int | None):
    """Create or edit an agency."""
    record = db.session.get(Agency, agency_id) if agency_id else None
    if agency_id and record is None:
        abort(404)
    form = AgencyForm(obj=record)
    title = record.name if record else _("Thêm đơn vị")
    if form.validate_on_submit():
        values = {
            "code": form.code.data,
            "name": (form.name.data or "").strip(),
            "kind": form.kind.data,
            "emails": form.emails.data or "",
            "notify_new_tickets": bool(form.notify_new_tickets.data),
            "active": bool(form.active.data),
        }
        if record is None:
            record = Agency(**values)
            db.session.add(record)
            changes, action = {k: [None, v] for k, v in values.items()}, "admin.agency.create"
        else:
            changes, action = apply_changes(record, values), "admin.agency.update"
        if not changes:
            return redirect(url_for("admin.agencies"))
        if _save(action, f"agency:{values['code']}", {"changes": changes}):
            flash(_("Đã lưu đơn vị %(name)s.", name=values["name"]), "success")
            return redirect(url_for("admin.agencies"), code=303)
        add_error(form.code, _("Mã này đã được dùng."))
    status = 400 if request.method == "POST" else 200
    return _render_form(title, form, url_for("admin.agencies"), status)


# --- categories and keywords ---------------------------------------------------------------


def _agency_choices() -> list:
    rows = db.session.execute(select(Agency).order_by(Agency.name)).scalars()
    return options([("", _("— Không có —"))] + [(a.id, a.name) for a in rows])


@bp.get("/categories")
@roles_required("admin")
def categories():
    """Every category with its routing and policies."""
    rows = db.session.execute(select(Category).order_by(Category.name_vi)).scalars().all()
    return render_template("admin/categories.html", categories=rows)


def _rules_of(record: Category | None) -> tuple[list[RoutingKeyword], list[SlaPolicy]]:
    """Return a saved category's keywords (by phrase) and SLA policies (by priority)."""
    if record is None or not record.id:
        return [], []
    keywords = db.session.execute(
        select(RoutingKeyword)
        .where(RoutingKeyword.category_id == record.id)
        .order_by(RoutingKeyword.phrase)
    ).scalars()
    policies = db.session.execute(
        select(SlaPolicy).where(SlaPolicy.category_id == record.id).order_by(SlaPolicy.priority)
    ).scalars()
    return list(keywords), list(policies)


@bp.route("/categories/new", methods=["GET", "POST"], defaults={"category_id": None})
@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@roles_required("admin")
def category(category_id: int | None):
    """Create or edit a category; its keywords and SLA policies are listed below the form."""
    record = db.session.get(Category, category_id) if category_id else None
    if category_id and record is None:
        abort(404)
    form = CategoryForm(obj=record)
    form.agency.choices = _agency_choices()
    if request.method == "GET" and record is not None:
        form.agency.data = str(record.agency_id or "")
    if form.validate_on_submit():
        values = {
            "code": form.code.data,
            "name_vi": (form.name_vi.data or "").strip(),
            "name_en": (form.name_en.data or "").strip(),
            "scope": form.scope.data,
            "agency_id": int(form.agency.data) if form.agency.data else None,
            "ivr_key": form.ivr_key.data,
            "notes": form.notes.data or "",
            "active": bool(form.active.data),
        }
        if record is None:
            record = Category(**values)
            db.session.add(record)
            changes, action = {k: [None, v] for k, v in values.items()}, "admin.category.create"
        else:
            changes, action = apply_changes(record, values), "admin.category.update"
        if changes and _save(action, f"category:{values['code']}", {"changes": changes}):
            flash(_("Đã lưu lĩnh vực %(name)s.", name=values["name_vi"]), "success")
            return redirect(url_for("admin.category", category_id=record.id), code=303)
        if not changes:
            return redirect(url_for("admin.category", category_id=record.id), code=303)
        add_error(form.code, _("Mã này đã được dùng."))
    keywords, policies = _rules_of(record)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/category.html",
        title=record.name_vi if record else _("Thêm lĩnh vực"),
        category=record,
        form=form,
        keywords=keywords,
        policies=policies,
        keyword_form=KeywordForm(formdata=None),
        policy_form=SlaPolicyForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
    ), status


@bp.post("/categories/<int:category_id>/keywords")
@roles_required("admin")
def add_keyword(category_id: int):
    """Add a routing phrase to a category."""
    record = db.session.get(Category, category_id) or abort(404)
    form = KeywordForm()
    if form.validate_on_submit():
        phrase = normalize(form.phrase.data or "")
        assert form.weight.data is not None  # InputRequired has rejected a missing weight
        weight = float(form.weight.data)
        db.session.add(RoutingKeyword(category_id=record.id, phrase=phrase, weight=weight))
        data = {"phrase": phrase, "weight": weight}
        if _save("admin.keyword.create", f"category:{record.code}", data):
            flash(_("Đã thêm từ khóa “%(phrase)s”.", phrase=phrase), "success")
        else:
            flash(_("Từ khóa này đã có."), "error")
    else:
        flash(_("Từ khóa không hợp lệ."), "error")
    return redirect(url_for("admin.category", category_id=record.id), code=303)


@bp.post("/keywords/<int:keyword_id>/delete")
@roles_required("admin")
def delete_keyword(keyword_id: int):
    """Remove a routing phrase."""
    keyword = db.session.get(RoutingKeyword, keyword_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    category_id, code = keyword.category_id, keyword.category.code
    data = {"phrase": keyword.phrase, "weight": keyword.weight}
    db.session.delete(keyword)
    _save("admin.keyword.delete", f"category:{code}", data)
    flash(_("Đã xóa từ khóa."), "success")
    return redirect(url_for("admin.category", category_id=category_id), code=303)


# --- SLA policies --------------------------------------------------------------------------


@bp.get("/sla")
@roles_required("admin")
def sla_policies():
    """Every SLA policy, by category and priority."""
    rows = (
        db.session.execute(
            select(SlaPolicy)
            .join(SlaPolicy.category)
            .order_by(Category.name_vi, SlaPolicy.priority)
        )
        .scalars()
        .all()
    )
    return render_template("admin/sla.html", policies=rows)


def _policy_values(form: SlaPolicyForm) -> dict:
    acknowledge, resolve = form.acknowledge_hours.data, form.resolve_hours.data
    at_risk = form.at_risk_percent.data
    # Called on a validated form only: InputRequired has rejected a missing value.
    assert acknowledge is not None and resolve is not None and at_risk is not None
    return {
        "acknowledge_minutes": int(acknowledge * 60),
        "resolve_minutes": int(resolve * 60),
        "at_risk_ratio": at_risk / 100,
    }


@bp.post("/categories/<int:category_id>/sla")
@roles_required("admin")
def add_policy(category_id: int):
    """Add (or replace) the policy of a category for one priority."""
    record = db.session.get(Category, category_id) or abort(404)
    form = SlaPolicyForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("admin.category", category_id=record.id), code=303)
    policy = db.session.execute(
        select(SlaPolicy).filter_by(category_id=record.id, priority=form.priority.data)
    ).scalar_one_or_none()
    values = _policy_values(form)
    if policy is None:
        policy = SlaPolicy(category_id=record.id, priority=form.priority.data, **values)
        db.session.add(policy)
        changes, action = {k: [None, v] for k, v in values.items()}, "admin.sla.create"
    else:
        changes, action = apply_changes(policy, values), "admin.sla.update"
    target = f"sla:{record.code}:{form.priority.data}"
    if changes:
        _save(action, target, {"changes": changes})
    flash(_("Đã lưu thời hạn xử lý."), "success")
    return redirect(url_for("admin.category", category_id=record.id), code=303)


@bp.route("/sla/<int:policy_id>", methods=["GET", "POST"])
@roles_required("admin")
def sla_policy(policy_id: int):
    """Edit one SLA policy (in working hours)."""
    policy = db.session.get(SlaPolicy, policy_id) or abort(404)
    form = SlaPolicyForm()
    if request.method == "GET":
        form.priority.data = policy.priority
        form.acknowledge_hours.data = Decimal(policy.acknowledge_minutes) / 60
        form.resolve_hours.data = Decimal(policy.resolve_minutes) / 60
        form.at_risk_percent.data = round(policy.at_risk_ratio * 100)
    form.priority.render_kw = {"disabled": True}
    form.priority.data = policy.priority
    if form.validate_on_submit():
        changes = apply_changes(policy, _policy_values(form))
        if changes:
            target = f"sla:{policy.category.code}:{policy.priority}"
            _save("admin.sla.update", target, {"changes": changes})
        flash(_("Đã lưu thời hạn xử lý."), "success")
        return redirect(url_for("admin.sla_policies"), code=303)
    title = _("Thời hạn: %(category)s", category=policy.category.name_vi)
    status = 400 if request.method == "POST" else 200
    return _render_form(title, form, url_for("admin.sla_policies"), status)


# --- calendar ------------------------------------------------------------------------------


@bp.route("/calendar", methods=["GET", "POST"])
@roles_required("admin")
def calendar():
    """Extra days off and make-up working days; the SLA calendar is refreshed at once."""
    form = CalendarDayForm()
    status = 200
    if form.validate_on_submit():
        day = form.day.data
        assert day is not None  # InputRequired and the date parser have rejected anything else
        db.session.add(
            CalendarDay(day=day, kind=form.kind.data, name=(form.name.data or "").strip())
        )
        data = {"day": day.isoformat(), "kind": form.kind.data, "name": form.name.data}
        if _save("admin.calendar.create", f"day:{day.isoformat()}", data):
            flash(_("Đã thêm ngày %(day)s.", day=day.strftime("%d/%m/%Y")), "success")
            return redirect(url_for("admin.calendar"), code=303)
        add_error(form.day, _("Ngày này đã có trong lịch."))
    if request.method == "POST":
        status = 400
    days = db.session.execute(select(CalendarDay).order_by(CalendarDay.day.desc())).scalars().all()
    return render_template(
        "admin/calendar.html", form=form, days=days, confirm=ConfirmForm(formdata=None)
    ), status


@bp.post("/calendar/<int:day_id>/delete")
@roles_required("admin")
def delete_day(day_id: int):
    """Remove a calendar day."""
    row = db.session.get(CalendarDay, day_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    data = {"day": row.day.isoformat(), "kind": row.kind, "name": row.name}
    db.session.delete(row)
    _save("admin.calendar.delete", f"day:{row.day.isoformat()}", data)
    flash(_("Đã xóa ngày khỏi lịch."), "success")
    return redirect(url_for("admin.calendar"), code=303)
