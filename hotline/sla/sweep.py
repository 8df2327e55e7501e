"""The SLA sweep: every minute, update the timers of the tickets whose next check is due.

The sweep reads only rows with `next_sla_check_at <= now` (a partial index), in batches
locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL so two sweeps share the work instead of
doing it twice. It writes the timer states and the next check with Core UPDATEs: they are
bookkeeping, not an edit, so they do not bump the ticket's version under a member of staff
who is editing it. The escalation steps it reaches are in `escalation`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from hotline.extensions import db
from hotline.models import AGENCY_STATUSES, SlaPolicy, Ticket
from hotline.sla.calendar import WorkingCalendar
from hotline.sla.cycle import (
    DEFAULT_AT_RISK_RATIO,
    get_calendar,
    leadership_at,
    timer_next_check,
    working_day,
)
from hotline.sla.escalation import StepWanted, take_steps
from hotline.sla.timers import TimerState, timer_state
from hotline.timeutil import utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 500
_T = Ticket.__table__.c
_COLUMNS = (
    _T.id,
    _T.status,
    _T.priority,
    _T.category_id,
    _T.agency_id,
    _T.sla_started_at,
    _T.acknowledge_due_at,
    _T.acknowledge_state,
    _T.acknowledged_at,
    _T.resolve_started_at,
    _T.resolve_due_at,
    _T.resolve_state,
    _T.resolved_at,
)


@dataclass
class SweepReport:
    """What one sweep did."""

    checked: int = 0
    state_changes: int = 0
    steps: int = 0
    messages: int = 0
    levels: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Timer:
    name: str  # acknowledge | resolve
    started_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None
    state: str | None


def _ratios() -> dict[tuple[int, str], float]:
    rows = db.session.execute(
        select(SlaPolicy.category_id, SlaPolicy.priority, SlaPolicy.at_risk_ratio)
    ).all()
    return {(cat, prio): ratio for cat, prio, ratio in rows}


def _levels(
    calendar: WorkingCalendar, timer: _Timer, state: TimerState, now: datetime, day: timedelta
) -> list[str]:
    """Return the ladder's levels TIMER stands on now: the current rung only, except that a
    timer past the leadership point also gets its breach step (if a sweep missed it)."""
    if state == TimerState.AT_RISK:
        return ["at_risk"]
    if state == TimerState.BREACHED and timer.due_at is not None:
        if now >= leadership_at(calendar, timer.due_at, day):
            return ["breached", "leadership"]
        return ["breached"]
    return []


def _locked_batch(now: datetime, limit: int):
    stmt = (
        select(*_COLUMNS)
        .where(_T.next_sla_check_at <= now)
        .order_by(_T.next_sla_check_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Ticket.__table__)
    return db.session.execute(stmt).all()


def sweep(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepReport:
    """Update the SLA timers of every ticket whose next check is due, and escalate.

    Args:
        now: the current instant (tests and benchmarks).
        batch_size: rows locked and committed together.

    Returns:
        Counts of what was checked, changed and escalated.
    """
    now = now or utcnow()
    calendar = get_calendar()
    day = working_day()
    ratios = _ratios()
    report = SweepReport()
    seen: set[int] = set()
    while True:
        rows = _locked_batch(now, batch_size)
        # A handled row's next check is later than now (or none), so it never comes back;
        # should one do so all the same, stop rather than loop.
        if not rows or all(row.id in seen for row in rows):
            db.session.rollback()
            break
        updates: list[dict] = []
        wanted: list[StepWanted] = []
        for row in rows:
            seen.add(row.id)
            ratio = ratios.get((row.category_id, row.priority), DEFAULT_AT_RISK_RATIO)
            change, steps = _evaluate(calendar, row, now, ratio, day)
            updates.append(change)
            wanted.extend(steps)
            if change["b_ack"] != row.acknowledge_state or change["b_res"] != row.resolve_state:
                report.state_changes += 1
        _write_timers(updates)
        taken = take_steps(wanted, now)
        db.session.commit()
        report.checked += len(rows)
        report.steps += taken.steps
        report.messages += taken.messages
        for level, count in taken.levels.items():
            report.levels[level] = report.levels.get(level, 0) + count
        if len(rows) < batch_size:
            break
    if report.checked:
        log.info(
            "sla sweep: %s checked, %s changed, %s steps, %s messages",
            report.checked,
            report.state_changes,
            report.steps,
            report.messages,
        )
    return report


def _write_timers(updates: list[dict]) -> None:
    """Write the batch's new timer states and next checks in one executemany."""
    db.session.execute(
        update(Ticket.__table__)
        .where(_T.id == bindparam("b_id"))
        .values(
            acknowledge_state=bindparam("b_ack"),
            resolve_state=bindparam("b_res"),
            next_sla_check_at=bindparam("b_next"),
        ),
        updates,
    )


def _evaluate(
    calendar: WorkingCalendar, row, now: datetime, ratio: float, day: timedelta
) -> tuple[dict, list[StepWanted]]:
    """Return the ticket's new timer states and next check, and the steps it reached."""
    timers = (
        _Timer(
            "acknowledge",
            row.sla_started_at,
            row.acknowledge_due_at,
            row.acknowledged_at,
            row.acknowledge_state,
        ),
        _Timer(
            "resolve",
            row.resolve_started_at,
            row.resolve_due_at,
            row.resolved_at,
            row.resolve_state,
        ),
    )
    states: dict[str, str | None] = {}
    steps: list[StepWanted] = []
    checks: list[datetime] = []
    # Clocks run only while an agency holds the ticket and is not waiting for the citizen.
    running = row.status in AGENCY_STATUSES and row.status != "waiting_citizen"
    for timer in timers:
        states[timer.name] = timer.state
        if not running or timer.due_at is None or timer.started_at is None:
            continue
        if timer.stopped_at is not None:
            continue
        state = timer_state(calendar, timer.started_at, timer.due_at, now, ratio)
        states[timer.name] = state.value
        for level in _levels(calendar, timer, state, now, day):
            steps.append(
                StepWanted(row.id, row.agency_id, row.category_id, timer.name, level, timer.due_at)
            )
        nxt = timer_next_check(
            calendar, timer.started_at, timer.due_at, None, state.value, now, ratio, day
        )
        if nxt is not None:
            checks.append(nxt)
    next_check = min(checks) if checks else None
    if next_check is not None and next_check <= now:
        next_check = None  # cannot happen once states are written; never loop on a row
    change = {
        "b_id": row.id,
        "b_ack": states["acknowledge"],
        "b_res": states["resolve"],
        "b_next": next_check,
    }
    return change, steps
