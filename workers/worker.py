"""The RQ worker: the app is built once per worker process, every job runs in its context.

We use RQ's non-forking `SimpleWorker`, chosen by measurement (bench/worker_throughput.py,
rq 3.0.0, 2 cores, trivial jobs): a forking worker building the app in each job ran ~18 jobs/s,
a forking worker with the app preloaded before forking ~34/s, this worker ~320/s. The price
of not forking is that a crashing job takes the worker process down with it: the process
manager restarts it, and `workers.abandoned` hands the job it held back at once (RQ alone
would wait for the job timeout plus a minute, then for its next registry sweep).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue

from hotline.extensions import db
from hotline.observability import JOBS, request_id_var
from workers.abandoned import fail_jobs_of_dead_workers

log = logging.getLogger(__name__)

# RQ sweeps its registries (abandoned jobs, the scheduler's lock) every 10 minutes by
# default; a minute keeps a dead worker's jobs and a lost scheduler from waiting long.
MAINTENANCE_INTERVAL = 60


class AppWorker(SimpleWorker):
    """A SimpleWorker whose jobs run inside `app.app_context()`."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.app = app

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            fail_jobs_of_dead_workers(self)
        except Exception:  # noqa: BLE001 - a sweep that fails must not stop the worker
            log.exception("could not check for dead workers")

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        # Log lines of the job carry the id of the request that enqueued it.
        token = request_id_var.set((job.meta or {}).get("request_id") or f"job-{job.id}")
        with self.app.app_context():
            ok = False
            try:
                ok = super().perform_job(job, queue, execution)
                return ok
            finally:
                JOBS.labels(job.func_name, "success" if ok else "failure").inc()
                # A job never inherits the previous job's session state.
                db.session.remove()
                request_id_var.reset(token)


def make_worker(
    app: Flask, queue_names: list[str] | None = None, name: str | None = None
) -> AppWorker:
    """Return a worker on the app's Redis listening to QUEUE_NAMES (priority order)."""
    connection = app.extensions["hotline_redis"]
    names = queue_names or list(app.config["RQ_QUEUES"])
    queues = [Queue(n, connection=connection) for n in names]
    return AppWorker(
        queues,
        connection=connection,
        app=app,
        name=name,
        maintenance_interval=MAINTENANCE_INTERVAL,
    )
