"""Unit tests for the working-time calendar (hotline.sla.calendar)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.sla.calendar import WorkingCalendar

CALENDAR_PATH = Path(__file__).resolve().parents[2] / "config/provinces/daklak/calendar.json"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar.from_file(CALENDAR_PATH)
WORKING_DAY = timedelta(hours=7, minutes=30)
ONE_US = timedelta(microseconds=1)

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)

any_instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([VN, UTC, ZoneInfo("Europe/Paris")]),
)
# Instants exactly at an opening or closing time, where off-by-one bugs live.
boundary_instants = st.builds(
    lambda day, at: datetime.combine(day, at, tzinfo=VN),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    st.sampled_from([time(7, 30), time(11, 30), time(13, 30), time(17, 0)]),
)
instants = st.one_of(any_instants, boundary_instants)
working_deltas = st.one_of(
    st.integers(min_value=0, max_value=30 * 27_000).map(lambda s: timedelta(seconds=s)),
    # Whole half-hours make results land exactly on opening and closing times.
    st.integers(min_value=0, max_value=30 * 15).map(lambda n: timedelta(minutes=30 * n)),
)


def vn(*args: int) -> datetime:
    """Build an aware datetime in Vietnam time."""
    return datetime(*args, tzinfo=VN)


def inside_office_hours(cal: WorkingCalendar, at: datetime) -> bool:
    """Tell whether an instant lies on a working day within a closed office period."""
    local = at.astimezone(cal.tz)
    if not cal.is_working_day(local.date()):
        return False
    return any(opening <= local.time() <= closing for opening, closing in cal.office_hours)


def reference_between(cal: WorkingCalendar, a: datetime, b: datetime) -> timedelta:
    """Independent slow count of working time in [a, b) for a zone without DST."""
    a_local = a.astimezone(cal.tz).replace(tzinfo=None)
    b_local = b.astimezone(cal.tz).replace(tzinfo=None)
    total = timedelta(0)
    day = a_local.date()
    while day <= b_local.date():
        if cal.is_working_day(day):
            for opening, closing in cal.office_hours:
                low = max(datetime.combine(day, opening), a_local)
                high = min(datetime.combine(day, closing), b_local)
                if low < high:
                    total += high - low
        day += timedelta(days=1)
    return total


# ---------------------------------------------------------------- calendar.json


def test_calendar_json_has_the_agreed_shape() -> None:
    """Test that the Đắk Lắk calendar.json has exactly the agreed keys and values."""
    data = json.loads(CALENDAR_PATH.read_text(encoding="utf-8"))
    assert set(data) == {
        "timezone",
        "office_hours",
        "working_weekdays",
        "public_holidays_country",
        "days_off",
        "working_days",
    }
    assert data["timezone"] == "Asia/Ho_Chi_Minh"
    assert data["office_hours"] == [["07:30", "11:30"], ["13:30", "17:00"]]
    assert data["working_weekdays"] == [0, 1, 2, 3, 4]
    assert data["public_holidays_country"] == "VN"
    for entry in data["days_off"] + data["working_days"]:
        assert set(entry) == {"date", "name"} and entry["name"].strip()


def test_days_off_only_adds_what_the_holidays_package_lacks() -> None:
    """Test that calendar.json days_off never repeats a public holiday of the package."""
    public = holidays.country_holidays("VN", years=2026)
    assert CAL.days_off
    assert not CAL.days_off & set(public)
    assert not CAL.working_days & CAL.days_off


def test_package_gives_the_2026_holidays_we_rely_on() -> None:
    """Test that holidays gives Tết 16–20 Feb, 27 Apr, 31 Aug, 1–2 Sep 2026 for VN."""
    public = holidays.country_holidays("VN", years=2026)
    relied_on = [date(2026, 2, day) for day in range(16, 21)]
    relied_on += [date(2026, 4, 27), date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)]
    for day in relied_on:
        assert day in public, day


# ---------------------------------------------------------------- working days


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), False),  # Tết Dương lịch
        (date(2026, 1, 2), False),  # extra day off
        (date(2026, 1, 10), True),  # make-up Saturday
        (date(2026, 1, 17), False),  # ordinary Saturday
        (date(2026, 2, 13), True),  # Friday before Tết
        (date(2026, 2, 14), False),
        (date(2026, 2, 16), False),
        (date(2026, 2, 20), False),
        (date(2026, 2, 22), False),
        (date(2026, 2, 23), True),  # first working day after Tết
        (date(2026, 4, 27), False),  # Giỗ Tổ Hùng Vương (observed)
        (date(2026, 4, 30), False),
        (date(2026, 5, 1), False),
        (date(2026, 8, 22), True),  # make-up Saturday for 31 Aug
        (date(2026, 8, 31), False),
        (date(2026, 9, 1), False),  # Quốc khánh, two days in 2026
        (date(2026, 9, 2), False),
        (date(2026, 9, 3), True),
    ],
)
def test_is_working_day_2026(day: date, expected: bool) -> None:
    """Test that is_working_day matches the 2026 Vietnamese public-sector calendar."""
    assert CAL.is_working_day(day) is expected


def test_is_working_day_converts_aware_datetimes_to_local_date() -> None:
    """Test that an aware datetime is judged by its date in the calendar's timezone."""
    # Friday 20:00 UTC is already Saturday 03:00 in Vietnam.
    assert CAL.is_working_day(datetime(2026, 3, 6, 20, 0, tzinfo=UTC)) is False
    assert CAL.is_working_day(datetime(2026, 3, 6, 9, 0, tzinfo=UTC)) is True


