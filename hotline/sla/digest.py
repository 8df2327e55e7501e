"""The daily digest: each agency's at-risk and overdue tickets; the supervisors' overview.

Written to the outbox as one email per recipient and day (the idempotency key holds the
date), so running it twice, by the scheduler and by hand, sends nothing twice. The states
are those the SLA sweep keeps current. It is an SLA report that notifications deliver, so it
lives in `sla` (which calls down into notifications; notifications never imports sla).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from hotline.extensions import db
from hotline.models import Agency, Category, Commune, EscalationStep, Ticket, User
from hotline.notifications.links import staff_ticket_url
from hotline.notifications.messages import local_text
from hotline.notifications.outbox import message_row, queue_messages
from hotline.sla.cycle import get_calendar
from hotline.timeutil import to_local, utcnow

log = logging.getLogger(__name__)

# States in which the agency's clocks run (a ticket waiting for the citizen is not late).
RUNNING_STATUSES = ("assigned", "acknowledged", "transfer_requested")
OPEN_STATUSES = ("assigned", "acknowledged", "waiting_citizen", "transfer_requested")
MAX_LISTED = 200  # per email; the rest is counted
WORST_CASES = 10
ON_TIME_WINDOW = timedelta(days=30)

_T = Ticket.__table__.c
_ack_running = _T.acknowledged_at.is_(None)
_res_running = _T.resolved_at.is_(None)
_overdue = or_(
    and_(_ack_running, _T.acknowledge_state == "breached"),
    and_(_res_running, _T.resolve_state == "breached"),
)
_at_risk = or_(
    and_(_ack_running, _T.acknowledge_state == "at_risk"),
    and_(_res_running, _T.resolve_state == "at_risk"),
)


@dataclass
class DigestReport:
    """What one digest run queued."""

    day: date
    skipped: str = ""
    agencies: int = 0
    messages: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _ticket_item(row: Any, communes: dict[int, str], categories: dict[int, str]) -> dict:
    overdue = (row.acknowledged_at is None and row.acknowledge_state == "breached") or (
        row.resolved_at is None and row.resolve_state == "breached"
    )
    due = row.acknowledge_due_at if row.acknowledged_at is None else row.resolve_due_at
    return {
        "code": row.code,
        "state": "overdue" if overdue else "at_risk",
        "category": categories.get(row.category_id, ""),
        "commune": communes.get(row.commune_id, ""),
        "created": local_text(row.created_at),
        "due": local_text(due),
        "url": staff_ticket_url(row.code),
    }


def _late_tickets() -> dict[int, list]:
    """Return the at-risk and overdue tickets per agency, oldest first."""
    rows = db.session.execute(
        select(
            _T.id,
            _T.code,
            _T.agency_id,
            _T.category_id,
            _T.commune_id,
            _T.created_at,
            _T.acknowledge_due_at,
            _T.acknowledge_state,
            _T.acknowledged_at,
            _T.resolve_due_at,
            _T.resolve_state,
            _T.resolved_at,
        )
        .where(_T.status.in_(RUNNING_STATUSES), or_(_overdue, _at_risk))
        .order_by(_T.created_at, _T.id)
    ).all()
    by_agency: dict[int, list] = defaultdict(list)
    for row in rows:
        by_agency[row.agency_id].append(row)
    return by_agency


def _agency_table(now: datetime) -> dict[int, dict[str, Any]]:
    """Return per agency: open, at risk, overdue, and the on-time rate over 30 days."""
    table: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"open": 0, "at_risk": 0, "overdue": 0, "answered": 0, "on_time": 0}
    )
    running = _T.status.in_(RUNNING_STATUSES)
    for agency_id, open_, overdue, at_risk in db.session.execute(
        select(
            _T.agency_id,
            func.count(),
            func.sum(case((and_(running, _overdue), 1), else_=0)),
            func.sum(case((and_(running, _at_risk, ~_overdue), 1), else_=0)),
        )
        .where(_T.status.in_(OPEN_STATUSES))
        .group_by(_T.agency_id)
    ):
        table[agency_id].update(open=open_, overdue=overdue or 0, at_risk=at_risk or 0)
    for agency_id, answered, on_time in db.session.execute(
        select(
            _T.agency_id,
            func.count(),
            func.sum(case((_T.resolve_state == "met", 1), else_=0)),
        )
        .where(_T.resolved_at >= now - ON_TIME_WINDOW, _T.agency_id.is_not(None))
        .group_by(_T.agency_id)
    ):
        table[agency_id].update(answered=answered, on_time=on_time or 0)
    return table


def _flagged_for_leadership() -> list[int]:
    """Return the tickets still overdue whose leadership step was taken for their deadline."""
    steps = EscalationStep.__table__.c
    return list(
        db.session.execute(
            select(_T.id)
            .join(EscalationStep.__table__, steps.ticket_id == _T.id)
            .where(
                steps.level == "leadership",
                _T.status.in_(RUNNING_STATUSES),
                or_(
                    and_(
                        steps.timer == "acknowledge",
                        _ack_running,
                        steps.due_at == _T.acknowledge_due_at,
                    ),
                    and_(steps.timer == "resolve", _res_running, steps.due_at == _T.resolve_due_at),
                ),
            )
            .distinct()
        ).scalars()
    )


def _recipients_by_agency(agencies: dict[int, Agency]) -> tuple[dict[int, list[str]], list[str]]:
    users = db.session.execute(
        select(User.agency_id, User.role, User.email).where(
            User.active.is_(True), User.role.in_(("agent", "agency_head", "supervisor"))
        )
    ).all()
    staff: dict[int, list[str]] = defaultdict(list)
    supervisors: list[str] = []
    for agency_id, role, email in users:
        if role == "supervisor":
            supervisors.append(email)
        elif agency_id is not None:
            staff[agency_id].append(email)
    by_agency = {
        agency_id: list(dict.fromkeys(agency.email_list() + staff.get(agency_id, [])))
        for agency_id, agency in agencies.items()
    }
    return by_agency, list(dict.fromkeys(supervisors))


def _reference() -> tuple[dict[int, Agency], dict[int, str], dict[int, str]]:
    """Return the agencies by id, and the names of the categories and communes by id."""
    agencies = {a.id: a for a in db.session.execute(select(Agency)).scalars()}
    categories: dict[int, str] = {
        cid: name for cid, name in db.session.execute(select(Category.id, Category.name_vi))
    }
    communes = {
        cid: f"{kind} {name}"
        for cid, kind, name in db.session.execute(select(Commune.id, Commune.type, Commune.name))
    }
    return agencies, categories, communes


def send_digests(
    day: date | None = None, *, now: datetime | None = None, only_working_days: bool = True
) -> DigestReport:
    """Queue the day's digests: one per agency with late tickets, one per supervisor.

    Args:
        day: the digest's date (default: today in the province).
        now: the current instant (tests, benchmarks).
        only_working_days: skip a day the calendar says is not worked (the scheduled run).

    Returns:
        What was queued; `skipped` says why nothing was.
    """
    now = now or utcnow()
    day = day or to_local(now).date()
    report = DigestReport(day=day)
    if only_working_days and not get_calendar().is_working_day(day):
        report.skipped = "not a working day"
        db.session.rollback()
        return report
    agencies, categories, communes = _reference()
    late = _late_tickets()
    table = _agency_table(now)
    flagged = set(_flagged_for_leadership())
    emails, supervisors = _recipients_by_agency(agencies)
    day_text = day.strftime("%d/%m/%Y")
    rows: list[dict] = []
    for agency_id, tickets in late.items():
        agency = agencies.get(agency_id)
        if agency is None or not agency.active:
            continue
        report.agencies += 1
        payload = _agency_payload(agency, tickets, day_text, communes, categories)
        rows += [
            message_row(
                channel="email",
                recipient=address,
                template="digest_agency",
                payload=payload,
                key=f"digest:{day.isoformat()}:{agency.code}:{address}",
                now=now,
            )
            for address in emails.get(agency_id, [])
        ]
    if supervisors:
        rows += _supervisor_rows(
            day, day_text, now, agencies, table, late, flagged, communes, categories, supervisors
        )
    report.messages = len(queue_messages(rows, send_now=False)) if rows else 0
    db.session.commit()
    report.counts = {"late": sum(len(v) for v in late.values()), "flagged": len(flagged)}
    log.info("digest %s: %s agencies, %s messages", day, report.agencies, report.messages)
    return report


def _agency_payload(
    agency: Agency, tickets: list, day_text: str, communes: dict, categories: dict
) -> dict:
    """Return an agency's digest: its first MAX_LISTED late tickets and the counts."""
    items = [_ticket_item(t, communes, categories) for t in tickets[:MAX_LISTED]]
    return {
        "locale": "vi",
        "date": day_text,
        "agency_name": agency.name,
        "tickets": items,
        "overdue": sum(1 for i in items if i["state"] == "overdue"),
        "at_risk": sum(1 for i in items if i["state"] == "at_risk"),
        "more": max(len(tickets) - MAX_LISTED, 0),
        "total": len(tickets),
    }


