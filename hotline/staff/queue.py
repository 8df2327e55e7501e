"""The ticket queue: filters, scoping, the order by nearest deadline, and keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from wtforms import DateField, SearchField, SelectField
from wtforms.validators import Length, Optional

from hotline import labels
from hotline.extensions import db
from hotline.labels import options
from hotline.models import CHANNELS, STATUSES, Ticket
from hotline.models import User as UserModel
from hotline.staff.choices import reference_choices
from hotline.staff.scope import scoped
from hotline.staff.search import search_condition
from hotline.timeutil import LOCAL_TZ, utcnow

PAGE_SIZE = 50
COUNT_CAP = 500
SORTS = ("due", "newest", "oldest")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class QueueFilterForm(FlaskForm):
    """The filter bar (a GET form: no CSRF token, nothing changes)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Tìm kiếm"),
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": _l("Mã phiếu, số điện thoại hoặc nội dung")},
    )
    status = SelectField(_l("Trạng thái"), validators=[Optional()])
    sla = SelectField(_l("Tình trạng hạn"), validators=[Optional()])
    category = SelectField(_l("Lĩnh vực"), validators=[Optional()])
    commune = SelectField(_l("Xã, phường"), validators=[Optional()])
    agency = SelectField(_l("Đơn vị xử lý"), validators=[Optional()])
    channel = SelectField(_l("Kênh"), validators=[Optional()])
    date_from = DateField(_l("Từ ngày"), validators=[Optional()])
    date_to = DateField(_l("Đến ngày"), validators=[Optional()])
    sort = SelectField(_l("Sắp xếp"), validators=[Optional()])

    def fill_choices(self, user: UserModel, locale: str) -> None:
        """Set the choices from reference data (agencies only for roles that see them all)."""
        anything = [("", str(_l("Tất cả")))]
        self.status.choices = options(
            [
                ("open", str(_l("Đang mở"))),
                ("all", str(_l("Tất cả"))),
                ("untriaged", str(_l("Chưa phân loại (mới nhận, chờ phân loại)"))),
                *[(s, labels.label(labels.STATUS_LABELS, s)) for s in STATUSES],
            ]
        )
        self.sla.choices = options(
            anything
            + [(s, labels.label(labels.SLA_LABELS, s)) for s in ("on_track", "at_risk", "breached")]
        )
        ref = reference_choices()
        self.category.choices = options(anything + ref.category_options(locale, active_only=False))
        self.commune.choices = options(anything + ref.commune_options())
        if user.sees_all_agencies:
            self.agency.choices = options(anything + ref.agency_options(active_only=False))
        else:
            self.agency.choices = options(anything)
        self.channel.choices = options(
            anything + [(c, labels.label(labels.CHANNEL_LABELS, c)) for c in CHANNELS]
        )
        self.sort.choices = options(
            [
                ("due", _l("Hạn gần nhất")),
                ("newest", _l("Mới nhất")),
                ("oldest", _l("Cũ nhất")),
            ]
        )


@dataclass
class QueueFilters:
    """The filters of one queue view, checked and typed."""

    status: str = "open"
    sla: str = ""
    category_id: int | None = None
    commune_id: int | None = None
    agency_id: int | None = None
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = ""

    @classmethod
    def from_form(cls, form: QueueFilterForm, **preset: str) -> QueueFilters:
        """Read the valid fields of FORM (invalid ones are ignored; the form shows why)."""

        def ok(field) -> bool:
            return not field.errors and field.data not in (None, "")

        def as_int(field) -> int | None:
            return int(field.data) if ok(field) and str(field.data).isdigit() else None

        filters = cls(
            status=form.status.data if ok(form.status) else preset.get("status", "open"),
            sla=form.sla.data if ok(form.sla) else "",
            category_id=as_int(form.category),
            commune_id=as_int(form.commune),
            agency_id=as_int(form.agency),
            channel=form.channel.data if ok(form.channel) else "",
            date_from=form.date_from.data if ok(form.date_from) else None,
            date_to=form.date_to.data if ok(form.date_to) else None,
            q=(form.q.data or "").strip() if ok(form.q) else "",
            sort=form.sort.data if ok(form.sort) else "",
        )
        if filters.sort not in SORTS:
            filters.sort = "due" if filters.status not in ("closed", "all") else "newest"
        return filters


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


# States in which an SLA clock runs (waiting for the citizen pauses it).
RUNNING_STATUSES = ("assigned", "acknowledged", "transfer_requested")


def _stored_state_is(state: str):
    """The running timer's stored state (first response, else resolution) is STATE."""
    return or_(
        and_(
            Ticket.acknowledged_at.is_(None),
            func.coalesce(Ticket.acknowledge_state, "") == state,
        ),
        and_(Ticket.acknowledged_at.is_not(None), func.coalesce(Ticket.resolve_state, "") == state),
    )


def running_sla_state(state: str, now: datetime):
    """The condition "the ticket's running deadline is in STATE at NOW".

    Overdue is read from the deadline itself (exact to the second, and indexed); "at risk"
    comes from the state the SLA sweep keeps, for deadlines still ahead.
    """
    running = Ticket.status.in_(RUNNING_STATUSES)
    if state == "breached":
        return and_(running, Ticket.due_at <= now)
    at_risk = _stored_state_is("at_risk")
    if state == "at_risk":
        return and_(running, Ticket.due_at > now, at_risk)
    return and_(running, Ticket.due_at > now, ~at_risk)