def test_day_name_explains_special_days() -> None:
    """Test that day_name returns configured names, package names, or None."""
    assert CAL.day_name(date(2026, 1, 10)) == "Làm bù cho ngày 02/01"
    assert CAL.day_name(date(2026, 9, 2)) == "Quốc khánh"
    assert CAL.day_name(date(2026, 3, 4)) is None


def test_working_days_override_days_off_and_holidays() -> None:
    """Test that a make-up working day wins over a weekend and a public holiday."""
    cal = WorkingCalendar(
        tz="Asia/Ho_Chi_Minh",
        office_hours=[(time(8), time(12))],
        working_weekdays={0, 1, 2, 3, 4},
        country="VN",
        days_off={date(2026, 3, 4)},
        working_days={date(2026, 9, 2), date(2026, 3, 7)},
    )
    assert cal.is_working_day(date(2026, 9, 2))
    assert cal.is_working_day(date(2026, 3, 7))
    assert not cal.is_working_day(date(2026, 3, 4))
    assert not cal.is_working_day(date(2026, 9, 1))


def test_calendar_without_country_has_no_public_holidays() -> None:
    """Test that a calendar with country None only knows weekends and listed days."""
    cal = WorkingCalendar("UTC", [(time(9), time(17))], {0, 1, 2, 3, 4}, country=None)
    assert cal.is_working_day(date(2026, 9, 2))
    assert cal.day_name(date(2026, 9, 2)) is None


# ---------------------------------------------------------------- add_working_time


def test_deadline_before_tet_lands_after_tet() -> None:
    """Test that 8 working hours from Fri 13 Feb 2026 16:00 end on Mon 23 Feb 2026."""
    result = CAL.add_working_time(vn(2026, 2, 13, 16, 0), timedelta(hours=8))
    # 1 h on Friday, then 07:30–11:30 (4 h) and 13:30–16:30 (3 h) on Monday.
    assert result == vn(2026, 2, 23, 16, 30)
    assert result.tzinfo is UTC


def test_deadline_at_morning_close_stays_at_1130() -> None:
    """Test that a deadline using up the morning exactly stays at 11:30, not 13:30."""
    assert CAL.add_working_time(vn(2026, 3, 2, 7, 30), timedelta(hours=4)) == vn(2026, 3, 2, 11, 30)
    assert CAL.add_working_time(vn(2026, 3, 2, 10, 0), timedelta(hours=1, minutes=30)) == vn(
        2026, 3, 2, 11, 30
    )
    # The next microsecond of work happens after lunch.
    assert CAL.add_working_time(vn(2026, 3, 2, 7, 30), timedelta(hours=4) + ONE_US) == vn(
        2026, 3, 2, 13, 30, 0, 1
    )


def test_deadline_at_evening_close_stays_at_1700() -> None:
    """Test that a deadline using up the afternoon exactly stays at 17:00."""
    assert CAL.add_working_time(vn(2026, 3, 6, 13, 30), timedelta(hours=3, minutes=30)) == vn(
        2026, 3, 6, 17, 0
    )


