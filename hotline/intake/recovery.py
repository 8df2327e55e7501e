"""Nothing lost: re-enqueue routing for tickets still `received` after a queue outage."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.extensions import db
from hotline.jobs import push_job
from hotline.models import Ticket
from hotline.tickets.services import routing_job
from hotline.timeutil import utcnow

log = logging.getLogger(__name__)

# Routing normally takes well under a second: a ticket still `received` after a minute
# missed its job (Redis was down at commit time, or the job was lost).
STALE_AFTER = timedelta(minutes=1)
BATCH = 1000


def enqueue_stale_received(
    *, older_than: timedelta = STALE_AFTER, now: datetime | None = None, limit: int = BATCH
) -> int:
    """Enqueue `route_ticket` for every ticket still `received` and older than OLDER_THAN.

    Job ids are deterministic (`route-<id>`), so a ticket whose job is still queued or
    running is not queued twice.

    Args:
        older_than: how long a ticket may wait for its routing job.
        now: the current time (tests pass a fixed one).
        limit: at most this many tickets per run (the next run takes the rest).

    Returns:
        How many jobs were pushed (or found already queued).
    """
    cutoff = (now or utcnow()) - older_than
    ids = (
        db.session.execute(
            select(Ticket.id)
            .where(Ticket.status == "received", Ticket.created_at <= cutoff)
            .order_by(Ticket.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    pushed = 0
    for ticket_id in ids:
        if push_job(routing_job(ticket_id)):
            pushed += 1
    if ids:
        log.info("recovery: %d of %d waiting tickets enqueued for routing", pushed, len(ids))
    return pushed
