"""Reading a province's ``calendar.json`` into the plain values a `WorkingCalendar` is built from.

Kept apart from the calendar's arithmetic (`hotline.sla.calendar`) because it answers a
different question: not "when is the deadline?" but "is this file what an administrator meant
to write?", with an error message that names the faulty entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

__all__ = ["CalendarConfig", "checked_office_hours", "parse_calendar"]


@dataclass(frozen=True)
class CalendarConfig:
    """The values of one ``calendar.json``, checked and parsed.

    Attributes:
        timezone: IANA timezone name of the office hours.
        office_hours: daily ``(opening, closing)`` pairs of naive times.
        working_weekdays: weekday numbers normally worked (0 = Monday).
        country: ISO code for public holidays, or None.
        days_off: extra non-working dates and their names.
        working_days: make-up working dates and their names.
    """

    timezone: str
    office_hours: list[tuple[time, time]]
    working_weekdays: list[int]
    country: str | None
    days_off: dict[date, str]
    working_days: dict[date, str]


def parse_calendar(data: Mapping[str, Any]) -> CalendarConfig:
    """Check and parse the ``calendar.json`` structure.

    Args:
        data: Mapping with keys ``timezone``, ``office_hours`` (list of
            ``["HH:MM", "HH:MM"]``), ``working_weekdays``,
            ``public_holidays_country`` (optional), ``days_off`` and
            ``working_days`` (optional lists of ``{"date", "name"}``).

    Returns:
        The parsed values. Whether the office hours are ordered (`checked_office_hours`)
        and the weekdays within 0..6 is checked when the calendar is built, as it is for
        a calendar built from plain values.

    Raises:
        ValueError: If a key is missing or a value is malformed, or a date is both a day
            off and a working day.
    """
    try:
        tz = data["timezone"]
        raw_hours = data["office_hours"]
        raw_weekdays = data["working_weekdays"]
    except KeyError as exc:
        raise ValueError(f"calendar is missing key {exc.args[0]!r}") from exc
    office_hours: list[tuple[time, time]] = []
    for pair in raw_hours:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"office-hours entry {pair!r} must be [opening, closing]")
        office_hours.append((_parse_time(pair[0]), _parse_time(pair[1])))
    if not all(isinstance(day, int) and not isinstance(day, bool) for day in raw_weekdays):
        raise ValueError(f"working_weekdays must be integers, got {raw_weekdays!r}")
    days_off = _parse_dated_entries(data.get("days_off"), "days_off")
    working_days = _parse_dated_entries(data.get("working_days"), "working_days")
    both = sorted(set(days_off) & set(working_days))
    if both:
        listed = ", ".join(day.isoformat() for day in both)
        raise ValueError(f"dates listed both as days off and working days: {listed}")
    return CalendarConfig(
        timezone=tz,
        office_hours=office_hours,
        working_weekdays=list(raw_weekdays),
        country=data.get("public_holidays_country"),
        days_off=days_off,
        working_days=working_days,
    )


def checked_office_hours(
    office_hours: Iterable[tuple[time, time]],
) -> tuple[tuple[time, time], ...]:
    """Return the daily office-hour periods as a tuple, after checking they make sense.

    The calendar calls this for every way it is built (from a file or from plain values), so
    a period that is empty, overlaps the one before or carries a UTC offset never reaches
    the deadline arithmetic.

    Raises:
        ValueError: no period, an empty or unordered period, or a time with an offset.
    """
    periods = tuple((opening, closing) for opening, closing in office_hours)
    if not periods:
        raise ValueError("office_hours must contain at least one period")
    previous_end: time | None = None
    for opening, closing in periods:
        if opening.tzinfo is not None or closing.tzinfo is not None:
            raise ValueError("office-hours times must be naive (local wall-clock) times")
        if opening >= closing:
            raise ValueError(f"office-hours period {opening}-{closing} is empty")
        if previous_end is not None and opening < previous_end:
            raise ValueError("office-hours periods must be sorted and must not overlap")
        previous_end = closing
    return periods


def _parse_time(value: str) -> time:
    """Parse an ``HH:MM`` (or ``HH:MM:SS``) string into a naive time."""
    try:
        parsed = time.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid office-hours time {value!r}, expected 'HH:MM'") from exc
    if parsed.tzinfo is not None:
        raise ValueError(f"office-hours time {value!r} must not carry a UTC offset")
    return parsed


def _parse_dated_entries(entries: Any, key: str) -> dict[date, str]:
    """Parse a ``[{"date": "YYYY-MM-DD", "name": "..."}]`` list into ``{date: name}``."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError(f"{key!r} must be a list of {{'date', 'name'}} objects")
    parsed: dict[date, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or "date" not in entry:
            raise ValueError(f"each entry of {key!r} needs a 'date', got {entry!r}")
        try:
            day = date.fromisoformat(entry["date"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"invalid date {entry['date']!r} in {key!r}") from exc
        if day in parsed:
            raise ValueError(f"date {day.isoformat()} is listed twice in {key!r}")
        parsed[day] = str(entry.get("name", ""))
    return parsed