def _supervisor_rows(
    day, day_text, now, agencies, table, late, flagged, communes, categories, supervisors
) -> list[dict]:
    lines = []
    for agency_id, counts in table.items():
        agency = agencies.get(agency_id)
        if agency is None:
            continue
        rate = round(100 * counts["on_time"] / counts["answered"]) if counts["answered"] else None
        lines.append(
            {
                "agency": agency.name,
                "open": counts["open"],
                "at_risk": counts["at_risk"],
                "overdue": counts["overdue"],
                "answered": counts["answered"],
                "on_time_rate": rate,
            }
        )
    lines.sort(key=lambda line: (-line["overdue"], -line["at_risk"], line["agency"]))
    all_late = [t for tickets in late.values() for t in tickets]
    overdue = [t for t in all_late if _ticket_item(t, {}, {})["state"] == "overdue"]
    overdue.sort(key=lambda t: (t.created_at, t.id))

    def item(t) -> dict:
        agency = agencies.get(t.agency_id)
        return {**_ticket_item(t, communes, categories), "agency": agency.name if agency else ""}

    leadership = [item(t) for t in overdue if t.id in flagged]
    payload = {
        "locale": "vi",
        "date": day_text,
        "agencies": lines,
        "worst": [item(t) for t in overdue[:WORST_CASES]],
        "leadership": leadership[:MAX_LISTED],
        "leadership_total": len(leadership),
        "totals": {
            "open": sum(line["open"] for line in lines),
            "at_risk": sum(line["at_risk"] for line in lines),
            "overdue": sum(line["overdue"] for line in lines),
        },
    }
    return [
        message_row(
            channel="email",
            recipient=address,
            template="digest_supervisor",
            payload=payload,
            key=f"digest:{day.isoformat()}:supervisor:{address}",
            now=now,
        )
        for address in supervisors
    ]
