"""The RQ worker: the app is built once per worker process, every job runs in its context.

We use RQ's non-forking `SimpleWorker`, chosen by measurement (bench/worker_throughput.py,
rq 3.0.0, 2 cores, trivial jobs): a forking worker building the app in each job ran ~18 jobs/s,
a forking worker with the app preloaded before forking ~34/s, this worker ~320/s. The price
of not forking is that a crashing job takes the worker process down with it: the process
manager restarts it, and `workers.abandoned` hands the job it held back at once (RQ alone
would wait for the job timeout plus a minute, then for its next registry sweep).

Round trips to Redis are most of what RQ costs per job (bench/routing_throughput.py: RQ
3.0.0's SimpleWorker makes 20 per trivial job, each a wake-up of Redis and of this process on
a small machine). `AppWorker` makes 4 (take the job, read it, start it, record its result)
and keeps every record RQ keeps: a heartbeat is sent when the worker's key would otherwise
expire during the longest wait for a job (RQ sends three per job), the state is written when
it changes ("idle" rides with the job's result), the two pipelines that start a job are one,
the job's end heartbeat travels with its result, the job's dependents are counted inside the
result's transaction instead of watched and read before it (see `handle_job_success`), and
`rq suspend` is looked at once a second rather than before every job. The database
connection is pinged only after it sat unused (`ping_after_idle`).
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from flask import Flask
from redis.client import Pipeline
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.rate_limit import release_slot
from rq.registry import StartedJobRegistry
from rq.repeat import Repeat
from rq.utils import now
from rq.worker import WorkerStatus
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from hotline.extensions import db
from hotline.log_privacy import scrub
from hotline.observability import JOBS, request_id_var
from workers.abandoned import fail_jobs_of_dead_workers

log = logging.getLogger(__name__)

# RQ sweeps its registries (abandoned jobs, the scheduler's lock) every 10 minutes by
# default; a minute keeps a dead worker's jobs and a lost scheduler from waiting long.
MAINTENANCE_INTERVAL = 60
# How often a busy worker looks whether `rq suspend` was run (RQ: before every job).
SUSPENSION_CHECK_SECONDS = 1.0
# A pooled database connection unused for this long is pinged before a job gets it.
PING_AFTER_IDLE_SECONDS = 5.0


class _IdlePing:
    """Pings a pooled connection at checkout only when it sat unused for a while.

    The app's `pool_pre_ping` pings at every checkout, and the worker checks its connection
    out anew for every job (`db.session.remove()` after each): one more round trip to the
    database per job. A connection the previous job returned a moment ago is alive; one that
    waited `PING_AFTER_IDLE_SECONDS` (a database restart meanwhile) is pinged, and when the
    ping fails the pool's connections are all replaced, as `pool_pre_ping` does. Were the
    database to restart in the instant between two jobs, the next job would fail on its first
    statement, the pool would be replaced, and RQ would retry the job.
    """

    def __init__(self, engine: Engine):
        self.dialect = engine.dialect

    def checkin(self, dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["hotline_returned_at"] = time.monotonic()

    def checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get("hotline_returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return  # a new connection (info is emptied on reconnect), or one just used
        try:
            self.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: the connection is unusable
            raise exc.InvalidatePoolError(f"ping failed: {error}") from error


_IDLE_PINGS: weakref.WeakKeyDictionary[Engine, _IdlePing] = weakref.WeakKeyDictionary()


def ping_after_idle(engine: Engine) -> None:
    """Make ENGINE's pool ping a connection only after `PING_AFTER_IDLE_SECONDS` unused."""
    if engine in _IDLE_PINGS:
        return
    pinger = _IDLE_PINGS[engine] = _IdlePing(engine)
    # pool_pre_ping has no public switch once the engine exists. Listeners are kept when
    # the pool is recreated (engine.dispose()), and so is this flag.
    engine.pool._pre_ping = False
    event.listen(engine.pool, "checkin", pinger.checkin)
    event.listen(engine.pool, "checkout", pinger.checkout)


