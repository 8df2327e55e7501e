"""Data for bench/staff_pages.py: two years of a province's tickets, bulk-loaded with COPY.

Ids follow time (recent tickets sit together on disk, as in a live database); about 5% of
the tickets are still open, the rest answered and closed; ~3.5 events per ticket.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import select, text

from hotline.extensions import db
from hotline.models import (
    AGENCY_STATUSES,
    Agency,
    AreaAgency,
    Category,
    Commune,
    Ticket,
    TicketEvent,
)
from hotline.models.ticket import ticket_search_text

_REPORTS = (
    ("dien", "Khu vực {p} mất điện từ sáng đến giờ chưa có lại, đề nghị kiểm tra."),
    ("dien", "Dây điện võng thấp sát mái nhà dân ở {p}, rất nguy hiểm."),
    ("cap-thoat-nuoc", "Nước sinh hoạt ở {p} bị đục và có mùi hôi mấy ngày nay."),
    ("cap-thoat-nuoc", "Cống thoát nước ở {p} bị tắc, mưa xuống là ngập vào nhà dân."),
    ("giao-thong", "Đường qua {p} có nhiều ổ gà lớn, xe máy đi qua bị té."),
    ("giao-thong", "Đèn tín hiệu giao thông ở ngã tư gần {p} bị hỏng hai ngày nay."),
    ("moi-truong", "Rác thải tồn đọng ở chợ {p} cả tuần không ai thu gom, bốc mùi."),
    ("moi-truong", "Cơ sở chăn nuôi heo xả nước thải ra suối ở {p} gây ô nhiễm."),
    ("trat-tu-do-thi", "Hàng quán lấn chiếm vỉa hè ở {p}, người đi bộ phải xuống lòng đường."),
    ("trat-tu-do-thi", "Có người xây nhà không phép lấn chiếm hành lang giao thông ở {p}."),
    ("an-ninh-trat-tu", "Nhóm thanh niên tụ tập đua xe trái phép ban đêm ở {p}."),
    ("an-ninh-trat-tu", "Quán karaoke ở {p} hát đến 1 giờ sáng, người dân không ngủ được."),
    ("hanh-chinh-cong", "Hồ sơ nộp ở bộ phận một cửa {p} đã quá hẹn mà chưa có kết quả."),
    ("y-te", "Trạm y tế {p} thiếu thuốc, người dân phải chờ rất lâu."),
    ("giao-duc", "Trường tiểu học ở {p} thu các khoản phí ngoài quy định."),
    ("lao-dong-xa-hoi", "Hộ nghèo ở {p} chưa nhận được tiền hỗ trợ theo chính sách."),
    ("nong-nghiep", "Phân bón giả bán cho bà con trồng cà phê ở {p}, cây bị vàng lá."),
    ("cong-thuong", "Cây xăng ở {p} bán xăng thiếu, bơm không đủ lít."),
    ("dat-dai", "Tranh chấp đất đai giữa hai hộ ở {p}, chính quyền chậm giải quyết."),
    ("khac", "Cho tôi hỏi số điện thoại đường dây nóng của {p}."),
)
_ANSWER = "Đơn vị đã kiểm tra thực tế và khắc phục xong. Cảm ơn ông/bà đã phản ánh."
_CHANNELS = ("voice", "sms", "web", "web", "sms", "voice", "api", "operator")
_COLUMNS = (
    "id code channel status priority category_id commune_id agency_id address description "
    "citizen_name phone contact_consent locale sla_cycle sla_started_at acknowledge_due_at "
    "acknowledge_state acknowledged_at resolve_started_at resolve_due_at resolve_state "
    "resolved_at public_answer answer_published close_reason closed_at rating_comment "
    "search_text due_at resolve_working_minutes version created_at updated_at"
).split()


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    return str(value)


class TicketMaker:
    """Generates realistic ticket rows relative to NOW (deterministic for a seed)."""

    def __init__(self, now: datetime, seed: int = 1022):
        from hotline.sla.cycle import get_calendar

        self.rng = random.Random(seed)
        self.now = now
        self.calendar = get_calendar()
        self.categories = {c.code: c for c in db.session.execute(select(Category)).scalars()}
        self.communes = list(db.session.execute(select(Commune)).scalars())
        self.area = {
            (a.category_id, a.former_province): a.agency_id
            for a in db.session.execute(select(AreaAgency)).scalars()
        }
        self.office = db.session.execute(select(Agency.id).filter_by(code="vp-ubnd")).scalar_one()
        self._text_cache: dict[tuple[int, int, bool], tuple[str, str]] = {}

    def _agency(self, category: Category, commune: Commune, age: float) -> int | None:
        if category.code == "khac":
            # "Other" waits for an operator; older ones were triaged to the province office.
            return None if age < 30 and self.rng.random() < 0.3 else self.office
        if category.scope == "local":
            return commune.agency_id or category.agency_id
        if category.scope == "by-area":
            return self.area.get((category.id, commune.former_province))
        return category.agency_id

    def _texts(self, report: int, commune: Commune, answered: bool) -> tuple[str, str]:
        key = (report, commune.id, answered)
        if key not in self._text_cache:
            description = _REPORTS[report][1].format(p=commune.full_name)
            folded = ticket_search_text(description, _ANSWER if answered else "")
            self._text_cache[key] = (description, folded)
        return self._text_cache[key]

    def _status(self, age_days: float) -> str:
        r = self.rng.random()
        if age_days > 30:
            # A few old tickets are still stuck with an agency: the overdue the digest chases.
            if r < 0.975:
                return "closed"
            if r < 0.98:
                return "resolved"
            return self.rng.choice(("acknowledged", "assigned", "waiting_citizen"))
        if r < 0.35:
            return "closed"
        if r < 0.50:
            return "resolved"
        if r < 0.503:
            return "received"
        return self.rng.choice(("assigned", "acknowledged", "acknowledged", "transfer_requested"))

    def row(self, ident: int, created: datetime) -> dict:
        """Return the column values of ticket number IDENT, received at CREATED."""
        rng, now = self.rng, self.now
        age = (now - created).total_seconds() / 86400
        status = self._status(age)
        report = rng.randrange(len(_REPORTS))
        category = self.categories[_REPORTS[report][0]]
        commune = rng.choice(self.communes)
        agency_id = self._agency(category, commune, age)
        if agency_id is None and status not in ("received", "triage"):
            status = "triage"
        answered = status in ("resolved", "closed")
        description, folded = self._texts(report, commune, answered)
        code = f"{created.year % 100:02d}{ident:08d}"
        values = {
            "id": ident,
            "code": code,
            "channel": rng.choice(_CHANNELS),
            "status": status,
            "priority": "urgent" if rng.random() < 0.05 else "normal",
            "category_id": category.id if status not in ("received",) else None,
            "commune_id": commune.id if rng.random() < 0.8 else None,
            "agency_id": agency_id if status not in ("received", "triage") else None,
            "address": "",
            "description": description,
            "citizen_name": "",
            "phone": f"+8491{rng.randrange(10**7):07d}" if rng.random() < 0.8 else None,
            "contact_consent": True,
            "locale": "vi",
            "sla_cycle": 0,
            "public_answer": _ANSWER if answered else "",
            "answer_published": False,
            "rating_comment": "",
            "search_text": f" {code}{folded}",  # folded is framed by spaces
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        if values["agency_id"] is None:
            return values
        start = created + timedelta(minutes=3)
        values.update(sla_cycle=1, sla_started_at=start, resolve_started_at=start)
        if answered or status in AGENCY_STATUSES and age > 5:
            # Old rows: plain offsets instead of working-time maths (only open rows show them).
            ack_due, resolve_due = start + timedelta(days=1), start + timedelta(days=4)
        else:
            ack_due = self.calendar.add_working_time(start, timedelta(hours=8))
            resolve_due = self.calendar.add_working_time(start, timedelta(hours=22, minutes=30))
        values.update(acknowledge_due_at=ack_due, resolve_due_at=resolve_due)
        if status != "assigned":
            acked = start + timedelta(hours=rng.uniform(0.2, 30))
            values.update(
                acknowledged_at=min(acked, now),
                acknowledge_state="met" if acked <= ack_due else "breached",
            )
        else:
            values["acknowledge_state"] = self._running(start, ack_due)
        if answered:
            resolved = start + timedelta(hours=rng.uniform(1, 120))
            resolved = min(resolved, now)
            values.update(
                resolved_at=resolved,
                resolve_state="met" if rng.random() < 0.82 else "breached",
                resolve_working_minutes=rng.randrange(30, 60 * 60),
            )
            if status == "closed":
                reason = "answered" if rng.random() < 0.9 else rng.choice(("spam", "duplicate"))
                values.update(
                    closed_at=min(resolved + timedelta(hours=rng.uniform(1, 48)), now),
                    close_reason=reason,
                    answer_published=reason == "answered" and rng.random() < 0.75,
                )
        else:
            values["resolve_state"] = self._running(start, resolve_due)
            running_due = ack_due if status == "assigned" else resolve_due
            values["due_at"] = running_due
        return values

    def _running(self, start: datetime, due: datetime) -> str:
        if due <= self.now:
            return "breached"
        used = (self.now - start) / (due - start)
        return "at_risk" if used >= 0.75 else "on_track"


def load(total: int, now: datetime) -> None:
    """Empty the database, load the province, COPY TOTAL tickets and their events."""
    from hotline.province import province_folder
    from hotline.province.loader import load_province

    db.drop_all()
    db.create_all()
    load_province(province_folder())
    maker = TicketMaker(now)
    # Ids follow time, as they do in a live database (recent tickets sit together on disk).
    offsets = sorted(maker.rng.random() for _ in range(total))
    span = timedelta(days=730)
    # Indexes are built once after the load: far faster than maintaining them row by row.
    indexes = [*Ticket.__table__.indexes, *TicketEvent.__table__.indexes]
    for index in indexes:
        index.drop(db.session.connection())
    raw = db.session.connection().connection.driver_connection
    started = time.perf_counter()
    chunk = 50_000
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY tickets ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            lines = []
            for ident in range(1, total + 1):
                values = maker.row(ident, now - span + span * offsets[ident - 1])
                lines.append("\t".join(_copy_value(values.get(c)) for c in _COLUMNS))
                if len(lines) == chunk:
                    copy.write("\n".join(lines) + "\n")
                    lines.clear()
                    print(f"  {ident:,} tickets", end="\r", file=sys.stderr)
            if lines:
                copy.write("\n".join(lines) + "\n")
    db.session.commit()
    print(f"tickets loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    events = (
        ("created", "NULL", "'received'", "created_at", "TRUE"),
        ("assigned", "'received'", "'assigned'", "sla_started_at", "TRUE"),
        ("acknowledged", "'assigned'", "'acknowledged'", "acknowledged_at", "TRUE"),
        ("resolved", "'acknowledged'", "'resolved'", "resolved_at", "TRUE"),
        ("closed", "'resolved'", "'closed'", "closed_at", "TRUE"),
    )
    for kind, before, after, column, public in events:
        db.session.execute(
            text(
                "INSERT INTO ticket_events (ticket_id, kind, actor_label, from_status, to_status,"
                " note, data, public, created_at) "
                f"SELECT id, '{kind}', 'system', {before}, {after}, '', '{{}}', {public}, {column}"
                f" FROM tickets WHERE {column} IS NOT NULL ORDER BY id"
            )
        )
    db.session.execute(text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
    db.session.commit()
    print(f"events loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    db.session.execute(text("SET maintenance_work_mem = '512MB'"))
    for index in indexes:
        index.create(db.session.connection())
    db.session.commit()
    print(f"indexes built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    db.session.close()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
