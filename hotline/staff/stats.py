"""Dashboard figures: intake per day and channel, open/at-risk/overdue, on-time rate, medians.

Every figure is one grouped query on indexed columns (created_at, the open-ticket partial
indexes, resolved_at), so the dashboard stays fast with millions of tickets.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select, tuple_

from hotline.extensions import db
from hotline.models import Ticket, User
from hotline.staff.choices import reference_choices
from hotline.staff.queue import running_sla_state
from hotline.timeutil import LOCAL_TZ, to_local


@dataclass
class AgencyRow:
    """One agency's line of the dashboard table."""

    agency_id: int
    name: str
    open: int = 0
    at_risk: int = 0
    breached: int = 0
    answered: int = 0
    on_time: int = 0
    median_hours: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        """Share of answers given by the deadline, in percent (None without answers)."""
        return round(100 * self.on_time / self.answered, 1) if self.answered else None


@dataclass
class Dashboard:
    """Everything the dashboard page shows."""

    days: list[date]
    per_day: dict[str, list[int]]  # channel -> counts aligned with days
    agencies: list[AgencyRow] = field(default_factory=list)
    median_hours: float | None = None

    @property
    def totals(self) -> dict[str, float | int | None]:
        """The headline figures."""
        answered = sum(a.answered for a in self.agencies)
        on_time = sum(a.on_time for a in self.agencies)
        return {
            "received": sum(sum(v) for v in self.per_day.values()),
            "open": sum(a.open for a in self.agencies),
            "at_risk": sum(a.at_risk for a in self.agencies),
            "breached": sum(a.breached for a in self.agencies),
            "on_time_rate": round(100 * on_time / answered, 1) if answered else None,
            "median_hours": self.median_hours,
        }


def _local_day(column):
    """SQL for the local calendar day of a UTC timestamp column."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone(str(LOCAL_TZ), column))
    offset = datetime.now(LOCAL_TZ).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def _scope(stmt, user: User, agency_id: int | None):
    if not user.sees_all_agencies:
        return stmt.where(Ticket.agency_id == user.agency_id)
    if agency_id is not None:
        return stmt.where(Ticket.agency_id == agency_id)
    return stmt


def build_dashboard(
    user: User, *, days: int = 30, agency_id: int | None = None, now: datetime
) -> Dashboard:
    """Compute the dashboard for USER's scope over the last DAYS local days.

    Args:
        user: supervisors and admins see every agency (or AGENCY_ID); an agency head
            sees their own agency only.
        days: the period, ending today (local time).
        agency_id: narrow to one agency (ignored for agency heads).
        now: the current instant.
    """
    today = to_local(now).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)
    day_list = [first + timedelta(days=i) for i in range(days)]
    per_day = _intake_per_day(user, agency_id, since, day_list)

    rows: dict[int, AgencyRow] = {}
    names = {ident: name for ident, name, _active in reference_choices().agencies}

    def row(aid: int) -> AgencyRow:
        if aid not in rows:
            rows[aid] = AgencyRow(aid, names.get(aid, str(aid)))
        return rows[aid]

    _count_open(user, agency_id, now, row)
    _count_answered(user, agency_id, since, row)
    overall = _medians(user, agency_id, since, row)
    ordered_rows = sorted(rows.values(), key=lambda r: (-r.open, -r.answered, r.name))
    return Dashboard(day_list, per_day, ordered_rows, overall)


def _intake_per_day(
    user: User, agency_id: int | None, since: datetime, day_list: list[date]
) -> dict[str, list[int]]:
    """Return the tickets received per channel and local day of DAY_LIST."""
    day_col = _local_day(Ticket.created_at).label("day")
    per_day_rows = db.session.execute(
        _scope(
            select(day_col, Ticket.channel, func.count())
            .where(Ticket.created_at >= since)
            .group_by(day_col, Ticket.channel),
            user,
            agency_id,
        )
    ).all()
    index = {d.isoformat(): i for i, d in enumerate(day_list)}
    per_day: dict[str, list[int]] = defaultdict(lambda: [0] * len(day_list))
    for day, channel, count in per_day_rows:
        key = day.isoformat() if isinstance(day, date) else str(day)[:10]
        if key in index:
            per_day[channel][index[key]] += count
    return dict(per_day)


def _count_open(user: User, agency_id: int | None, now: datetime, row) -> None:
    """Set each agency's open tickets, and how many are at risk or breached."""
    open_rows = db.session.execute(
        _scope(
            select(
                Ticket.agency_id,
                func.count(),
                func.sum(case((running_sla_state("at_risk", now), 1), else_=0)),
                func.sum(case((running_sla_state("breached", now), 1), else_=0)),
            )
            # A running deadline is what makes a ticket the agency's open work (index-only).
            .where(Ticket.due_at.is_not(None))
            .group_by(Ticket.agency_id),
            user,
            agency_id,
        )
    ).all()
    for aid, count, at_risk, breached in open_rows:
        if aid is not None:
            r = row(aid)
            r.open, r.at_risk, r.breached = count, int(at_risk or 0), int(breached or 0)


def _count_answered(user: User, agency_id: int | None, since: datetime, row) -> None:
    """Set each agency's tickets answered since SINCE, and how many on time."""
    answered_rows = db.session.execute(
        _scope(
            select(
                Ticket.agency_id,
                func.count(),
                func.sum(case((Ticket.resolve_state == "met", 1), else_=0)),
            )
            .where(Ticket.resolved_at >= since, Ticket.resolve_state.in_(("met", "breached")))
            .group_by(Ticket.agency_id),
            user,
            agency_id,
        )
    ).all()
    for aid, count, met in answered_rows:
        if aid is not None:
            r = row(aid)
            r.answered, r.on_time = count, int(met or 0)


def _medians(user: User, agency_id: int | None, since: datetime, row) -> float | None:
    """Set each agency's median working hours to resolve; return the overall median."""
    base = _scope(
        select(Ticket.agency_id, Ticket.resolve_working_minutes).where(
            Ticket.resolved_at >= since, Ticket.resolve_working_minutes.is_not(None)
        ),
        user,
        agency_id,
    )
    if db.engine.dialect.name == "postgresql":
        median = func.percentile_cont(0.5).within_group(Ticket.resolve_working_minutes)
        # One pass for both: per agency, and the grand total (the empty grouping set).
        grouped = base.with_only_columns(
            Ticket.agency_id, func.grouping(Ticket.agency_id), median
        ).group_by(func.grouping_sets(tuple_(Ticket.agency_id), tuple_()))
        overall = None
        for aid, is_total, value in db.session.execute(grouped).all():
            hours = round(float(value) / 60, 1) if value is not None else None
            if is_total:
                overall = hours
            elif aid is not None:
                row(aid).median_hours = hours
        return overall
    per_agency: dict[int, list[int]] = defaultdict(list)
    for aid, value in db.session.execute(base).all():
        if aid is not None:
            per_agency[aid].append(value)
    for aid, values in per_agency.items():
        row(aid).median_hours = round(statistics.median(values) / 60, 1)
    everything = [v for values in per_agency.values() for v in values]
    return round(statistics.median(everything) / 60, 1) if everything else None