def test_lunch_break_is_not_counted() -> None:
    """Test that the 11:30–13:30 lunch break adds no working time."""
    assert CAL.add_working_time(vn(2026, 3, 2, 11, 0), timedelta(hours=1)) == vn(2026, 3, 2, 14, 0)
    assert CAL.working_time_between(vn(2026, 3, 2, 11, 0), vn(2026, 3, 2, 14, 0)) == timedelta(
        hours=1
    )
    assert CAL.working_time_between(vn(2026, 3, 2, 11, 30), vn(2026, 3, 2, 13, 30)) == timedelta(0)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (vn(2026, 3, 2, 6, 0), vn(2026, 3, 2, 7, 30)),  # before opening
        (vn(2026, 3, 2, 12, 15), vn(2026, 3, 2, 13, 30)),  # lunch
        (vn(2026, 3, 2, 17, 30), vn(2026, 3, 3, 7, 30)),  # evening
        (vn(2026, 3, 7, 10, 0), vn(2026, 3, 9, 7, 30)),  # Saturday
        (vn(2026, 2, 13, 17, 0, 0, 1), vn(2026, 2, 23, 7, 30)),  # just after close before Tết
        (vn(2026, 1, 9, 18, 0), vn(2026, 1, 10, 7, 30)),  # make-up Saturday is worked
        (vn(2026, 3, 2, 9, 15), vn(2026, 3, 2, 9, 15)),  # already inside
        (vn(2026, 3, 2, 11, 30), vn(2026, 3, 2, 11, 30)),  # exactly at close
    ],
)
def test_adding_zero_gives_next_opening(start: datetime, expected: datetime) -> None:
    """Test that adding zero outside office hours gives the next opening time."""
    assert CAL.add_working_time(start, timedelta(0)) == expected


def test_start_outside_office_hours_counts_from_next_opening() -> None:
    """Test that counting starts at the next opening when started outside office hours."""
    assert CAL.add_working_time(vn(2026, 3, 6, 20, 0), timedelta(hours=2)) == vn(2026, 3, 9, 9, 30)


def test_add_working_time_returns_utc_and_accepts_any_zone() -> None:
    """Test that the result is in UTC whatever the start's timezone."""
    start_utc = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
    result = CAL.add_working_time(start_utc, timedelta(hours=1))
    assert result.tzinfo is UTC
    assert result == vn(2026, 3, 2, 10, 0)


def test_microseconds_are_exact() -> None:
    """Test that microsecond-sized deltas are added and counted without rounding."""
    start = vn(2026, 3, 2, 9, 0, 0, 123_457)
    delta = timedelta(days=3, hours=5, seconds=17, microseconds=999_999)
    result = CAL.add_working_time(start, delta)
    assert CAL.working_time_between(start, result) == delta
    assert CAL.add_working_time(start, ONE_US) == start + ONE_US


def test_long_delta_spans_many_days() -> None:
    """Test that 30 working days from a Monday opening end 6 weeks later on Friday close."""
    result = CAL.add_working_time(vn(2026, 3, 2, 7, 30), 30 * WORKING_DAY)
    # 2 Mar – 10 Apr 2026 has 30 working days (30 Apr / 1 May come later).
    assert result == vn(2026, 4, 10, 17, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.add_working_time(datetime(2026, 3, 2, 9), timedelta(hours=1)),
        lambda: CAL.working_time_between(datetime(2026, 3, 2, 9), vn(2026, 3, 2, 10)),
        lambda: CAL.working_time_between(vn(2026, 3, 2, 9), datetime(2026, 3, 2, 10)),
        lambda: CAL.next_opening(datetime(2026, 3, 2, 9)),
        lambda: CAL.is_working_time(datetime(2026, 3, 2, 9)),
    ],
)
def test_naive_datetimes_raise(call) -> None:
    """Test that naive datetimes are rejected with ValueError."""
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_negative_delta_raises() -> None:
    """Test that adding a negative working time raises ValueError."""
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(vn(2026, 3, 2, 9), timedelta(seconds=-1))


def test_calendar_without_any_working_day_raises_instead_of_looping() -> None:
    """Test that a calendar with no working weekday raises rather than hanging."""
    cal = WorkingCalendar("UTC", [(time(9), time(17))], set())
    with pytest.raises(ValueError, match="no working time"):
        cal.add_working_time(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1))
    with pytest.raises(ValueError, match="no working time"):
        cal.next_opening(datetime(2026, 1, 1, tzinfo=UTC))


# ---------------------------------------------------------------- between / helpers


