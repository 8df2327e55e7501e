"""/staff/dashboard: charts and the per-agency table, with its CSV export."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from hotline import labels
from hotline.auth import audit
from hotline.auth.access import roles_required, staff_user
from hotline.extensions import db
from hotline.models import CHANNELS
from hotline.staff import bp
from hotline.staff.choices import reference_choices
from hotline.staff.export import csv_response
from hotline.staff.stats import build_dashboard
from hotline.timeutil import to_local, utcnow

PERIODS = (7, 30, 90)
CHART_AGENCIES = 15
# Colour-blind-safe palette (Okabe-Ito), one colour per channel.
CHANNEL_COLOURS = {
    "voice": "#0072B2",
    "sms": "#E69F00",
    "web": "#009E73",
    "api": "#CC79A7",
    "open311": "#56B4E9",
    "operator": "#D55E00",
}


def _params() -> tuple[int, int | None]:
    asked = request.args.get("days", "30")
    days = int(asked) if asked.isdigit() and int(asked) in PERIODS else 30
    agency = request.args.get("agency", "")
    return days, int(agency) if agency.isdigit() else None


def _dataset(label: str, data: list, colour: str) -> dict:
    """One Chart.js dataset: a series and its colour."""
    return {"label": label, "data": data, "backgroundColor": colour}


def _bars(names: list[str], datasets: list[dict], **options) -> dict:
    """A bar chart's configuration (OPTIONS: stacked, horizontal, max) for the page's JS."""
    return {"type": "bar", **options, "labels": names, "datasets": datasets}


def _chart_data(board) -> dict:
    """The Chart.js configurations' data, built here so the JavaScript stays generic."""
    top = [a for a in board.agencies if a.open or a.answered][:CHART_AGENCIES]
    answered = [a for a in board.agencies if a.answered][:CHART_AGENCIES]
    with_median = [a for a in board.agencies if a.median_hours is not None][:CHART_AGENCIES]
    per_day = [
        _dataset(
            labels.label(labels.CHANNEL_LABELS, c),
            board.per_day.get(c, [0] * len(board.days)),
            CHANNEL_COLOURS[c],
        )
        for c in CHANNELS
    ]
    open_work = [
        _dataset(_("Trong hạn"), [a.open - a.at_risk - a.breached for a in top], "#009E73"),
        _dataset(_("Sắp đến hạn"), [a.at_risk for a in top], "#E69F00"),
        _dataset(_("Quá hạn"), [a.breached for a in top], "#B02A37"),
    ]
    on_time = _dataset(
        _("Tỷ lệ trả lời đúng hạn (%)"), [a.on_time_rate for a in answered], "#0072B2"
    )
    median = _dataset(
        _("Trung vị giờ làm việc để trả lời"), [a.median_hours for a in with_median], "#CC79A7"
    )
    return {
        "per_day": _bars([d.strftime("%d/%m") for d in board.days], per_day, stacked=True),
        "open": _bars([a.name for a in top], open_work, stacked=True, horizontal=True),
        "on_time": _bars([a.name for a in answered], [on_time], horizontal=True, max=100),
        "median": _bars([a.name for a in with_median], [median], horizontal=True),
    }


@bp.get("/dashboard")
@roles_required("supervisor", "admin", "agency_head")
def dashboard():
    """Charts of the period, and the per-agency table (agency heads: their own agency)."""
    user = staff_user()
    days, agency_id = _params()
    board = build_dashboard(user, days=days, agency_id=agency_id, now=utcnow())
    agencies = []
    if user.sees_all_agencies:
        agencies = reference_choices().agency_options(active_only=False)
    return render_template(
        "staff/dashboard.html",
        board=board,
        totals=board.totals,
        charts=_chart_data(board),
        days=days,
        periods=PERIODS,
        agency_id=agency_id,
        agencies=agencies,
    )


@bp.get("/dashboard.csv")
@roles_required("supervisor", "admin", "agency_head")
def dashboard_csv():
    """The per-agency table as CSV (UTF-8 with BOM)."""
    user = staff_user()
    days, agency_id = _params()
    audit.record(
        "staff.export.dashboard",
        actor=user,
        target="dashboard.csv",
        data={"days": days, "agency_id": agency_id},
    )
    db.session.commit()
    board = build_dashboard(user, days=days, agency_id=agency_id, now=utcnow())
    header = [
        _("Đơn vị"),
        _("Đang mở"),
        _("Sắp đến hạn"),
        _("Quá hạn"),
        _("Đã trả lời trong kỳ"),
        _("Trả lời đúng hạn"),
        _("Tỷ lệ đúng hạn (%)"),
        _("Trung vị giờ làm việc để trả lời"),
    ]
    rows = (
        [
            a.name,
            a.open,
            a.at_risk,
            a.breached,
            a.answered,
            a.on_time,
            "" if a.on_time_rate is None else f"{a.on_time_rate:.1f}",
            "" if a.median_hours is None else f"{a.median_hours:.1f}",
        ]
        for a in board.agencies
    )
    filename = f"tong-hop-1022-{to_local(utcnow()):%Y%m%d}-{days}ngay.csv"
    return csv_response(filename, header, rows)
