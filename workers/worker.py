"""The RQ worker: the app is built once per worker process, every job runs in its context.

`AppWorker` is RQ's `SimpleWorker` (jobs run in the worker's own process, no fork) with
four additions, each through a public method of RQ's worker:

- `perform_job`: the job runs inside `app.app_context()`, its log lines carry the id of the
  request that enqueued it (`job.meta["request_id"]`), its outcome is counted in the JOBS
  metric, and the database session is removed when it ends, so no job inherits another's.
- `handle_job_failure`: the traceback RQ keeps for a failed job is scrubbed of personal data.
- `run_maintenance_tasks`: besides RQ's own sweep, the jobs of this host's dead workers are
  handed back at once (`workers.abandoned`); the sweep runs every `MAINTENANCE_INTERVAL`.
- the app's logging: RQ's "Job OK" line, which repeats the line before it, is dropped.

Why not fork: RQ's default `Worker` forks a child per job, and a child cannot reuse the
parent's database and Redis connections, so each job would pay a fork and new connections
(bench/worker_throughput.py measures the three designs; the README has the figures). The
price of not forking is that a job that crashes the interpreter takes the worker down with
it: the process manager restarts it, and the new worker's first maintenance sweep hands the
job back. RQ's documentation warns that a SimpleWorker sends no heartbeat while a job runs:
when a job starts, RQ sets the worker's and the job's keys to outlive the job's timeout, so a
job within its timeout is never taken for abandoned.

Everything else is RQ's own code, unchanged: about 20 Redis round trips per trivial job in
rq 3.0.0 (an earlier version of this module re-implemented eight of RQ's methods to make it
4, and had to be re-read at every RQ upgrade). The database connection is pinged at each
checkout (the app's `pool_pre_ping`), so a job never gets a connection that died meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.registry import StartedJobRegistry

from hotline.extensions import db
from hotline.log_privacy import scrub
from hotline.observability import JOBS, request_id_var
from workers.abandoned import fail_jobs_of_dead_workers

log = logging.getLogger(__name__)

# RQ sweeps its registries (abandoned jobs, the scheduler's lock) every 10 minutes by
# default; a minute keeps a dead worker's jobs and a lost scheduler from waiting long.
MAINTENANCE_INTERVAL = 60


class RepeatedJobLine(logging.Filter):
    """Drops RQ's "Job OK" line: "Successfully completed ... in 0.004s" says it just before.

    Matched on RQ's wording: should a new RQ word it differently, the line simply comes back.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and "Job OK" in record.getMessage())


REPEATED_JOB_LINE = RepeatedJobLine()


class AppWorker(SimpleWorker):
    """A SimpleWorker whose jobs run inside `app.app_context()`."""

    # Two log lines per job (taken; completed with its duration), not three: "result is
    # kept for 300 seconds" says nothing the job's options don't.
    log_result_lifespan = False

    def __init__(self, *args: Any, app: Flask, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        """Run JOB as RQ does, inside the app context and under its request's id."""
        token = request_id_var.set((job.meta or {}).get("request_id") or f"job-{job.id}")
        ok = False
        try:
            with self.app.app_context():
                try:
                    ok = super().perform_job(job, queue, execution)
                finally:
                    # A job never inherits the previous job's session, nor holds a
                    # connection while the worker waits for the next job.
                    db.session.remove()
        finally:
            JOBS.labels(job.func_name, "success" if ok else "failure").inc()
            request_id_var.reset(token)
        return ok

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: StartedJobRegistry | None = None,
        exc_string: str = "",
        execution: Execution | None = None,
    ) -> None:
        """RQ's failure handling, with the traceback it stores scrubbed of personal data.

        RQ keeps a failed job's traceback in Redis for the job's failure TTL (a week here),
        where the dashboard and `rq info` read it. An exception's message can quote the
        citizen's data (PostgreSQL's "Failing row contains (...)", a provider refusing a
        number): the same scrub as the log lines' is applied before it is kept.

        Every failure RQ's worker records goes through this method (a job that raised or
        timed out, a job stuck in RQ's intermediate queue, `workers.abandoned`'s hand-back),
        with the text to keep as `exc_string` (a public method, documented in its docstring,
        not in RQ's guide). RQ's exception handlers (`Worker(exception_handlers=...)`) cannot
        do this: they are given the exception, not the text RQ then formats and stores, and
        RQ stores it unless told not to store failures at all.
        """
        super().handle_job_failure(
            job, queue, started_job_registry, exc_string=scrub(exc_string), execution=execution
        )

    def run_maintenance_tasks(self) -> None:
        """RQ's maintenance, then hand back the jobs of this host's dead workers."""
        super().run_maintenance_tasks()
        try:
            fail_jobs_of_dead_workers(self)
        except Exception:  # noqa: BLE001 - a sweep that fails must not stop the worker
            log.exception("could not check for dead workers")


def make_worker(
    app: Flask, queue_names: list[str] | None = None, name: str | None = None
) -> AppWorker:
    """Return a worker on the app's Redis listening to QUEUE_NAMES (priority order)."""
    connection = app.extensions["hotline_redis"]
    rq_log = logging.getLogger("rq.worker")
    if REPEATED_JOB_LINE not in rq_log.filters:
        rq_log.addFilter(REPEATED_JOB_LINE)
    names = queue_names or list(app.config["RQ_QUEUES"])
    queues = [Queue(n, connection=connection) for n in names]
    return AppWorker(
        queues,
        connection=connection,
        app=app,
        name=name,
        maintenance_interval=MAINTENANCE_INTERVAL,
    )
