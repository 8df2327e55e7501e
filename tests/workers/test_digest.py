"""The daily digest: content checked by parsing its HTML, once per recipient and day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import OutboxMessage
from hotline.notifications.render import render_message
from hotline.sla.digest import send_digests
from hotline.sla.sweep import sweep
from hotline.tickets import services
from tests.workers.conftest import add_user, assigned_ticket


def local(y, m, d, hh, mm) -> datetime:
    """Return the UTC instant of a local Đắk Lắk wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=7)


class Tables(HTMLParser):
    """Collect every table's rows (cell texts) by table id, and every link."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._in_head = False
        self._id_stack: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._id_stack.append(attrs.get("id"))
        if attrs.get("id"):
            self.texts[attrs["id"]] = ""
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self._href = attrs.get("href")

    def handle_endtag(self, tag):
        if self._id_stack:
            self._id_stack.pop()
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "a":
            self._href = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href
        for ident in self._id_stack:
            if ident:
                self.texts[ident] += data


def _scenario():
    """Three power tickets of different ages: overdue 3 working days, overdue, at risk; an
    on-time answer and a late answer in the last 30 days."""
    agent = add_user("agent@dienluc.example", "agent", "dien-luc")
    add_user("sup@1022.example", "supervisor")
    oldest = assigned_ticket(now=local(2026, 3, 2, 8, 0))
    older = assigned_ticket(now=local(2026, 3, 4, 8, 0))
    at_risk = assigned_ticket(now=local(2026, 3, 5, 13, 30), priority="normal")
    services.acknowledge(at_risk.id, actor=agent, now=local(2026, 3, 5, 14, 0))
    on_time = assigned_ticket(now=local(2026, 3, 3, 8, 0))
    services.resolve(on_time.id, "Đã xử lý", actor=agent, now=local(2026, 3, 3, 9, 0))
    late = assigned_ticket(now=local(2026, 3, 3, 8, 0))
    services.resolve(late.id, "Đã xử lý", actor=agent, now=local(2026, 3, 4, 9, 0))
    return oldest, older, at_risk


def test_digest_content_and_once_per_recipient_and_day(app):
    """Test that the agency gets its late tickets oldest first with links, supervisors get the
    per-agency table, the worst cases and the leadership flags, once per recipient and day."""
    oldest, older, at_risk = _scenario()
    now = local(2026, 3, 10, 7, 0)  # Tuesday 07:00
    for hour in range(8):  # the sweeps of the past days, as the scheduler would run them
        sweep(now=local(2026, 3, 2, 8, 0) + timedelta(hours=8 * hour + 1))
    sweep(now=now)
    report = send_digests(now=now)
    assert report.day == date(2026, 3, 10) and report.agencies == 1
    messages = {
        m.recipient: m
        for m in db.session.execute(
            select(OutboxMessage).where(OutboxMessage.template.like("digest_%"))
        ).scalars()
    }
    assert set(messages) == {"dien-luc@daklak.example", "agent@dienluc.example", "sup@1022.example"}

    agency_mail = render_message(messages["agent@dienluc.example"])
    assert agency_mail.subject == "[1022] Phiếu sắp quá hạn và quá hạn ngày 10/03/2026"
    page = Tables(agency_mail.html)
    rows = page.tables["tickets"]
    assert [row[0] for row in rows] == [oldest.code, older.code, at_risk.code]
    assert [row[1] for row in rows] == ["Quá hạn", "Quá hạn", "Sắp quá hạn"]
    assert page.links[oldest.code] == f"https://hotline.test/staff/tickets/{oldest.code}"
    assert "2 phiếu quá hạn và 1 phiếu sắp quá hạn" in page.texts["summary"]
    assert oldest.code in agency_mail.text

    supervisor = Tables(render_message(messages["sup@1022.example"]).html)
    power = [r for r in supervisor.tables["agencies"] if r[0] == "Công ty Điện lực Đắk Lắk"]
    assert power == [["Công ty Điện lực Đắk Lắk", "3", "1", "2", "50%"]]
    assert [r[0] for r in supervisor.tables["worst"]] == [oldest.code, older.code]
    # Breached on 2 March, still late two working days later: flagged to leadership.
    assert [r[0] for r in supervisor.tables["leadership"]] == [oldest.code, older.code]

    again = send_digests(now=now + timedelta(hours=2))
    assert again.messages == 0


def test_no_digest_on_a_day_off_unless_asked_by_hand(runner):
    """Test that the scheduled digest skips a Saturday, while the CLI sends for any date."""
    add_user("sup@1022.example", "supervisor")
    saturday = local(2026, 3, 7, 7, 0)
    report = send_digests(now=saturday)
    assert report.skipped == "not a working day" and report.messages == 0
    result = runner.invoke(args=["hotline", "send-digest", "--date", "2026-03-07"])
    assert result.exit_code == 0, result.output
    assert "1 emails queued" in result.output
    result = runner.invoke(args=["hotline", "send-digest", "--date", "2026-03-07"])
    assert "0 emails queued" in result.output
    result = runner.invoke(args=["hotline", "send-digest", "--date", "07/03/2026"])
    assert result.exit_code != 0
