"""Background jobs: Redis, RQ queues, and enqueueing only after the database commit.

`hotline` never imports `workers`: jobs are enqueued by dotted path, and a test resolves
every path in `JOB_PATHS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.utils import as_text
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from hotline.observability import request_id_var

log = logging.getLogger(__name__)

# Every job the app enqueues, by dotted path (resolved by a test).
JOB_PATHS = {
    "route_ticket": "workers.jobs.route_ticket",
    "send_outbox_message": "workers.jobs.send_outbox_message",
    "recover_received": "workers.jobs.recover_received",
    "sla_sweep": "workers.jobs.sla_sweep",
    "send_digests": "workers.jobs.send_digests",
    "flush_outbox": "workers.jobs.flush_outbox",
    "ping": "workers.jobs.ping",
    "fetch_recording": "workers.jobs.fetch_recording",
    "recover_recordings": "workers.jobs.recover_recordings",
}


@dataclass
class PendingJob:
    """A job waiting for its transaction to commit."""

    path: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    job_id: str | None = None
    retry: int = 3
    # The id was never used before (e.g. derived from a row created in this transaction):
    # no need to ask Redis whether the same job is already waiting.
    fresh: bool = False


def redis_connection() -> Redis:
    """Return the app's Redis client."""
    return current_app.extensions["hotline_redis"]


def get_queue(name: str = "default") -> Queue:
    """Return the RQ queue NAME on the app's Redis."""
    return Queue(name, connection=redis_connection())


def enqueue_after_commit(
    session: Session | scoped_session[Any],
    name: str,
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: int = 3,
    fresh: bool = False,
    **kwargs: Any,
) -> None:
    """Push job NAME once SESSION's transaction commits; forget it if it rolls back.

    Args:
        session: the SQLAlchemy session whose commit releases the job (`db.session`, the
            scoped session, stands for the current one).
        name: a key of JOB_PATHS.
        *args: positional arguments of the job (ids and plain values).
        queue: the RQ queue name.
        job_id: a deterministic id, so a second push of the same work is a no-op.
        retry: how many times RQ retries a failing job (with back-off).
        fresh: JOB_ID is new (made from a row inserted in this transaction), so the check
            for the same job already waiting is skipped: one round trip to Redis less.
        **kwargs: keyword arguments of the job.
    """
    defer_job(session, PendingJob(JOB_PATHS[name], args, kwargs, queue, job_id, retry, fresh))


def defer_job(session: Session | scoped_session[Any], job: PendingJob) -> None:
    """Push JOB once SESSION's transaction commits; forget it if it rolls back."""
    current: Session = session() if isinstance(session, scoped_session) else session
    if not current.in_transaction():
        # Begin the transaction now, so a rollback before any SQL still discards the job.
        current.connection()
    current.info.setdefault("pending_jobs", []).append(job)


_WAITING_STATES = ("queued", "started", "deferred", "scheduled")


def _already_waiting(queue: Queue, job_id: str) -> bool:
    # Two fields of the job's hash, not the whole job (`fetch_job` reads and parses all of
    # it): this runs after the commit of every routed ticket that emails its agency.
    status, origin = queue.connection.hmget(Job.key_for(job_id), ["status", "origin"])
    return (
        origin is not None
        and as_text(origin) == queue.name
        and status is not None
        and as_text(status) in _WAITING_STATES
    )


def push_jobs(jobs: list[PendingJob]) -> int:
    """Enqueue JOBS now, all in one Redis pipeline; return how many are queued.

    A job with a deterministic id that is not `fresh` is skipped while the same job is
    still waiting or running. When Redis cannot be reached nothing is queued, the failure
    is logged, and 0 is returned: the rows are stored and recovery jobs pick them up.
    """
    if not jobs:
        return 0
    try:
        conn = redis_connection()
        timeout = current_app.config.get("JOB_TIMEOUT", 300)
        meta = {"request_id": request_id_var.get()}
        pipe = conn.pipeline()
        queued = 0
        for job in jobs:
            queue = Queue(job.queue, connection=conn)
            if job.job_id and not job.fresh and _already_waiting(queue, job.job_id):
                queued += 1
                continue
            queue.enqueue_call(
                job.path,
                args=job.args,
                kwargs=job.kwargs,
                timeout=timeout,
                result_ttl=300,
                failure_ttl=7 * 24 * 3600,
                job_id=job.job_id,
                meta=meta,
                retry=Retry(max=job.retry, interval=[5, 30, 120]) if job.retry else None,
                pipeline=pipe,
            )
            queued += 1
        pipe.execute()
        return queued
    except Exception as exc:  # Redis down: the row is stored; recovery jobs pick it up.
        log.warning("could not enqueue %s: %s", ", ".join(j.path for j in jobs), type(exc).__name__)
        return 0


def push_job(job: PendingJob) -> bool:
    """Enqueue JOB now; return False (and log) when Redis cannot be reached."""
    return push_jobs([job]) == 1


@event.listens_for(Session, "after_commit")
def _push_pending_jobs(session: Session) -> None:
    jobs = session.info.pop("pending_jobs", None)
    if not jobs or not has_app_context():
        return
    push_jobs(jobs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_jobs(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("pending_jobs", None)
