"""Working-time calendar: office hours, weekends and public holidays of one province."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from hotline.sla.calendar_config import checked_office_hours, parse_calendar

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
# A calendar with no working day in this many consecutive days is treated as broken,
# so that a misconfigured calendar raises instead of looping forever.
_MAX_IDLE_DAYS = 3660
# Per-day caches are dropped when they grow past this many entries.
_MAX_CACHED_DAYS = 50_000

Period = tuple[datetime, datetime]


def _require_aware(value: datetime, name: str) -> None:
    """Raise ValueError unless ``value`` is a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


class WorkingCalendar:
    """Office hours of one organisation, counted in its own timezone.

    Working time only runs inside the daily office-hour periods of working days.
    A day is a working day when it is listed in ``working_days`` (make-up days, which
    win over everything else), or when its weekday is a working weekday and it is
    neither in ``days_off`` nor a public holiday of ``country``.

    Office-hour periods are half-open ``[opening, closing)`` for counting, but an
    instant exactly at a closing time still counts as *inside* office hours when a
    deadline is placed there: a deadline that uses up the morning ends at 11:30, not
    at 13:30.

    Instances are immutable after construction apart from internal caches, and are
    safe to share between threads (a cache race only recomputes a value).
    """

    def __init__(
        self,
        tz: str,
        office_hours: Sequence[tuple[time, time]],
        working_weekdays: Iterable[int],
        country: str | None = None,
        days_off: Iterable[date] = (),
        working_days: Iterable[date] = (),
        day_names: Mapping[date, str] | None = None,
    ) -> None:
        """Build a calendar from plain values.

        Args:
            tz: IANA timezone name in which office hours are expressed,
                e.g. ``"Asia/Ho_Chi_Minh"``.
            office_hours: Daily ``(opening, closing)`` pairs of naive times, in
                increasing order and not overlapping.
            working_weekdays: Weekday numbers that are normally worked,
                ``0`` = Monday … ``6`` = Sunday.
            country: ISO country code for the ``holidays`` package, or ``None`` for
                no public holidays.
            days_off: Extra non-working dates (on top of public holidays).
            working_days: Make-up working dates; they are worked even on a weekend,
                a public holiday or a day in ``days_off``.
            day_names: Optional display names for dates in ``days_off`` and
                ``working_days``.

        Raises:
            ValueError: If the timezone, office hours or weekdays are invalid.
        """
        self.tz_name = tz
        self.tz = ZoneInfo(tz)
        self.office_hours: tuple[tuple[time, time], ...] = checked_office_hours(office_hours)
        weekdays = frozenset(working_weekdays)
        if not weekdays <= set(range(7)):
            raise ValueError(f"working weekdays must be within 0..6, got {sorted(weekdays)}")
        self.working_weekdays: frozenset[int] = weekdays
        self.country = country
        self.days_off: frozenset[date] = frozenset(days_off)
        self.working_days: frozenset[date] = frozenset(working_days)
        self.day_names: dict[date, str] = dict(day_names or {})
        # Holiday names come in the country's own language (for VN: Vietnamese) rather
        # than whatever the process locale suggests. Also fails early on a bad code.
        self._holiday_language: str | None = None
        if country is not None:
            self._holiday_language = holidays.country_holidays(country, years=[]).default_language
        self._holidays_by_year: dict[int, dict[date, str]] = {}
        self._periods_by_day: dict[date, tuple[Period, ...]] = {}
        self._total_by_day: dict[date, timedelta] = {}

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        """Build a calendar from the ``calendar.json`` structure.

        Args:
            data: The file's mapping; see `parse_calendar` for its keys.

        Returns:
            The calendar described by ``data``.

        Raises:
            ValueError: If a key is missing or a value is malformed, or a date is
                both a day off and a working day.
        """
        config = parse_calendar(data)
        return cls(
            tz=config.timezone,
            office_hours=config.office_hours,
            working_weekdays=config.working_weekdays,
            country=config.country,
            days_off=config.days_off,
            working_days=config.working_days,
            day_names={**config.days_off, **config.working_days},
        )

    @classmethod
    def from_file(cls, path: str | Path) -> WorkingCalendar:
        """Load a calendar from a ``calendar.json`` file.

        Args:
            path: Path of the JSON file (UTF-8).

        Returns:
            The calendar described by the file.
        """
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    # ------------------------------------------------------------------ days

    def _public_holidays(self, year: int) -> dict[date, str]:
        """Return the public holidays of ``year`` (cached per year)."""
        cached = self._holidays_by_year.get(year)
        if cached is None:
            if self.country is None:
                cached = {}
            else:
                entity = holidays.country_holidays(
                    self.country, years=year, language=self._holiday_language
                )
                cached = dict(entity.items())
            self._holidays_by_year[year] = cached
        return cached

    def is_working_day(self, d: date) -> bool:
        """Tell whether a calendar date is a working day.

        Args:
            d: The local date. An aware ``datetime`` is first converted to the
                calendar's timezone; a naive one is reduced to its date part.

        Returns:
            True when ``d`` is a make-up working day, or a working weekday that is
            neither an extra day off nor a public holiday.
        """
        if isinstance(d, datetime):
            d = (d.astimezone(self.tz) if d.utcoffset() is not None else d).date()
        if d in self.working_days:
            return True
        if d in self.days_off or d.weekday() not in self.working_weekdays:
            return False
        return d not in self._public_holidays(d.year)

    def day_name(self, d: date) -> str | None:
        """Return why a date is special (day off, make-up day, public holiday).

        Args:
            d: The local date.

        Returns:
            The configured name for ``d``, else the public-holiday name, else None.
        """
        if d in self.day_names:
            return self.day_names[d]
        return self._public_holidays(d.year).get(d)

    def periods_on(self, d: date) -> tuple[Period, ...]:
        """Return the office-hour periods of a local date as UTC instants.

        Args:
            d: The local date.

        Returns:
            ``(opening, closing)`` pairs of aware UTC datetimes, in order; empty
            on a non-working day.
        """
        cached = self._periods_by_day.get(d)
        if cached is not None:
            return cached
        periods: list[Period] = []
        if self.is_working_day(d):
            for opening, closing in self.office_hours:
                start = datetime.combine(d, opening, tzinfo=self.tz).astimezone(UTC)
                end = datetime.combine(d, closing, tzinfo=self.tz).astimezone(UTC)
                # A DST jump can squeeze a period to nothing or make it overlap.
                if periods and start < periods[-1][1]:
                    start = periods[-1][1]
                if start < end:
                    periods.append((start, end))
        result = tuple(periods)
        if len(self._periods_by_day) >= _MAX_CACHED_DAYS:
            self._periods_by_day.clear()
            self._total_by_day.clear()
        self._periods_by_day[d] = result
        self._total_by_day[d] = sum((end - start for start, end in result), _ZERO)
        return result

    def _day_total(self, d: date) -> timedelta:
        """Return the total working time of a local date."""
        total = self._total_by_day.get(d)
        if total is None:
            self.periods_on(d)
            total = self._total_by_day.get(d, _ZERO)
        return total

    def _local_date(self, at_utc: datetime) -> date:
        """Return the local calendar date of a UTC instant."""
        return at_utc.astimezone(self.tz).date()

    # ------------------------------------------------------------------ instants

    def is_working_time(self, at: datetime) -> bool:
        """Tell whether working time is running at an instant.

        Args:
            at: A timezone-aware instant.

        Returns:
            True when ``at`` lies in a half-open office period ``[opening, closing)``
            of a working day.

        Raises:
            ValueError: If ``at`` is naive.
        """
        _require_aware(at, "at")
        at_utc = at.astimezone(UTC)
        return any(
            start <= at_utc < end for start, end in self.periods_on(self._local_date(at_utc))
        )

    def next_opening(self, at: datetime) -> datetime:
        """Return the first instant at or after ``at`` when working time is running.

        Args:
            at: A timezone-aware instant.

        Returns:
            ``at`` itself (in UTC) if working time is running then, else the next
            opening time, as an aware UTC datetime.

        Raises:
            ValueError: If ``at`` is naive, or the calendar has no working day in
                the following ten years.
        """
        _require_aware(at, "at")
        at_utc = at.astimezone(UTC)
        day = self._local_date(at_utc)
        for _ in range(_MAX_IDLE_DAYS):
            for start, end in self.periods_on(day):
                if at_utc < end:
                    return max(start, at_utc)
            day += _ONE_DAY
        raise ValueError("calendar has no working time in the next ten years")

    def add_working_time(self, start: datetime, delta: timedelta) -> datetime:
        """Return the instant at which ``delta`` of working time has elapsed.

        Counting begins at ``start``, or at the next opening if ``start`` is outside
        office hours. The result always lies within office hours: a deadline that
        exactly uses up a period ends at that period's closing time. Adding zero
        returns ``start`` when it is inside a period (closing time included), else
        the next opening.

        Args:
            start: A timezone-aware instant.
            delta: Working time to add; must not be negative.

        Returns:
            The resulting instant, as an aware UTC datetime.

        Raises:
            ValueError: If ``start`` is naive, ``delta`` is negative, or the calendar
                has no working day in ten years.
        """
        _require_aware(start, "start")
        if delta < _ZERO:
            raise ValueError(f"delta must not be negative, got {delta!r}")
        cursor = start.astimezone(UTC)
        remaining = delta
        day = self._local_date(cursor)
        # First (partial) day: walk its periods from the cursor on.
        for period_start, period_end in self.periods_on(day):
            if cursor > period_end:
                continue
            if cursor < period_start:
                cursor = period_start
            available = period_end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        # Following days: skip whole days while the remainder exceeds them.
        idle_days = 0
        while True:
            day += _ONE_DAY
            total = self._day_total(day)
            if total == _ZERO:
                idle_days += 1
                if idle_days >= _MAX_IDLE_DAYS:
                    raise ValueError("calendar has no working time in ten years")
                continue
            idle_days = 0
            if remaining > total:
                remaining -= total
                continue
            for period_start, period_end in self.periods_on(day):
                available = period_end - period_start
                if remaining <= available:
                    return period_start + remaining
                remaining -= available
            raise AssertionError("unreachable: remainder fits in the day")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Return the working time elapsed in ``[a, b)``.

        Args:
            a: A timezone-aware instant.
            b: A timezone-aware instant.

        Returns:
            The working time between the two instants; negative when ``b < a``
            (``-working_time_between(b, a)``).

        Raises:
            ValueError: If ``a`` or ``b`` is naive.
        """
        _require_aware(a, "a")
        _require_aware(b, "b")
        a_utc = a.astimezone(UTC)
        b_utc = b.astimezone(UTC)
        if b_utc < a_utc:
            return -self._between_ordered(b_utc, a_utc)
        return self._between_ordered(a_utc, b_utc)

    def _between_ordered(self, a_utc: datetime, b_utc: datetime) -> timedelta:
        """Return the working time in ``[a_utc, b_utc)`` for UTC instants, a <= b."""
        first_day = self._local_date(a_utc)
        last_day = self._local_date(b_utc)
        if first_day == last_day:
            return self._clipped(first_day, a_utc, b_utc)
        total = self._clipped(first_day, a_utc, b_utc)
        day = first_day + _ONE_DAY
        while day < last_day:
            total += self._day_total(day)
            day += _ONE_DAY
        return total + self._clipped(last_day, a_utc, b_utc)

    def _clipped(self, day: date, a_utc: datetime, b_utc: datetime) -> timedelta:
        """Return the working time of ``day`` that falls inside ``[a_utc, b_utc)``."""
        total = _ZERO
        for start, end in self.periods_on(day):
            low = max(start, a_utc)
            high = min(end, b_utc)
            if low < high:
                total += high - low
        return total

    def __repr__(self) -> str:
        """Return a short description of the calendar."""
        return (
            f"WorkingCalendar(tz={self.tz_name!r}, office_hours={len(self.office_hours)} periods, "
            f"country={self.country!r}, days_off={len(self.days_off)}, "
            f"working_days={len(self.working_days)})"
        )