def test_working_time_between_is_negative_when_reversed() -> None:
    """Test that working_time_between(b, a) is the negation of working_time_between(a, b)."""
    a, b = vn(2026, 3, 2, 9, 0), vn(2026, 3, 4, 15, 0)
    forward = CAL.working_time_between(a, b)
    # Mon 09:00–17:00 = 6 h, Tue = 7.5 h, Wed 07:30–15:00 = 5.5 h.
    assert forward == timedelta(hours=19)
    assert CAL.working_time_between(b, a) == -forward
    assert CAL.working_time_between(a, a) == timedelta(0)


def test_working_time_between_skips_tet() -> None:
    """Test that the whole Tết break counts no working time."""
    assert CAL.working_time_between(vn(2026, 2, 13, 17, 0), vn(2026, 2, 23, 7, 30)) == timedelta(0)


def test_next_opening_and_is_working_time() -> None:
    """Test that next_opening and is_working_time treat closing times as closed."""
    assert CAL.is_working_time(vn(2026, 3, 2, 7, 30))
    assert not CAL.is_working_time(vn(2026, 3, 2, 11, 30))
    assert CAL.next_opening(vn(2026, 3, 2, 11, 30)) == vn(2026, 3, 2, 13, 30)
    assert CAL.next_opening(vn(2026, 3, 2, 9, 0)) == vn(2026, 3, 2, 9, 0)
    assert CAL.next_opening(vn(2026, 8, 21, 17, 0)) == vn(2026, 8, 22, 7, 30)


def test_periods_on_gives_utc_periods() -> None:
    """Test that periods_on lists a day's office periods in UTC, none on a day off."""
    assert CAL.periods_on(date(2026, 3, 2)) == (
        (datetime(2026, 3, 2, 0, 30, tzinfo=UTC), datetime(2026, 3, 2, 4, 30, tzinfo=UTC)),
        (datetime(2026, 3, 2, 6, 30, tzinfo=UTC), datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
    )
    assert CAL.periods_on(date(2026, 9, 2)) == ()


def test_daylight_saving_zone_counts_real_elapsed_time() -> None:
    """Test that a calendar in a DST zone counts office hours correctly across the switch."""
    paris = ZoneInfo("Europe/Paris")
    cal = WorkingCalendar("Europe/Paris", [(time(9), time(17))], {0, 1, 2, 3, 4})
    start = datetime(2026, 3, 27, 16, 0, tzinfo=paris)  # Friday before the spring switch
    result = cal.add_working_time(start, timedelta(hours=2))
    assert result == datetime(2026, 3, 30, 10, 0, tzinfo=paris)
    assert cal.working_time_between(start, result) == timedelta(hours=2)
    # An office period spanning the switch (02:00 -> 03:00) lasts 5 real hours.
    night = WorkingCalendar("Europe/Paris", [(time(0), time(6))], {6})
    sunday = datetime(2026, 3, 29, 0, 0, tzinfo=paris)
    assert night.working_time_between(sunday, sunday + timedelta(days=1)) == timedelta(hours=5)
    assert night.add_working_time(sunday, timedelta(hours=5)) == datetime(
        2026, 3, 29, 6, 0, tzinfo=paris
    )


# ---------------------------------------------------------------- from_dict


def _valid_dict() -> dict:
    """Return a minimal valid calendar dict."""
    return {
        "timezone": "Asia/Ho_Chi_Minh",
        "office_hours": [["07:30", "11:30"], ["13:30", "17:00"]],
        "working_weekdays": [0, 1, 2, 3, 4],
        "public_holidays_country": None,
        "days_off": [],
        "working_days": [],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("timezone"), "missing key 'timezone'"),
        (lambda d: d.update(office_hours=[["08:00", "12:00"], ["11:00", "17:00"]]), "overlap"),
        (lambda d: d.update(office_hours=[["12:00", "08:00"]]), "empty"),
        (lambda d: d.update(office_hours=[["8h", "12:00"]]), "invalid office-hours time"),
        (lambda d: d.update(office_hours=[]), "at least one period"),
        (lambda d: d.update(working_weekdays=[0, 7]), "within 0..6"),
        (lambda d: d.update(days_off=[{"date": "2026-13-01", "name": "x"}]), "invalid date"),
        (
            lambda d: d.update(
                days_off=[{"date": "2026-03-07", "name": "x"}],
                working_days=[{"date": "2026-03-07", "name": "y"}],
            ),
            "both as days off and working days",
        ),
    ],
)
def test_from_dict_rejects_malformed_calendars(change, message: str) -> None:
    """Test that from_dict raises a clear ValueError for malformed data."""
    data = _valid_dict()
    change(data)
    with pytest.raises(ValueError, match=message):
        WorkingCalendar.from_dict(data)


