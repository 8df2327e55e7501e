"""What the worker must do around each job, and that it does it on RQ's public API only."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest
from flask import current_app
from prometheus_client import REGISTRY
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.utils import as_text
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from hotline.extensions import db
from hotline.jobs import PendingJob, push_job
from hotline.observability import request_id_var
from workers.worker import make_worker

WORKERS = Path(__file__).resolve().parents[2] / "workers"
# Our own packages: their underscored helpers are ours to use (and item 4's to tidy).
OWN_PACKAGES = {"hotline", "workers", "config", "tests"}


def where_am_i() -> dict:
    """A job that reports the app and the request id it runs under."""
    return {"app": current_app.name, "request_id": request_id_var.get()}


def leave_session_state() -> int:
    """A job that leaves something in its session and keeps its connection checked out."""
    db.session.info["left_by_previous_job"] = True
    db.session.execute(text("SELECT 1"))
    return db.engine.pool.checkedout()


def read_session_state() -> dict:
    """A job that reports what it finds in its session before using it."""
    return {
        "inherited": db.session.info.get("left_by_previous_job", False),
        "checked_out": db.engine.pool.checkedout(),
    }


def select_one() -> int:
    """A job that needs the database."""
    return db.session.execute(text("SELECT 1")).scalar_one()


def always_fails() -> None:
    """A job that fails."""
    raise RuntimeError("this job always fails")


def jobs_counted(func_name: str, outcome: str) -> float:
    """The JOBS metric's value for FUNC_NAME and OUTCOME (0 before its first job)."""
    labels = {"job": func_name, "outcome": outcome}
    return REGISTRY.get_sample_value("hotline_jobs_total", labels) or 0.0


def test_a_job_runs_in_the_app_context_under_its_requests_id(app, redis_conn):
    """Test that a job pushed during a request runs in the app context with that request's
    id, that a job pushed outside a request gets an id of its own, and that the worker's
    own context is left as it was."""
    token = request_id_var.set("req-42")
    try:
        assert push_job(PendingJob(f"{__name__}.where_am_i", job_id="from-a-request"))
    finally:
        request_id_var.reset(token)
    assert push_job(PendingJob(f"{__name__}.where_am_i", job_id="from-nowhere"))

    make_worker(app, ["default"]).work(burst=True)

    from_request = Job.fetch("from-a-request", connection=redis_conn)
    assert from_request.return_value() == {"app": app.name, "request_id": "req-42"}
    from_nowhere = Job.fetch("from-nowhere", connection=redis_conn)
    assert from_nowhere.return_value() == {"app": app.name, "request_id": "job-from-nowhere"}
    assert request_id_var.get() is None


def test_each_job_starts_with_a_fresh_session_and_no_connection_held(app, redis_conn):
    """Test that a job finds neither the previous job's session state nor its connection
    still checked out: the session is removed after each job."""
    queue = Queue("default", connection=redis_conn)
    db.session.remove()
    idle = db.engine.pool.checkedout()
    first = queue.enqueue(leave_session_state)
    second = queue.enqueue(read_session_state)

    make_worker(app, ["default"]).work(burst=True)

    assert first.return_value() == idle + 1  # the first job did hold a connection
    assert second.return_value() == {"inherited": False, "checked_out": idle}
    assert db.engine.pool.checkedout() == idle


def test_each_job_is_counted_by_its_outcome(app, redis_conn):
    """Test that the JOBS metric counts a job that succeeded and one that failed."""
    queue = Queue("default", connection=redis_conn)
    ok = queue.enqueue(select_one)
    failed = queue.enqueue(always_fails)
    before = jobs_counted(ok.func_name, "success"), jobs_counted(failed.func_name, "failure")

    make_worker(app, ["default"]).work(burst=True)

    after = jobs_counted(ok.func_name, "success"), jobs_counted(failed.func_name, "failure")
    assert after == (before[0] + 1, before[1] + 1)


