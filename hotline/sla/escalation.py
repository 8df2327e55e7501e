"""The escalation ladder of SPEC §6, each step taken once per ticket, timer, level and deadline.

at risk -> the agency's agents; breached -> the agency's head(s) and the supervisors;
still breached two working days after the deadline -> flagged for the province's leadership
(the supervisors' digest lists these). A step is a row of `escalation_steps`, whose unique
key (ticket, timer, level, deadline) makes the insert the single point that decides whether a
step is new: messages and events follow only from rows actually inserted, so a second sweep,
or one running at the same moment, adds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Agency, Category, EscalationStep, Ticket, TicketEvent, User
from hotline.notifications.links import staff_ticket_url
from hotline.notifications.messages import local_text
from hotline.notifications.outbox import insert_ignoring_conflicts, message_row, queue_messages

LEVELS = ("at_risk", "breached", "leadership")
TIMER_LABELS = {"acknowledge": "phản hồi", "resolve": "giải quyết"}
EVENT_NOTES = {
    "at_risk": "Sắp quá hạn {timer}: đã báo cán bộ của cơ quan",
    "breached": "Quá hạn {timer}: đã báo lãnh đạo cơ quan và giám sát viên",
    "leadership": "Quá hạn {timer} hơn 2 ngày làm việc: báo cáo lãnh đạo tỉnh",
}


@dataclass(frozen=True)
class StepWanted:
    """A rung a ticket's timer stands on; taken unless it was taken before."""

    ticket_id: int
    agency_id: int | None
    category_id: int | None
    timer: str
    level: str
    due_at: datetime


@dataclass
class StepsTaken:
    """What `take_steps` did."""

    steps: int = 0
    messages: int = 0
    levels: dict[str, int] = field(default_factory=dict)


def _staff_emails(agency_ids: set[int]) -> tuple[dict[tuple[int, str], list[str]], list[str]]:
    """Return the emails of active agents and heads per (agency, role), and of supervisors."""
    users = db.session.execute(
        select(User.agency_id, User.role, User.email).where(
            User.active.is_(True),
            (User.role == "supervisor")
            | (User.role.in_(("agent", "agency_head")) & User.agency_id.in_(agency_ids)),
        )
    ).all()
    by_agency: dict[tuple[int, str], list[str]] = defaultdict(list)
    supervisors: list[str] = []
    for agency_id, role, email in users:
        if role == "supervisor":
            supervisors.append(email)
        else:
            by_agency[(agency_id, role)].append(email)
    return by_agency, supervisors


def recipients(
    level: str,
    agency: Agency | None,
    staff: dict[tuple[int, str], list[str]],
    supervisors: list[str],
) -> list[str]:
    """Return who hears of a step at LEVEL (the agency's addresses stand in for missing staff)."""
    if level == "leadership":
        return []  # shown in the supervisors' digest, not mailed one by one
    role = "agent" if level == "at_risk" else "agency_head"
    found: list[str] = []
    if agency is not None:
        found = list(staff.get((agency.id, role), [])) or agency.email_list()
    if level == "breached":
        found += supervisors
    return list(dict.fromkeys(found))  # once each, in order


def _new_steps(wanted: Sequence[StepWanted], now: datetime) -> list[StepWanted]:
    """Record the rungs of WANTED; return those not recorded before (each is taken once)."""
    table = EscalationStep.__table__
    inserted = insert_ignoring_conflicts(
        table,
        [
            {
                "ticket_id": w.ticket_id,
                "timer": w.timer,
                "level": w.level,
                "due_at": w.due_at,
                "created_at": now,
            }
            for w in wanted
        ],
        returning=[table.c.ticket_id, table.c.timer, table.c.level],
    )
    new_keys = {(r.ticket_id, r.timer, r.level) for r in inserted}
    return [w for w in wanted if (w.ticket_id, w.timer, w.level) in new_keys]


@dataclass
class _StepContext:
    """What the emails of a batch of steps name, read once for the batch."""

    codes: dict[int, str]
    agencies: dict[int, Agency]
    categories: dict[int, str]
    staff: dict[tuple[int, str], list[str]]
    supervisors: list[str]

    @classmethod
    def read(cls, steps: Sequence[StepWanted]) -> _StepContext:
        ticket_ids = {w.ticket_id for w in steps}
        agency_ids = {w.agency_id for w in steps if w.agency_id is not None}
        codes = select(Ticket.id, Ticket.code).where(Ticket.id.in_(ticket_ids))
        agencies = select(Agency).where(Agency.id.in_(agency_ids))
        categories = select(Category.id, Category.name_vi)
        staff, supervisors = _staff_emails(agency_ids)
        return cls(
            codes=dict(db.session.execute(codes).tuples().all()),
            agencies={a.id: a for a in db.session.execute(agencies).scalars()},
            categories=dict(db.session.execute(categories).tuples().all()),
            staff=staff,
            supervisors=supervisors,
        )


def _step_messages(step: StepWanted, context: _StepContext, now: datetime) -> list[dict]:
    """Return the outbox rows of STEP's emails, one per recipient its level calls for."""
    agency = context.agencies.get(step.agency_id) if step.agency_id else None
    code = context.codes.get(step.ticket_id, "")
    payload = {
        "locale": "vi",
        "code": code,
        "level": step.level,
        "timer": step.timer,
        "timer_label": TIMER_LABELS.get(step.timer, step.timer),
        "due": local_text(step.due_at),
        "agency_name": agency.name if agency else "",
        "category": context.categories.get(step.category_id, "") if step.category_id else "",
        "url": staff_ticket_url(code),
    }
    return [
        message_row(
            channel="email",
            recipient=address,
            template=f"escalation_{step.level}",
            payload=payload,
            key=f"esc:{step.ticket_id}:{step.timer}:{step.level}:"
            f"{step.due_at.isoformat()}:{address}",
            ticket_id=step.ticket_id,
            now=now,
        )
        for address in recipients(step.level, agency, context.staff, context.supervisors)
    ]


def take_steps(wanted: Sequence[StepWanted], now: datetime) -> StepsTaken:
    """Record the steps of WANTED not taken before, with their events and messages (no commit).

    Args:
        wanted: the rungs reached, as found by the sweep.
        now: the current instant.

    Returns:
        How many steps were new and how many messages they queued.
    """
    taken = StepsTaken()
    new = _new_steps(wanted, now) if wanted else []
    if not new:
        return taken
    context = _StepContext.read(new)
    events: list[dict] = []
    messages: list[dict] = []
    for step in new:
        timer_label = TIMER_LABELS.get(step.timer, step.timer)
        events.append(
            TicketEvent.row(
                step.ticket_id,
                f"sla_{step.level}",
                actor_label="sla",
                note=EVENT_NOTES[step.level].format(timer=timer_label),
                data={"timer": step.timer, "level": step.level, "due_at": step.due_at.isoformat()},
                now=now,
            )
        )
        messages += _step_messages(step, context, now)
        taken.levels[step.level] = taken.levels.get(step.level, 0) + 1
    db.session.execute(TicketEvent.__table__.insert(), events)
    # Many at once: one flush job after the commit rather than a job per email.
    taken.messages = len(queue_messages(messages, send_now=False)) if messages else 0
    taken.steps = len(new)
    return taken
