"""The worker's Redis round trips per job, and that the ones it leaves out lose no record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from redis.connection import AbstractConnection
from rq import Queue, Repeat, Retry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.suspension import resume, suspend
from rq.utils import as_text
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import workers.worker as worker_module
from hotline.extensions import db
from hotline.jobs import PendingJob, push_job
from workers.worker import make_worker


def worker_state() -> str:
    """A job that returns the state its worker shows in Redis while the job runs."""
    from rq import get_current_job

    job = get_current_job()
    return as_text(job.connection.hget(f"rq:worker:{job.worker_name}", "state"))


def always_fails() -> None:
    """A job that fails."""
    raise RuntimeError("this job always fails")


def enqueue_my_dependent() -> str:
    """A job that, while it runs, enqueues a job to run after it."""
    from rq import get_current_job

    me = get_current_job()
    child = Queue("default", connection=me.connection).enqueue(
        "workers.jobs.ping", "after my parent", depends_on=me
    )
    assert child.get_status() == JobStatus.DEFERRED
    return child.id


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Count what this process sends to Redis: one per command or pipeline."""
    sent = [0]
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent[0] += 1
        return send(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = send


def _drain_pings(app, redis_conn, count: int) -> int:
    queue = Queue("default", connection=redis_conn)
    for i in range(count):
        queue.enqueue("workers.jobs.ping", str(i))
    worker = make_worker(app, ["default"])
    with round_trips() as sent:
        worker.work(burst=True)
    assert queue.count == 0 and len(queue.finished_job_registry) == count
    redis_conn.delete(queue.finished_job_registry.key)
    return sent[0]


def test_a_job_costs_four_round_trips(app, redis_conn, monkeypatch):
    """Test that each job costs the worker four Redis round trips (RQ 3.0.0 alone: 20): take
    it, read it, start it, and the transaction that records its result."""
    monkeypatch.setattr(worker_module, "SUSPENSION_CHECK_SECONDS", 3600)
    _drain_pings(app, redis_conn, 5)  # the process's first connections and script loads
    few = _drain_pings(app, redis_conn, 5)
    many = _drain_pings(app, redis_conn, 25)
    assert (many - few) / 20 == 4


def test_a_job_leaves_every_record_rq_keeps(app, redis_conn):
    """Test that a job run by the worker is finished with its result, its start and end, its
    last heartbeat, out of the started registry, and the worker shows busy then idle."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue(worker_state, result_ttl=300)
    worker = make_worker(app, ["default"])
    worker.work(burst=True)

    job = Job.fetch(job.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "busy"
    assert job.started_at <= job.ended_at and job.last_heartbeat == job.ended_at
    assert job.worker_name == worker.name
    assert StartedJobRegistry("default", connection=redis_conn).get_job_ids(cleanup=False) == []
    assert job.id in queue.finished_job_registry
    assert as_text(redis_conn.hget(worker.key, "state")) == "idle"
    assert redis_conn.scard(worker.executions_key) == 0
    assert redis_conn.hget(worker.key, "successful_job_count") == b"1"


def test_a_failing_job_is_retried_then_failed(app, redis_conn):
    """Test that a failing job keeps RQ's retries (run again once, retries_left 0) and
    lands in the failed registry with its error."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue(always_fails, retry=Retry(max=1))
    make_worker(app, ["default"]).work(burst=True)

    job = Job.fetch(job.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FAILED and job.retries_left == 0
    assert job.id in FailedJobRegistry("default", connection=redis_conn)
    assert "this job always fails" in job.latest_result().exc_string
    assert StartedJobRegistry("default", connection=redis_conn).get_job_ids(cleanup=False) == []


def test_heartbeat_only_when_the_key_could_expire_during_a_wait(app, redis_conn):
    """Test that the worker's key is extended only when it would not outlive the longest
    blocking wait for a job, and then lives longer than that wait."""
    worker = make_worker(app, ["default"])
    worker.register_birth()
    try:
        with round_trips() as sent:
            worker.heartbeat()
        assert sent[0] == 1  # three commands, one round trip
        assert redis_conn.ttl(worker.key) > worker.dequeue_timeout
        with round_trips() as sent:
            worker.heartbeat()
        assert sent[0] == 0
        # As if the worker had waited for a job almost a whole dequeue timeout.
        worker._alive_until = time.monotonic() + 30
        redis_conn.expire(worker.key, 30)
        with round_trips() as sent:
            worker.heartbeat()
        assert sent[0] == 1
        assert redis_conn.ttl(worker.key) > worker.dequeue_timeout
    finally:
        worker.register_death()


def test_a_suspended_worker_takes_no_job(app, redis_conn):
    """Test that `rq suspend` still stops a worker before it takes a job."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue("workers.jobs.ping", "suspended")
    suspend(redis_conn)
    try:
        make_worker(app, ["default"]).work(burst=True)
        assert job.get_status(refresh=True) == JobStatus.QUEUED and queue.count == 1
    finally:
        resume(redis_conn)
    make_worker(app, ["default"]).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FINISHED


@pytest.mark.parametrize("finished", [True, False])
def test_a_job_id_is_pushed_again_once_its_job_ended(app, redis_conn, finished):
    """Test that the after-commit push skips a job id while its job waits, and pushes it
    again once that job has finished."""
    queue = Queue("default", connection=redis_conn)
    assert push_job(PendingJob("workers.jobs.ping", ("first",), job_id="same-id"))
    if finished:
        make_worker(app, ["default"]).work(burst=True)
    assert push_job(PendingJob("workers.jobs.ping", ("second",), job_id="same-id"))
    assert queue.job_ids == ["same-id"]
    job = Job.fetch("same-id", connection=redis_conn)
    assert job.args == (("second",) if finished else ("first",))


def _backend_pid() -> int | None:
    if db.engine.dialect.name != "postgresql":
        return None
    return db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_is_pinged_only_after_sitting_idle(app, monkeypatch):
    """Test that the worker's pool does not ping a connection the previous job returned a
    moment ago, and pings one that sat unused (SQLAlchemy's pool_pre_ping pings both)."""
    make_worker(app, ["default"])
    pings = []
    dialect = db.engine.dialect
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))
    for _ in range(3):  # back-to-back jobs
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    assert pings == []
    monkeypatch.setattr(worker_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    db.session.execute(text("SELECT 1"))
    db.session.remove()
    assert pings == [1]


def test_a_dead_idle_connection_is_replaced_before_use(app, monkeypatch):
    """Test that a pooled connection that died while idle (database restarted) is replaced
    at checkout, so the job that gets it runs."""
    make_worker(app, ["default"])
    db.session.execute(text("SELECT 1"))
    pid = _backend_pid()
    db.session.remove()
    dialect = db.engine.dialect
    if pid is not None:  # PostgreSQL: really end the pooled connections' backends
        admin = create_engine(db.engine.url, poolclass=NullPool)
        with admin.connect() as other:
            ended = other.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            assert any(ended)
        admin.dispose()
    else:  # SQLite cannot lose a connection: its ping fails once instead
        real_ping = dialect.do_ping
        failures = [ConnectionError("connection lost")]

        def ping_once_dead(conn):
            if failures:
                raise failures.pop()
            return real_ping(conn)

        monkeypatch.setattr(dialect, "do_ping", ping_once_dead)
    monkeypatch.setattr(worker_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert db.session.execute(text("SELECT 1")).scalar_one() == 1
    if pid is not None:
        assert _backend_pid() != pid


def test_a_dependent_enqueued_before_its_parent_ran_runs_after_it(app, redis_conn):
    """Test that a job waiting for another (RQ's depends_on) runs once its parent finished."""
    queue = Queue("default", connection=redis_conn)
    parent = queue.enqueue("workers.jobs.ping", "parent")
    child = queue.enqueue("workers.jobs.ping", "child", depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    make_worker(app, ["default"]).work(burst=True)
    assert parent.get_status(refresh=True) == JobStatus.FINISHED
    assert child.get_status(refresh=True) == JobStatus.FINISHED


def test_a_dependent_enqueued_while_its_parent_runs_is_not_lost(app, redis_conn):
    """Test that a dependent registered while its parent runs (the parent had none when it
    started, so its result is recorded without RQ's watch) is released and runs."""
    queue = Queue("default", connection=redis_conn)
    parent = queue.enqueue(enqueue_my_dependent)
    make_worker(app, ["default"]).work(burst=True)
    child = Job.fetch(parent.return_value(), connection=redis_conn)
    assert child.get_status() == JobStatus.FINISHED
    assert child.return_value()["pong"] == "after my parent"


def test_a_repeated_job_runs_again(app, redis_conn):
    """Test that RQ's repeats still work (the job is enqueued again after its success)."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue("workers.jobs.ping", "again", repeat=Repeat(times=2))
    make_worker(app, ["default"]).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.repeats_left == 0 and len(job.results()) == 3