def test_from_dict_builds_equivalent_calendar() -> None:
    """Test that from_dict parses office hours, weekdays and dated lists."""
    data = _valid_dict()
    data["working_days"] = [{"date": "2026-03-07", "name": "Làm bù"}]
    cal = WorkingCalendar.from_dict(data)
    assert cal.office_hours == ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    assert cal.working_weekdays == frozenset({0, 1, 2, 3, 4})
    assert cal.working_days == frozenset({date(2026, 3, 7)})
    assert cal.day_name(date(2026, 3, 7)) == "Làm bù"


# ---------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(start=instants, delta=working_deltas)
def test_result_is_inside_office_hours_on_a_working_day(start: datetime, delta: timedelta) -> None:
    """Test that add_working_time always lands inside office hours on a working day."""
    result = CAL.add_working_time(start, delta)
    assert result.tzinfo is UTC
    assert result >= start
    assert inside_office_hours(CAL, result)


@PROPERTY_SETTINGS
@given(start=instants, d1=working_deltas, d2=working_deltas)
def test_adding_is_monotonic(start: datetime, d1: timedelta, d2: timedelta) -> None:
    """Test that a larger working delta never gives an earlier result."""
    small, large = sorted((d1, d2))
    assert CAL.add_working_time(start, small) <= CAL.add_working_time(start, large)


@PROPERTY_SETTINGS
@given(start=instants, a=working_deltas, b=working_deltas)
def test_adding_is_additive(start: datetime, a: timedelta, b: timedelta) -> None:
    """Test that add(add(s, a), b) == add(s, a + b)."""
    assert CAL.add_working_time(CAL.add_working_time(start, a), b) == CAL.add_working_time(
        start, a + b
    )


@PROPERTY_SETTINGS
@given(start=instants, delta=working_deltas)
def test_between_inverts_add(start: datetime, delta: timedelta) -> None:
    """Test that working_time_between(s, add(s, d)) == d, inside office hours or not."""
    result = CAL.add_working_time(start, delta)
    assert CAL.working_time_between(start, result) == delta
    assert CAL.working_time_between(result, start) == -delta


@PROPERTY_SETTINGS
@given(start=instants, delta=working_deltas.filter(lambda d: d > timedelta(0)))
def test_result_is_the_earliest_instant(start: datetime, delta: timedelta) -> None:
    """Test that one microsecond before the result, less than delta has been worked."""
    result = CAL.add_working_time(start, delta)
    assert CAL.working_time_between(start, result - ONE_US) == delta - ONE_US


@PROPERTY_SETTINGS
@given(start=instants, delta=working_deltas)
def test_holidays_are_skipped(start: datetime, delta: timedelta) -> None:
    """Test that no day between start and result that is a day off adds working time."""
    result = CAL.add_working_time(start, delta)
    assert CAL.is_working_day(result.astimezone(VN).date())
    day = start.astimezone(VN).date()
    while day <= result.astimezone(VN).date():
        if not CAL.is_working_day(day):
            day_start = datetime.combine(day, time(0), tzinfo=VN)
            assert CAL.working_time_between(day_start, day_start + timedelta(days=1)) == (
                timedelta(0)
            )
        day += timedelta(days=1)


@PROPERTY_SETTINGS
@given(a=instants, b=instants)
def test_between_matches_a_slow_reference(a: datetime, b: datetime) -> None:
    """Test that working_time_between agrees with an independent day-by-day count."""
    low, high = sorted((a, b))
    assert CAL.working_time_between(low, high) == reference_between(CAL, low, high)
    assert CAL.working_time_between(high, low) == -reference_between(CAL, low, high)


@PROPERTY_SETTINGS
@given(start=instants)
def test_adding_zero_equals_next_opening_unless_at_close(start: datetime) -> None:
    """Test that add(s, 0) is s at a closing time and next_opening(s) otherwise."""
    result = CAL.add_working_time(start, timedelta(0))
    local = start.astimezone(VN)
    at_close = CAL.is_working_day(local.date()) and any(
        local.time() == closing for _, closing in CAL.office_hours
    )
    assert result == (start if at_close else CAL.next_opening(start))
    assert CAL.working_time_between(start, result) == timedelta(0)
