"""Pure SLA timer maths: deadlines, timer states and the next instant a state changes."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

from hotline.sla.calendar import WorkingCalendar

DEFAULT_AT_RISK_RATIO = 0.75

_ZERO = timedelta(0)


def _require_aware(**instants: datetime | None) -> None:
    """Raise ValueError if any given instant is a naive datetime."""
    for name, value in instants.items():
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


class TimerState(enum.StrEnum):
    """State of one SLA timer at a given instant."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


def _check_ratio(at_risk_ratio: float) -> None:
    """Raise ValueError unless the at-risk ratio lies in (0, 1]."""
    if not 0 < at_risk_ratio <= 1:
        raise ValueError(f"at_risk_ratio must be in (0, 1], got {at_risk_ratio!r}")


def _at_risk_threshold(
    calendar: WorkingCalendar, started_at: datetime, due_at: datetime, at_risk_ratio: float
) -> timedelta:
    """Return the working time after which a timer counts as at risk."""
    allowed = max(calendar.working_time_between(started_at, due_at), _ZERO)
    return allowed * at_risk_ratio


def due_at(
    calendar: WorkingCalendar,
    start: datetime,
    target: timedelta,
    paused: timedelta = _ZERO,
) -> datetime:
    """Compute a timer's deadline.

    Args:
        calendar: The working calendar the target is measured in.
        start: Aware instant the timer started.
        target: Working time allowed by the SLA.
        paused: Working time spent paused so far; it pushes the deadline back.

    Returns:
        The deadline as an aware UTC datetime, always within office hours.

    Raises:
        ValueError: If ``start`` is naive or ``target + paused`` is negative.
    """
    return calendar.add_working_time(start, target + paused)


def timer_state(
    calendar: WorkingCalendar,
    started_at: datetime,
    due_at: datetime,
    now: datetime,
    at_risk_ratio: float = DEFAULT_AT_RISK_RATIO,
    stopped_at: datetime | None = None,
) -> TimerState:
    """Classify a timer at instant ``now``.

    A stopped timer is ``met`` when it stopped at or before its deadline, else
    ``breached``. A running timer is ``breached`` from ``due_at`` on, ``at_risk`` once
    the working time used since ``started_at`` reaches ``at_risk_ratio`` of the working
    time allowed (``working_time_between(started_at, due_at)``), else ``on_track``
    (always so before ``started_at``).

    Args:
        calendar: The working calendar the timer is measured in.
        started_at: Aware instant the timer started.
        due_at: Aware deadline of the timer.
        now: Aware instant to evaluate at (ignored for a stopped timer).
        at_risk_ratio: Share of the allowed working time after which the timer is
            at risk, in (0, 1].
        stopped_at: Aware instant the timer was stopped, or None while running.

    Returns:
        The timer's state.

    Raises:
        ValueError: If an instant is naive or ``at_risk_ratio`` is out of range.
    """
    _check_ratio(at_risk_ratio)
    _require_aware(started_at=started_at, due_at=due_at, now=now, stopped_at=stopped_at)
    if stopped_at is not None:
        return TimerState.MET if stopped_at <= due_at else TimerState.BREACHED
    if now >= due_at:
        return TimerState.BREACHED
    if now < started_at:
        return TimerState.ON_TRACK
    threshold = _at_risk_threshold(calendar, started_at, due_at, at_risk_ratio)
    if calendar.working_time_between(started_at, now) >= threshold:
        return TimerState.AT_RISK
    return TimerState.ON_TRACK


def next_check_at(
    calendar: WorkingCalendar,
    started_at: datetime,
    due_at: datetime,
    now: datetime,
    at_risk_ratio: float = DEFAULT_AT_RISK_RATIO,
) -> datetime | None:
    """Return the next instant at which a running timer's state changes.

    Args:
        calendar: The working calendar the timer is measured in.
        started_at: Aware instant the timer started.
        due_at: Aware deadline of the timer.
        now: Aware current instant.
        at_risk_ratio: Same ratio as given to :func:`timer_state`.

    Returns:
        The instant the timer becomes at risk if it is still on track, else
        ``due_at`` if not yet reached, else None (already breached). Instants are
        aware; the at-risk instant is in UTC.

    Raises:
        ValueError: If an instant is naive or ``at_risk_ratio`` is out of range.
    """
    _check_ratio(at_risk_ratio)
    _require_aware(started_at=started_at, due_at=due_at, now=now)
    if now >= due_at:
        return None
    threshold = _at_risk_threshold(calendar, started_at, due_at, at_risk_ratio)
    if threshold == _ZERO:
        # Nothing to use up: the timer is at risk as soon as it has started.
        at_risk_at = started_at
    elif calendar.working_time_between(started_at, now) < threshold:
        at_risk_at = calendar.add_working_time(started_at, threshold)
    else:
        return due_at
    return min(at_risk_at, due_at) if now < at_risk_at else due_at


def paused_time(
    calendar: WorkingCalendar,
    intervals: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
) -> timedelta:
    """Total working time spent inside pause intervals.

    Overlapping intervals are merged first so that no time is counted twice.

    Args:
        calendar: The working calendar the timer is measured in.
        intervals: ``(paused_at, resumed_at)`` pairs of aware instants;
            ``resumed_at`` is None for a pause still running, which lasts until ``now``.
        now: Aware current instant.

    Returns:
        The working time paused, never negative.

    Raises:
        ValueError: If an instant is naive or an interval ends before it starts.
    """
    _require_aware(now=now)
    spans: list[tuple[datetime, datetime]] = []
    for paused_at, resumed_at in intervals:
        _require_aware(paused_at=paused_at, resumed_at=resumed_at)
        end = now if resumed_at is None else resumed_at
        if resumed_at is not None and resumed_at < paused_at:
            raise ValueError(f"pause interval ends before it starts: {paused_at} > {resumed_at}")
        if end > paused_at:
            spans.append((paused_at, end))
    spans.sort()
    total = _ZERO
    current_start: datetime | None = None
    current_end: datetime | None = None
    for span_start, span_end in spans:
        if current_end is not None and span_start <= current_end:
            current_end = max(current_end, span_end)
            continue
        if current_start is not None and current_end is not None:
            total += calendar.working_time_between(current_start, current_end)
        current_start, current_end = span_start, span_end
    if current_start is not None and current_end is not None:
        total += calendar.working_time_between(current_start, current_end)
    return total
