"""SLA clocks on a ticket: deadlines set at assignment, paused, resumed, stopped.

The working-time maths lives in `calendar` and `timers` (pure); this module reads the
province's calendar and policies and writes the ticket's SLA fields (no commit).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.cache import TimedCache
from hotline.extensions import db
from hotline.models import CalendarDay, SlaPolicy, Ticket, TicketEvent
from hotline.province import province_json
from hotline.province.files import working_day_minutes
from hotline.sla.calendar import WorkingCalendar
from hotline.sla.timers import TimerState, next_check_at, timer_state

# SPEC §6 defaults, for a ticket whose category has no policy: (acknowledge, resolve)
# in working hours, a working day being the calendar's office hours.
DEFAULT_TARGETS_HOURS = {"urgent": (1, 4), "normal": (8, None), "complex": (8, None)}
DEFAULT_RESOLVE_DAYS = {"normal": 3, "complex": 10}
CALENDAR_TTL_SECONDS = 60
DEFAULT_AT_RISK_RATIO = 0.75
# A timer still breached this many working days after its deadline is flagged to leadership.
LEADERSHIP_AFTER_WORKING_DAYS = 2


def _load_calendar() -> WorkingCalendar:
    data = dict(province_json("calendar.json"))
    with db.session.no_autoflush:
        rows = db.session.execute(select(CalendarDay)).scalars().all()
    if rows:  # once loaded, the database (admin-edited) is the source of the days
        data["days_off"] = [
            {"date": r.day.isoformat(), "name": r.name} for r in rows if r.kind == "off"
        ]
        data["working_days"] = [
            {"date": r.day.isoformat(), "name": r.name} for r in rows if r.kind == "work"
        ]
    return WorkingCalendar.from_dict(data)


def _load_policies() -> dict[tuple[int, str], tuple[timedelta, timedelta, float]]:
    # no_autoflush: reading policies must not flush (and version-bump) a ticket midway.
    with db.session.no_autoflush:
        rows = db.session.execute(
            select(
                SlaPolicy.category_id,
                SlaPolicy.priority,
                SlaPolicy.acknowledge_minutes,
                SlaPolicy.resolve_minutes,
                SlaPolicy.at_risk_ratio,
            )
        ).all()
    return {
        (cat, prio): (timedelta(minutes=ack), timedelta(minutes=res), ratio)
        for cat, prio, ack, res, ratio in rows
    }


_calendar_cache = TimedCache("calendar", _load_calendar, CALENDAR_TTL_SECONDS)
_policies_cache = TimedCache("SLA policies", _load_policies, CALENDAR_TTL_SECONDS)


def get_calendar() -> WorkingCalendar:
    """Return the province's working calendar: office hours from its file, days from the database.

    Cached for a minute per process; admin changes empty the cache (`invalidate_caches`).
    """
    return _calendar_cache.get()


def _policies() -> dict[tuple[int, str], tuple[timedelta, timedelta, float]]:
    """Return every SLA policy by (category id, priority); cached for a minute per process.

    Read on every assignment and deadline change: a query each time would be most of the
    routing's cost.
    """
    return _policies_cache.get()


def targets_for(ticket: Ticket) -> tuple[timedelta, timedelta, float]:
    """Return (acknowledge target, resolve target, at-risk ratio) for the category and priority."""
    policy = None
    if ticket.category_id is not None:
        policy = _policies().get((ticket.category_id, ticket.priority))
    if policy is not None:
        return policy
    ack_h, res_h = DEFAULT_TARGETS_HOURS[ticket.priority]
    if res_h is None:
        day = working_day_minutes(province_json("calendar.json"))
        resolve = timedelta(minutes=day * DEFAULT_RESOLVE_DAYS[ticket.priority])
    else:
        resolve = timedelta(hours=res_h)
    return timedelta(hours=ack_h), resolve, DEFAULT_AT_RISK_RATIO


def working_day(calendar_data: dict | None = None) -> timedelta:
    """Return the length of one working day of the province (its daily office hours)."""
    return timedelta(minutes=working_day_minutes(calendar_data or province_json("calendar.json")))


def leadership_at(calendar: WorkingCalendar, due_at: datetime, day: timedelta) -> datetime:
    """Return when a breached timer is flagged to the province's leadership (SPEC §6)."""
    return calendar.add_working_time(due_at, day * LEADERSHIP_AFTER_WORKING_DAYS)


def timer_next_check(
    calendar: WorkingCalendar,
    started_at: datetime | None,
    due_at: datetime | None,
    stopped_at: datetime | None,
    state: str | None,
    now: datetime,
    ratio: float,
    day: timedelta,
) -> datetime | None:
    """Return when one timer next needs the sweep, or None when it never does again.

    A running timer needs it when it turns at risk, when it is breached, and once more two
    working days after the deadline (the leadership step). A breached timer not yet marked
    so needs it now.
    """
    if due_at is None or started_at is None or stopped_at is not None:
        return None
    nxt = next_check_at(calendar, started_at, due_at, now, ratio)
    if nxt is not None:
        return nxt
    if state != TimerState.BREACHED:
        return now
    flag_at = leadership_at(calendar, due_at, day)
    return flag_at if flag_at > now else None


