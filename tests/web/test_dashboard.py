"""Tests of the dashboard: figures per day, channel and agency, medians, charts data, CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

from hotline.extensions import db
from hotline.models import Ticket
from hotline.staff.stats import build_dashboard
from hotline.timeutil import to_local, utcnow
from tests.web.staff_helpers import agency, make_ticket, make_user


def _set(ticket: Ticket, **fields) -> None:
    row = db.session.get(Ticket, ticket.id)
    for name, value in fields.items():
        setattr(row, name, value)
    db.session.commit()


def _scenario():
    """Tickets over the last days, in two agencies, with known states and times."""
    now = utcnow()
    make_ticket("assigned", channel="web")
    make_ticket("assigned", channel="sms")
    risky = make_ticket("assigned", channel="voice", now=now - timedelta(days=1))
    _set(risky, acknowledge_state="at_risk")
    make_ticket(
        "acknowledged", "so-xay-dung", "giao-thong", channel="web", now=now - timedelta(days=20)
    )  # its answer deadline has passed
    for minutes, state in ((60, "met"), (120, "met"), (600, "breached")):
        done = make_ticket("resolved", channel="api", now=now - timedelta(days=3))
        _set(done, resolve_working_minutes=minutes, resolve_state=state)
    make_ticket("assigned", channel="web", now=now - timedelta(days=45))  # overdue, old
    return now


def test_figures_per_day_channel_and_agency(app):
    """Test the counts by day and channel, open/at risk/overdue, on-time rate and medians."""
    now = _scenario()
    board = build_dashboard(make_user("supervisor"), days=30, now=now)
    today = len(board.days) - 1
    assert board.per_day["web"][today] == 1 and board.per_day["sms"][today] == 1
    assert board.per_day["web"][today - 20] == 1
    assert board.per_day["voice"][today - 1] == 1
    assert board.per_day["api"][today - 3] == 3
    assert board.totals["received"] == 7  # the 45-day-old ticket is outside the period
    rows = {a.agency_id: a for a in board.agencies}
    power = rows[agency("dien-luc").id]
    assert (power.open, power.at_risk, power.breached) == (4, 1, 1)
    assert (power.answered, power.on_time, power.on_time_rate) == (3, 2, 66.7)
    assert power.median_hours == 2.0
    roads = rows[agency("so-xay-dung").id]
    assert (roads.open, roads.breached) == (1, 1)
    assert board.median_hours == 2.0


def test_agency_head_sees_only_their_agency(app):
    """Test that an agency head's dashboard counts only their agency."""
    now = _scenario()
    board = build_dashboard(make_user("agency_head", "so-xay-dung"), days=30, now=now)
    assert [a.agency_id for a in board.agencies] == [agency("so-xay-dung").id]
    assert board.totals["received"] == 1


def test_dashboard_page_carries_chart_data_and_no_inline_script(signed_in):
    """Test that the page embeds each chart's data in data-chart and loads local scripts only."""
    _scenario()
    client, _ = signed_in("supervisor")
    response = client.get("/staff/dashboard?days=7")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    charts = dict(re.findall(r'id="chart-([a-z_]+)"[^>]*data-chart=\'([^\']+)\'', html))
    assert set(charts) == {"per_day", "open", "on_time", "median"}
    per_day = json.loads(charts["per_day"].replace("&#34;", '"'))
    assert len(per_day["labels"]) == 7
    assert per_day["labels"][-1] == to_local(utcnow()).strftime("%d/%m")
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None  # no inline script


def test_dashboard_csv_has_bom_and_every_agency_row(signed_in):
    """Test the per-agency CSV export (UTF-8 with BOM, Vietnamese header)."""
    _scenario()
    client, _ = signed_in("supervisor")
    response = client.get("/staff/dashboard.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Đơn vị" and rows[0][6] == "Tỷ lệ đúng hạn (%)"
    names = {r[0]: r for r in rows[1:]}
    assert names["Công ty Điện lực Đắk Lắk"][1:4] == ["4", "1", "1"]
    assert names["Công ty Điện lực Đắk Lắk"][6] == "66.7"