def test_a_job_leaves_the_records_rq_keeps(app, redis_conn):
    """Test that a job run by the worker is finished with its result, out of the started
    registry and in the finished one, and the worker is idle with one job done."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue(select_one, result_ttl=300)
    worker = make_worker(app, ["default"])
    worker.work(burst=True)

    job = Job.fetch(job.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 1
    assert job.worker_name == worker.name and job.started_at <= job.ended_at
    assert StartedJobRegistry("default", connection=redis_conn).get_job_ids(cleanup=False) == []
    assert job.id in queue.finished_job_registry
    assert as_text(redis_conn.hget(worker.key, "state")) == "idle"
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


def test_a_job_gets_a_live_connection_after_the_database_dropped_the_pooled_one(
    app, redis_conn, monkeypatch
):
    """Test that a job runs when the connection the previous job returned to the pool died
    meanwhile (a database restart): the pool pings it and replaces it."""
    queue = Queue("default", connection=redis_conn)
    queue.enqueue(select_one)
    make_worker(app, ["default"]).work(burst=True)  # a connection is now in the pool
    db.session.remove()
    if db.engine.dialect.name == "postgresql":  # really end the pooled connections' backends
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
    else:  # SQLite cannot lose a connection: its ping fails once, as on a closed one
        dialect = db.engine.dialect
        real_ping = dialect.do_ping
        failures = [sqlite3.ProgrammingError("Cannot operate on a closed database.")]

        def ping_once_dead(conn):
            if failures:
                raise failures.pop()
            return real_ping(conn)

        monkeypatch.setattr(dialect, "do_ping", ping_once_dead)

    job = queue.enqueue(select_one)
    make_worker(app, ["default"]).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FINISHED and job.return_value() == 1
    if db.engine.dialect.name != "postgresql":
        assert failures == []  # the pool did ping the connection the job got


def private_uses(source: str) -> list[str]:
    """Where SOURCE reaches for an underscored (private) name of an object or a library.

    Flags every `x._name` (read, written or deleted; dunders like `__init__` are public),
    `getattr(x, "_name")` and its siblings, `x["_name"]`, and a `_name` imported from a
    package that is not ours.
    """
    found = []

    def private(name: str) -> bool:
        if len(name) < 2 or not name.startswith("_"):
            return False
        return not (name.startswith("__") and name.endswith("__"))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and private(node.attr):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if private(node.value) and node.value.isidentifier():
                found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] in OWN_PACKAGES:
                continue
            names = [a.name for a in node.names]
            if any(private(p) for p in parts) or any(private(n) for n in names):
                found.append(f"line {node.lineno}: from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] not in OWN_PACKAGES and any(private(p) for p in parts):
                    found.append(f"line {node.lineno}: import {alias.name}")
    return found


def test_the_private_name_check_finds_what_it_looks_for():
    """Test that the check below flags each way the old worker reached into RQ and
    SQLAlchemy, and leaves public names and our own helpers alone."""
    old_ways = [
        "job._status = JobStatus.FINISHED",
        "job._handle_success(ttl, pipeline=pipe)",
        "engine.pool._pre_ping = False",
        "getattr(worker, '_stopped_job_id')",
        "data['_state']",
        "from rq.worker import _signames",
        "from sqlalchemy.pool import _ConnectionRecord",
        "import rq._private",
    ]
    for line in old_ways:
        assert len(private_uses(line)) == 1, line
    public = (
        "super().__init__(queues)\nworker.handle_job_failure(job, queue)\n"
        "from hotline.redis_client import _url_parts\nx = _process_start(1)\n"
        "name = __name__\nslug = name.replace('-', '_')\n"
    )
    assert private_uses(public) == []


def test_the_worker_uses_no_private_name():
    """Test that nothing in workers/ touches a private attribute or name of RQ, SQLAlchemy
    or any other library: an upgrade must not need a re-read of their internals."""
    files = sorted(WORKERS.glob("*.py"))
    assert {"worker.py", "abandoned.py"} <= {f.name for f in files}
    found = {f.name: uses for f in files if (uses := private_uses(f.read_text(encoding="utf-8")))}
    assert found == {}