class _RepeatedJobLine(logging.Filter):
    """Drops RQ's "Job OK" line: "Successfully completed ... in 0.004s" says it just before."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            record.levelno == logging.INFO
            and isinstance(args, tuple)
            and len(args) == 4
            and "Job OK" in str(args[2])
        )


_REPEATED_JOB_LINE = _RepeatedJobLine()


class AppWorker(SimpleWorker):
    """A SimpleWorker whose jobs run inside `app.app_context()`, with RQ's repeats left out."""

    # Two log lines per job (taken; completed with its duration), not four: each JSON line
    # costs ~35 µs, and "result is kept for 300 seconds" says nothing the job's options don't.
    log_result_lifespan = False

    def __init__(self, *args: Any, app: Flask, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.app = app
        # Until when (monotonic) the worker's key lives after the last heartbeat sent.
        self._alive_until = 0.0
        # The state last written to Redis (None: unknown, write the next one).
        self._state_sent: str | None = None
        self._next_suspension_check = 0.0
        # The job `prepare_execution` started (RQ's prepare_job_execution then does nothing).
        self._started_job_id: str | None = None
        # The job that had no dependents when it started (see handle_job_success).
        self._lean_success_job_id: str | None = None

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            fail_jobs_of_dead_workers(self)
        except Exception:  # noqa: BLE001 - a sweep that fails must not stop the worker
            log.exception("could not check for dead workers")

    # --- fewer round trips (RQ 3.0.0's methods, the repeats left out) --------------------

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """Extend the worker's key, unless it outlives the longest wait for a job anyway.

        RQ calls this before every dequeue and after every job, three commands each time.
        A heartbeat riding in a pipeline (the suspension check, a job start when the key
        might not outlive the job) is written for at least the idle TTL, so the others are
        needed only when the worker has waited a whole `dequeue_timeout` since.
        """
        idle_ttl = self.worker_ttl + 60
        if pipeline is not None:
            timeout = max(timeout or idle_ttl, idle_ttl)
            super().heartbeat(timeout, pipeline=pipeline)
            self._alive_until = time.monotonic() + timeout
            return
        timeout = timeout or idle_ttl
        if self._alive_until - time.monotonic() > self.worker_ttl:
            return  # a blocking dequeue (worker_ttl - 15 s) ends well before the key expires
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipeline=pipe)
            pipe.execute()
        self._alive_until = time.monotonic() + timeout

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        """Write the worker's state only when it differs from the one written last."""
        if pipeline is None and state == self._state_sent:
            self._state = state
            return
        super().set_state(state, pipeline=pipeline)
        self._state_sent = state

    def check_for_suspension(self, burst: bool) -> None:
        """Look for `rq suspend` once a second (and at start), not before every job."""
        if time.monotonic() < self._next_suspension_check:
            return
        super().check_for_suspension(burst)
        self._next_suspension_check = time.monotonic() + SUSPENSION_CHECK_SECONDS

    def prepare_execution(self, job: Job) -> Execution:
        """Register the job's execution and start the job, in one transaction (RQ: two).

        What RQ's `prepare_job_execution` writes (heartbeats, status "started", out of the
        intermediate queue) goes with the execution's registration, so a worker that dies
        after this leaves a started job with its execution: `workers.abandoned` hands it back.
        """
        # As RQ's perform_job decides it: with one queue, its intermediate queue is ours.
        remove_from_intermediate_queue = len(self.queues) == 1
        heartbeat_ttl = self.get_heartbeat_ttl(job)
        with self.connection.pipeline() as pipe:
            execution = Execution.create(job, heartbeat_ttl, pipeline=pipe, worker_name=self.name)
            self.executions[execution.id] = execution
            self.set_state(WorkerStatus.BUSY, pipeline=pipe)
            if self._alive_until - time.monotonic() < heartbeat_ttl:
                self.heartbeat(heartbeat_ttl, pipeline=pipe)  # the key outlives the job
            # (The job's own heartbeat: prepare_for_execution writes its last_heartbeat.)
            job.prepare_for_execution(self.name, pipeline=pipe)
            pipe.persist(job.key)
            if remove_from_intermediate_queue:
                queue = Queue(job.origin, connection=self.connection)
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
            pipe.scard(job.dependents_key)
            dependents = pipe.execute()[-1]
        self._started_job_id = job.id
        self._lean_success_job_id = None if dependents else job.id
        return execution

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """Nothing left to write when `prepare_execution` started the job already."""
        if self._started_job_id != job.id:
            super().prepare_job_execution(job, remove_from_intermediate_queue)
            return
        self._started_job_id = None
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """A job that succeeded keeps its end heartbeat for its result's transaction."""
        if job.get_status(refresh=False) == JobStatus.FAILED:
            super().handle_execution_ended(job, queue, heartbeat_ttl)
            return
        job.ended_at = now()
        job.last_heartbeat = job.ended_at  # saved with the job by handle_job_success

    def handle_job_success(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: StartedJobRegistry,
        execution: Execution,
    ) -> None:
        """RQ's success transaction, without its WATCH and read of the job's dependents.

        RQ watches the job's set of dependents and reads it before its transaction: two
        round trips per job, for a feature this app does not use. A job that had no
        dependents when it started gets the same transaction with a count of its dependents
        in it; one that did, or whose count says a dependent came while it ran, gets RQ's
        own release of its dependents. No dependent is lost: an enqueuer registers one under
        WATCH of the parent job's hash, which this transaction writes (status finished), so
        a dependent registered before it is counted, and an enqueuer coming after sees the
        job finished and enqueues its job at once.
        """
        lean, self._lean_success_job_id = self._lean_success_job_id == job.id, None
        if not lean:
            super().handle_job_success(job, queue, started_job_registry, execution)
            return
        with self.connection.pipeline() as pipeline:
            self.increment_successful_job_count(pipeline=pipeline)
            self.increment_total_working_time(job.ended_at - job.started_at, pipeline)
            result_ttl = job.get_result_ttl(self.default_result_ttl)
            if result_ttl != 0:
                job._handle_success(
                    result_ttl,
                    pipeline=pipeline,
                    worker_name=self.name,
                    execution_id=execution.id,
                    execution_started_at=execution.created_at,
                    execution_ended_at=job.ended_at,
                )
            if job.repeats_left is not None and job.repeats_left > 0:
                Repeat.schedule(job, queue, pipeline=pipeline)
            else:
                job.cleanup(result_ttl, pipeline=pipeline, remove_from_queue=False)
                job._status = JobStatus.FINISHED
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.scard(job.dependents_key)
            dependents = pipeline.execute()[-1]
        if dependents:  # registered while the job ran: RQ moves and enqueues them
            queue.enqueue_dependents(job)
        release_slot(job)
        self.log.info(
            "Successfully completed %s job in %ss on worker %s",
            job.description if self.log_job_description else job.id,
            job.ended_at - job.started_at,
            self.name,
        )

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
        """
        super().handle_job_failure(
            job, queue, started_job_registry, exc_string=scrub(exc_string), execution=execution
        )

    def cleanup_execution(
        self, job: Job, pipeline: Pipeline, execution: Execution | None = None
    ) -> None:
        """RQ's cleanup, plus the worker's "idle" state in the same transaction."""
        super().cleanup_execution(job, pipeline, execution)
        self.set_state(WorkerStatus.IDLE, pipeline=pipeline)

    # --- the app around each job ---------------------------------------------------------

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
    with app.app_context():
        ping_after_idle(db.engine)
    rq_log = logging.getLogger("rq.worker")
    if _REPEATED_JOB_LINE not in rq_log.filters:
        rq_log.addFilter(_REPEATED_JOB_LINE)
    names = queue_names or list(app.config["RQ_QUEUES"])
    queues = [Queue(n, connection=connection) for n in names]
    return AppWorker(
        queues,
        connection=connection,
        app=app,
        name=name,
        maintenance_interval=MAINTENANCE_INTERVAL,
    )
