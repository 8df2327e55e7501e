"""Unit tests for the pure SLA timer maths (hotline.sla.timers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.sla.calendar import WorkingCalendar
from hotline.sla.timers import TimerState, due_at, next_check_at, paused_time, timer_state

CALENDAR_PATH = Path(__file__).resolve().parents[2] / "config/provinces/daklak/calendar.json"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar.from_file(CALENDAR_PATH)
ONE_US = timedelta(microseconds=1)

# Monday 2 Mar 2026 08:00 with an 8-working-hour target:
# Mon 08:00–11:30 (3.5 h) + 13:30–17:00 (3.5 h) + Tue 07:30–08:30 (1 h).
START = datetime(2026, 3, 2, 8, 0, tzinfo=VN)
TARGET = timedelta(hours=8)
DUE = datetime(2026, 3, 3, 8, 30, tzinfo=VN)
AT_RISK = datetime(2026, 3, 2, 16, 0, tzinfo=VN)  # 6 h = 75 % of 8 h used


def vn(*args: int) -> datetime:
    """Build an aware datetime in Vietnam time."""
    return datetime(*args, tzinfo=VN)


def test_timer_state_values() -> None:
    """Test that TimerState is a StrEnum with the agreed string values."""
    assert [state.value for state in TimerState] == ["on_track", "at_risk", "breached", "met"]
    assert TimerState.AT_RISK == "at_risk"


def test_due_at_adds_target_in_working_time() -> None:
    """Test that due_at is start plus the target in working time."""
    assert due_at(CAL, START, TARGET) == DUE
    assert due_at(CAL, START, TARGET).tzinfo is UTC


def test_paused_time_extends_the_deadline() -> None:
    """Test that working time spent paused pushes the deadline back."""
    assert due_at(CAL, START, TARGET, paused=timedelta(hours=2)) == vn(2026, 3, 3, 10, 30)
    assert due_at(CAL, START, TARGET, paused=timedelta(hours=3)) == vn(2026, 3, 3, 11, 30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (vn(2026, 3, 2, 7, 0), TimerState.ON_TRACK),  # before the start
        (START, TimerState.ON_TRACK),
        (vn(2026, 3, 2, 12, 30), TimerState.ON_TRACK),  # lunch: 3.5 h used
        (AT_RISK - ONE_US, TimerState.ON_TRACK),
        (AT_RISK, TimerState.AT_RISK),
        (vn(2026, 3, 2, 22, 0), TimerState.AT_RISK),  # overnight: 7 h used
        (DUE - ONE_US, TimerState.AT_RISK),
        (DUE, TimerState.BREACHED),
        (vn(2026, 3, 10, 9, 0), TimerState.BREACHED),
    ],
)
def test_timer_moves_on_track_at_risk_breached(now: datetime, expected: TimerState) -> None:
    """Test that a timer is on track, at risk from 75 % of its time, breached at due."""
    assert timer_state(CAL, START, DUE, now) is expected


def test_at_risk_ratio_is_configurable() -> None:
    """Test that a different at-risk ratio moves the at-risk instant."""
    half = vn(2026, 3, 2, 13, 30)  # 3.5 h used: 43.75 % of 8 h
    assert timer_state(CAL, START, DUE, half, at_risk_ratio=0.4) is TimerState.AT_RISK
    assert timer_state(CAL, START, DUE, half, at_risk_ratio=0.5) is TimerState.ON_TRACK
    assert next_check_at(CAL, START, DUE, START, at_risk_ratio=0.5) == vn(2026, 3, 2, 14, 0)


@pytest.mark.parametrize(
    ("stopped_at", "expected"),
    [
        (vn(2026, 3, 2, 9, 0), TimerState.MET),
        (AT_RISK, TimerState.MET),
        (DUE, TimerState.MET),
        (DUE + ONE_US, TimerState.BREACHED),
    ],
)
def test_stopped_timer_is_met_or_breached(stopped_at: datetime, expected: TimerState) -> None:
    """Test that a stopped timer is met when stopped by its due time, else breached."""
    later = vn(2026, 4, 1, 9, 0)
    assert timer_state(CAL, START, DUE, later, stopped_at=stopped_at) is expected


def test_next_check_at_walks_at_risk_then_due_then_none() -> None:
    """Test that next_check_at gives the at-risk instant, then due_at, then None."""
    assert next_check_at(CAL, START, DUE, START) == AT_RISK
    assert next_check_at(CAL, START, DUE, AT_RISK - ONE_US) == AT_RISK
    assert next_check_at(CAL, START, DUE, AT_RISK) == DUE
    assert next_check_at(CAL, START, DUE, DUE - ONE_US) == DUE
    assert next_check_at(CAL, START, DUE, DUE) is None
    assert next_check_at(CAL, START, DUE, DUE + timedelta(days=3)) is None


def test_next_check_at_before_start_of_zero_target_timer() -> None:
    """Test that a zero-length timer becomes at risk at its start and breached at due."""
    start = vn(2026, 3, 2, 12, 0)  # lunch: the deadline is the 13:30 opening
    due = due_at(CAL, start, timedelta(0))
    assert due == vn(2026, 3, 2, 13, 30)
    earlier = vn(2026, 3, 2, 11, 0)
    assert timer_state(CAL, start, due, earlier) is TimerState.ON_TRACK
    assert next_check_at(CAL, start, due, earlier) == start
    assert timer_state(CAL, start, due, start) is TimerState.AT_RISK
    assert next_check_at(CAL, start, due, start) == due


def test_paused_time_counts_only_working_time() -> None:
    """Test that paused_time sums working time in pauses, open ones running to now."""
    now = vn(2026, 3, 2, 17, 30)
    intervals = [
        (vn(2026, 3, 2, 10, 0), vn(2026, 3, 2, 14, 0)),  # 1.5 h + lunch + 0.5 h
        (vn(2026, 3, 2, 16, 30), None),  # open: 0.5 h until 17:00 close
    ]
    assert paused_time(CAL, intervals, now) == timedelta(hours=2, minutes=30)
    assert paused_time(CAL, [], now) == timedelta(0)


def test_paused_time_merges_overlapping_intervals() -> None:
    """Test that overlapping or repeated pause intervals are not counted twice."""
    intervals = [
        (vn(2026, 3, 2, 8, 0), vn(2026, 3, 2, 10, 0)),
        (vn(2026, 3, 2, 9, 0), vn(2026, 3, 2, 11, 0)),
        (vn(2026, 3, 2, 9, 30), vn(2026, 3, 2, 9, 45)),
        (vn(2026, 3, 2, 11, 0), vn(2026, 3, 2, 11, 15)),
    ]
    assert paused_time(CAL, intervals, vn(2026, 3, 3, 9, 0)) == timedelta(hours=3, minutes=15)


def test_paused_time_ignores_open_pause_starting_after_now() -> None:
    """Test that an open pause starting after now contributes nothing."""
    now = vn(2026, 3, 2, 9, 0)
    assert paused_time(CAL, [(vn(2026, 3, 2, 10, 0), None)], now) == timedelta(0)


def test_paused_time_rejects_reversed_interval() -> None:
    """Test that a pause interval ending before it starts raises ValueError."""
    with pytest.raises(ValueError, match="ends before it starts"):
        paused_time(CAL, [(vn(2026, 3, 2, 10, 0), vn(2026, 3, 2, 9, 0))], vn(2026, 3, 3))


def test_pause_then_resume_extends_deadline_end_to_end() -> None:
    """Test that a deadline recomputed with paused working time moves by that amount."""
    intervals = [(vn(2026, 3, 2, 9, 0), vn(2026, 3, 2, 10, 0))]
    paused = paused_time(CAL, intervals, vn(2026, 3, 2, 12, 0))
    assert paused == timedelta(hours=1)
    assert due_at(CAL, START, TARGET, paused) == vn(2026, 3, 3, 9, 30)


@pytest.mark.parametrize("ratio", [0, -0.5, 1.5])
def test_invalid_at_risk_ratio_raises(ratio: float) -> None:
    """Test that an at-risk ratio outside (0, 1] raises ValueError."""
    with pytest.raises(ValueError, match="at_risk_ratio"):
        timer_state(CAL, START, DUE, START, at_risk_ratio=ratio)
    with pytest.raises(ValueError, match="at_risk_ratio"):
        next_check_at(CAL, START, DUE, START, at_risk_ratio=ratio)


def test_naive_datetimes_raise() -> None:
    """Test that naive instants are rejected with ValueError."""
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(CAL, naive, TARGET)
    with pytest.raises(ValueError, match="timezone-aware"):
        timer_state(CAL, START, DUE, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_check_at(CAL, START, DUE, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        paused_time(CAL, [(naive, None)], START)


# ---------------------------------------------------------------- properties

instants = st.datetimes(
    min_value=datetime(2025, 6, 1),
    max_value=datetime(2026, 12, 31),
    timezones=st.just(VN),
)
targets = st.integers(min_value=0, max_value=10 * 27_000).map(lambda s: timedelta(seconds=s))
ratios = st.sampled_from([0.5, 0.75, 0.9, 1.0])


@settings(max_examples=200, deadline=None)
@given(start=instants, target=targets, now=instants, ratio=ratios)
def test_state_changes_exactly_at_next_check(
    start: datetime, target: timedelta, now: datetime, ratio: float
) -> None:
    """Test that the state is constant until next_check_at and changes right there."""
    due = due_at(CAL, start, target)
    check = next_check_at(CAL, start, due, now, at_risk_ratio=ratio)
    state = timer_state(CAL, start, due, now, at_risk_ratio=ratio)
    if check is None:
        assert state is TimerState.BREACHED
        return
    assert check > now
    assert timer_state(CAL, start, due, check - ONE_US, at_risk_ratio=ratio) is state
    assert timer_state(CAL, start, due, check, at_risk_ratio=ratio) is not state


@settings(max_examples=200, deadline=None)
@given(start=instants, target=targets, a=instants, b=instants)
def test_state_never_goes_backwards(
    start: datetime, target: timedelta, a: datetime, b: datetime
) -> None:
    """Test that a running timer only moves forward: on track, at risk, breached."""
    order = [TimerState.ON_TRACK, TimerState.AT_RISK, TimerState.BREACHED]
    due = due_at(CAL, start, target)
    early, late = sorted((a, b))
    assert order.index(timer_state(CAL, start, due, early)) <= order.index(
        timer_state(CAL, start, due, late)
    )