def refresh_next_check(
    ticket: Ticket, now: datetime, calendar: WorkingCalendar | None = None
) -> None:
    """Set when the sweep must look at TICKET next: the earliest change of a running timer."""
    if ticket.status == "waiting_citizen":
        ticket.next_sla_check_at = None
        return
    calendar = calendar or get_calendar()
    _, _, ratio = targets_for(ticket)
    day = working_day()
    candidates = [
        c
        for c in (
            timer_next_check(
                calendar,
                ticket.sla_started_at,
                ticket.acknowledge_due_at,
                ticket.acknowledged_at,
                ticket.acknowledge_state,
                now,
                ratio,
                day,
            ),
            timer_next_check(
                calendar,
                ticket.resolve_started_at,
                ticket.resolve_due_at,
                ticket.resolved_at,
                ticket.resolve_state,
                now,
                ratio,
                day,
            ),
        )
        if c is not None
    ]
    ticket.next_sla_check_at = min(candidates) if candidates else None


def start_cycle(ticket: Ticket, now: datetime) -> None:
    """Start both timers for the ticket's (new) agency."""
    calendar = get_calendar()
    ack, resolve, _ = targets_for(ticket)
    ticket.sla_cycle = (ticket.sla_cycle or 0) + 1
    ticket.sla_started_at = now
    ticket.acknowledge_due_at = calendar.add_working_time(now, ack)
    ticket.acknowledge_state = TimerState.ON_TRACK.value
    ticket.acknowledged_at = None
    ticket.resolve_started_at = now
    ticket.resolve_due_at = calendar.add_working_time(now, resolve)
    ticket.resolve_state = TimerState.ON_TRACK.value
    ticket.resolved_at = None
    refresh_next_check(ticket, now, calendar)


def on_acknowledged(ticket: Ticket, now: datetime) -> None:
    """Stop the first-response timer."""
    ticket.acknowledged_at = now
    if ticket.acknowledge_due_at and ticket.sla_started_at:
        ticket.acknowledge_state = timer_state(
            get_calendar(), ticket.sla_started_at, ticket.acknowledge_due_at, now, stopped_at=now
        ).value
    refresh_next_check(ticket, now)


def pause(ticket: Ticket, now: datetime) -> None:
    """The ticket waits for the citizen: the sweep leaves it alone until it resumes."""
    ticket.next_sla_check_at = None


def resume(ticket: Ticket, now: datetime) -> None:
    """Move the resolve deadline by the working time spent waiting for the citizen.

    The pause is read from the events: it began at the latest entry into `waiting_citizen`.
    """
    with db.session.no_autoflush:
        paused_since = db.session.execute(
            select(TicketEvent.created_at)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.to_status == "waiting_citizen")
            .order_by(TicketEvent.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    calendar = get_calendar()
    if paused_since is not None and ticket.resolve_due_at is not None:
        paused = calendar.working_time_between(paused_since, now)
        if paused > timedelta(0):
            ticket.resolve_due_at = calendar.add_working_time(ticket.resolve_due_at, paused)
            ticket.resolve_state = TimerState.ON_TRACK.value
    refresh_next_check(ticket, now, calendar)
    if ticket.resolve_due_at and ticket.resolve_started_at:
        ticket.resolve_state = timer_state(
            calendar, ticket.resolve_started_at, ticket.resolve_due_at, now
        ).value


def on_resolved(ticket: Ticket, now: datetime) -> None:
    """Stop the resolve timer."""
    ticket.resolved_at = now
    if ticket.resolve_due_at and ticket.resolve_started_at:
        ticket.resolve_state = timer_state(
            get_calendar(), ticket.resolve_started_at, ticket.resolve_due_at, now, stopped_at=now
        ).value
    ticket.next_sla_check_at = None


def stop(ticket: Ticket, now: datetime) -> None:
    """The ticket leaves the agency's hands without an answer (rejected, merged)."""
    ticket.next_sla_check_at = None


def on_reopened(ticket: Ticket, now: datetime) -> None:
    """A new resolve deadline from now, with the full resolve target."""
    calendar = get_calendar()
    _, resolve, _ = targets_for(ticket)
    ticket.resolve_started_at = now
    ticket.resolve_due_at = calendar.add_working_time(now, resolve)
    ticket.resolve_state = TimerState.ON_TRACK.value
    ticket.resolved_at = None
    if ticket.acknowledged_at is None:
        ticket.acknowledged_at = now
    refresh_next_check(ticket, now, calendar)
