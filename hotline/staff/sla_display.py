"""What a queue row says about a ticket's deadline: the running timer's state and time left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _

from hotline.models import AGENCY_STATUSES, Ticket
from hotline.province import province_json
from hotline.province.files import working_day_minutes
from hotline.sla.calendar import WorkingCalendar

# Beyond this many calendar days, counting working time day by day is not worth it for a
# list: such a deadline is shown in days.
EXACT_SPAN = timedelta(days=45)


@dataclass(frozen=True)
class Deadline:
    """The running timer of a ticket, as a row shows it."""

    timer: str  # acknowledge | resolve
    state: str | None
    due_at: datetime
    text: str


def _duration(delta: timedelta) -> str:
    """Working time as people count it: working days (of the office hours), hours, minutes."""
    day = working_day_minutes(province_json("calendar.json")) or 8 * 60
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, day)
    hours, minutes = divmod(minutes, 60)
    if days:
        if hours:
            return _("%(d)d ngày %(h)d giờ làm việc", d=days, h=hours)
        return _("%(d)d ngày làm việc", d=days)
    if hours and minutes:
        return _("%(h)d giờ %(m)d phút", h=hours, m=minutes)
    if hours:
        return _("%(h)d giờ", h=hours)
    return _("%(m)d phút", m=minutes)


def running_deadline(ticket: Ticket, now: datetime, calendar: WorkingCalendar) -> Deadline | None:
    """Return the ticket's running deadline with the working time left (or overdue), if any."""
    if ticket.status not in AGENCY_STATUSES or ticket.due_at is None:
        return None
    if ticket.acknowledged_at is None and ticket.acknowledge_due_at is not None:
        timer, state = "acknowledge", ticket.acknowledge_state
    else:
        timer, state = "resolve", ticket.resolve_state
    due = ticket.due_at
    if ticket.status == "waiting_citizen":
        return Deadline(timer, state, due, _("Tạm dừng, chờ người dân bổ sung"))
    if abs(due - now) > EXACT_SPAN:
        days = abs(due - now).days
        text = _("còn %(n)d ngày", n=days) if due > now else _("quá hạn %(n)d ngày", n=days)
        return Deadline(timer, "breached" if due <= now else state, due, text)
    left = calendar.working_time_between(now, due)
    if due <= now:
        return Deadline(timer, "breached", due, _("quá hạn %(d)s", d=_duration(-left)))
    return Deadline(timer, state, due, _("còn %(d)s", d=_duration(left)))