def filtered_tickets(user: UserModel, filters: QueueFilters, now: datetime | None = None) -> Select:
    """Return the scoped, filtered SELECT of tickets (not ordered)."""
    now = now or utcnow()
    stmt = scoped(select(Ticket), user)
    if filters.status == "open":
        stmt = stmt.where(Ticket.status != "closed")
    elif filters.status == "untriaged":
        stmt = stmt.where(Ticket.status.in_(("received", "triage")), Ticket.status != "closed")
    elif filters.status in STATUSES:
        stmt = stmt.where(Ticket.status == filters.status)
        if filters.status != "closed":
            # Lets PostgreSQL use the partial queue indexes (WHERE status <> 'closed').
            stmt = stmt.where(Ticket.status != "closed")
    if filters.sla in ("on_track", "at_risk", "breached"):
        stmt = stmt.where(running_sla_state(filters.sla, now))
    if filters.category_id is not None:
        stmt = stmt.where(Ticket.category_id == filters.category_id)
    if filters.commune_id is not None:
        stmt = stmt.where(Ticket.commune_id == filters.commune_id)
    if filters.agency_id is not None and user.sees_all_agencies:
        stmt = stmt.where(Ticket.agency_id == filters.agency_id)
    if filters.channel in CHANNELS:
        stmt = stmt.where(Ticket.channel == filters.channel)
    if filters.date_from:
        stmt = stmt.where(Ticket.created_at >= _local_midnight_utc(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(
            Ticket.created_at < _local_midnight_utc(filters.date_to + timedelta(days=1))
        )
    condition = search_condition(filters.q)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt


def ordered(stmt: Select, sort: str) -> Select:
    """Return STMT in the queue's order (for exports: every row, no pages)."""
    if sort == "newest":
        return stmt.order_by(Ticket.id.desc())
    if sort == "oldest":
        return stmt.order_by(Ticket.id)
    return stmt.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)


def count_capped(stmt: Select, cap: int = COUNT_CAP) -> int:
    """Count STMT's rows up to CAP + 1 (an exact count of a million rows is not worth it).

    Counted in the two halves the queue indexes cover (with and without a running
    deadline), so each half is an index scan rather than a walk through the agency's
    closed tickets.
    """
    total = 0
    # "status <> 'closed'" is implied by a deadline, but saying it lets the planner use
    # the partial indexes of open tickets (their trigram index for searches).
    halves = (and_(Ticket.due_at.is_not(None), Ticket.status != "closed"), Ticket.due_at.is_(None))
    for half in halves:
        inner = (
            stmt.where(half)
            .with_only_columns(Ticket.id)
            .order_by(None)
            .limit(cap + 1 - total)
            .subquery()
        )
        total += db.session.execute(select(func.count()).select_from(inner)).scalar_one()
        if total > cap:
            break
    return total


# --- keyset pages -------------------------------------------------------------------------


def _decode(cursor: str | None) -> tuple[str | None, datetime | None, int | None]:
    """Return (phase, due, id) from a cursor; anything malformed means the first page."""
    if not cursor or len(cursor) > 60:
        return None, None, None
    phase, rest = cursor[0], cursor[1:]
    try:
        if phase == "d":
            micros, ident = rest.split("_", 1)
            return "d", _EPOCH + timedelta(microseconds=int(micros)), int(ident)
        if phase in ("n", "i"):
            return phase, None, int(rest)
    except (ValueError, OverflowError):
        pass
    return None, None, None


@dataclass
class Page:
    """One page of a queue and the cursor of the next one."""

    rows: list[Ticket]
    next_cursor: str | None


def _ids(stmt: Select, order: tuple, limit: int) -> list:
    """Return (id, due_at) of the first LIMIT rows: an index-only scan of the queue indexes."""
    query = stmt.with_only_columns(Ticket.id, Ticket.due_at).order_by(*order).limit(limit)
    return list(db.session.execute(query).all())


def _tickets(ids: list[int]) -> list[Ticket]:
    """Load the tickets of IDS (with category, commune and agency), in that order."""
    if not ids:
        return []
    rows = db.session.execute(select(Ticket).where(Ticket.id.in_(ids))).unique().scalars()
    by_id = {t.id: t for t in rows}
    return [by_id[i] for i in ids if i in by_id]


def fetch_page(stmt: Select, sort: str, cursor: str | None, size: int = PAGE_SIZE) -> Page:
    """Return the page of STMT after CURSOR in SORT order.

    "due" pages through tickets with a running deadline (nearest first, then by id), then
    through those without one (by id). Each step finds its ids by one range scan of a
    covering index, then loads just those tickets.
    """
    phase, due, ident = _decode(cursor)
    if sort in ("newest", "oldest"):
        q = stmt
        if phase == "i":
            q = q.where(Ticket.id < ident if sort == "newest" else Ticket.id > ident)
        order = (Ticket.id.desc(),) if sort == "newest" else (Ticket.id,)
        found = _ids(q, order, size + 1)
        more = len(found) > size
        rows = _tickets([i for i, _ in found[:size]])
        return Page(rows, f"i{found[size - 1][0]}" if more else None)
    found = []
    if phase in (None, "d"):
        q = stmt.where(Ticket.due_at.is_not(None), Ticket.status != "closed")
        if phase == "d":
            q = q.where(tuple_(Ticket.due_at, Ticket.id) > tuple_(literal(due), literal(ident)))
        found = _ids(q, (Ticket.due_at, Ticket.id), size + 1)
    if len(found) <= size:
        q = stmt.where(Ticket.due_at.is_(None))
        if phase == "n":
            q = q.where(Ticket.id > ident)
        found += _ids(q, (Ticket.id,), size + 1 - len(found))
    more = len(found) > size
    found = found[:size]
    rows = _tickets([i for i, _ in found])
    if not more:
        return Page(rows, None)
    last_id, last_due = found[-1]
    if last_due is None:
        return Page(rows, f"n{last_id}")
    micros = (last_due - _EPOCH) // timedelta(microseconds=1)
    return Page(rows, f"d{micros}_{last_id}")
