"""The queues: /staff/tickets for everyone, and the triage, transfer and review lists."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from hotline.auth.access import roles_required, staff_user
from hotline.sla.cycle import get_calendar
from hotline.staff import bp
from hotline.staff.queue import (
    COUNT_CAP,
    QueueFilterForm,
    QueueFilters,
    count_capped,
    fetch_page,
    filtered_tickets,
)
from hotline.staff.sla_display import running_deadline
from hotline.timeutil import utcnow

_TITLES = {
    "tickets": _l("Danh sách phiếu"),
    "triage": _l("Phiếu chờ phân loại"),
    "transfers": _l("Đề nghị chuyển đơn vị"),
    "review": _l("Phiếu chờ duyệt trả lời"),
}


def _queue_page(view: str, preset_status: str | None = None):
    user = staff_user()
    form = QueueFilterForm(request.args)
    form.fill_choices(user, str(get_locale() or "vi"))
    if preset_status and not request.args.get("status"):
        form.status.data = preset_status
    form.validate()
    filters = QueueFilters.from_form(form)
    stmt = filtered_tickets(user, filters)
    page = fetch_page(stmt, filters.sort, request.args.get("after"))
    first = not request.args.get("after")
    # A first page with no next page holds every match: no need to count them again.
    total = len(page.rows) if first and page.next_cursor is None else count_capped(stmt)
    now = utcnow()
    calendar = get_calendar()
    deadlines = {t.id: running_deadline(t, now, calendar) for t in page.rows}
    # Typed as url_for's **values (Any): mypy would check str against its _external: bool.
    args: dict[str, Any] = {
        k: v for k, v in request.args.items() if k not in ("after", "lang") and v
    }
    if preset_status and "status" not in args:
        args["status"] = preset_status
    return render_template(
        "staff/queue.html",
        view=view,
        title=_TITLES[view],
        form=form,
        page=page,
        deadlines=deadlines,
        total=total,
        count_cap=COUNT_CAP,
        first_url=url_for(f"staff.{view}", **args),
        next_url=url_for(f"staff.{view}", **args, after=page.next_cursor)
        if page.next_cursor
        else None,
        export_url=url_for("staff.export_csv", **args),
        is_first=first,
    )


@bp.get("/tickets")
@roles_required()
def tickets():
    """The queue: own agency's tickets (all agencies for the 1022 centre), by nearest deadline."""
    return _queue_page("tickets")


@bp.get("/triage")
@roles_required("operator", "supervisor")
def triage():
    """Tickets routing could not place (and new ones not yet routed), oldest first."""
    return _queue_page("triage", "untriaged")


@bp.get("/transfers")
@roles_required("supervisor")
def transfers():
    """Transfer requests waiting for a supervisor."""
    return _queue_page("transfers", "transfer_requested")


@bp.get("/review")
@roles_required("supervisor")
def review():
    """Answered tickets waiting for a supervisor's review."""
    return _queue_page("review", "resolved")
