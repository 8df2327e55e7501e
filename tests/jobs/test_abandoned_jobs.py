"""Tests that a job held by a worker killed with SIGKILL is handed back, not forgotten."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue, Retry
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from workers.abandoned import _process_start, fail_jobs_of_dead_workers, process_alive
from workers.worker import make_worker

ROOT = Path(__file__).resolve().parents[2]

# The worker process of the test: the real worker class, on the test database and Redis.
WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    from hotline import create_app
    from workers.worker import make_worker

    app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                      "REDIS_URL": sys.argv[2]})
    make_worker(app, ["default"]).work()
    """
)


def record_and_wait(path: str) -> int:
    """A job for these tests: note one run in PATH; the first run then hangs for a minute."""
    log = Path(path)
    runs = len(log.read_text().splitlines()) if log.exists() else 0
    with log.open("a") as handle:
        handle.write(f"run by {os.getpid()}\n")
    if runs == 0:
        time.sleep(60)  # long enough to be killed in the middle
    return runs + 1


def _start_worker(app) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WORKER_SCRIPT,
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["REDIS_URL"],
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _kill_in_the_middle(app, redis_conn, tmp_path, retry: Retry | None):
    """Enqueue the hanging job, let a real worker process start it, then SIGKILL that process."""
    queue = Queue("default", connection=redis_conn)
    log = tmp_path / "runs.txt"
    job = queue.enqueue(record_and_wait, str(log), retry=retry, job_timeout=300)
    process = _start_worker(app)
    try:
        _wait_for(lambda: job.get_status(refresh=True) == JobStatus.STARTED)
        _wait_for(lambda: log.exists())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert job.id in StartedJobRegistry("default", connection=redis_conn).get_job_ids(cleanup=False)
    return job, log, process.pid


def test_job_of_a_killed_worker_runs_again_at_once(app, redis_conn, tmp_path):
    """Test that a job left started by a SIGKILLed worker is run again by the next worker."""
    job, log, dead_pid = _kill_in_the_middle(app, redis_conn, tmp_path, Retry(max=2))

    # RQ alone would wait for the job timeout (5 min) plus a minute before noticing.
    make_worker(app, ["default"]).work(burst=True)

    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 2
    runs = log.read_text().splitlines()
    assert runs[0] == f"run by {dead_pid}" and len(runs) == 2
    assert StartedJobRegistry("default", connection=redis_conn).get_job_ids(cleanup=False) == []


def test_job_without_retries_is_failed_so_recovery_can_push_it_again(app, redis_conn, tmp_path):
    """Test that a killed job without retries leaves "started" for the failed registry."""
    from hotline.jobs import PendingJob, push_job

    job, _log, _pid = _kill_in_the_middle(app, redis_conn, tmp_path, None)
    worker = make_worker(app, ["default"])
    worker.register_birth()
    try:
        assert fail_jobs_of_dead_workers(worker) == [job.id]
    finally:
        worker.register_death()

    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "AbandonedJobError" in (job.latest_result().exc_string or "")
    assert job.id in FailedJobRegistry("default", connection=redis_conn)
    # The recovery jobs push by deterministic id; a "started" job would have been skipped.
    assert push_job(PendingJob(job.func_name, job.args, job_id=job.id, retry=0))
    assert Queue("default", connection=redis_conn).job_ids == [job.id]


def test_job_taken_but_not_started_is_handed_back(app, redis_conn):
    """Test that a job a worker took but died before running it runs again.

    RQ registers the job's execution (`prepare_execution`) before it marks the job started
    (`prepare_job_execution`): a worker killed in between leaves a job still "queued" but in
    no queue, with its execution, which the next worker hands back.
    """
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue("workers.jobs.ping", "taken", retry=Retry(max=1))
    dead = make_worker(app, ["default"])
    dead.register_birth()
    assert queue.dequeue_any([queue], None, connection=redis_conn)[0].id == job.id
    dead.prepare_execution(job)  # ... and the process was killed right here
    gone = subprocess.Popen(["true"])
    gone.wait()
    redis_conn.hset(dead.key, "pid", gone.pid)
    assert job.get_status(refresh=True) == JobStatus.QUEUED and queue.count == 0
    assert job.id in StartedJobRegistry("default", connection=redis_conn).get_job_ids(cleanup=False)

    make_worker(app, ["default"]).work(burst=True)

    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value()["pong"] == "taken"


def test_a_live_worker_keeps_its_job(app, redis_conn):
    """Test that the jobs of a worker whose process still runs are left alone."""
    queue = Queue("default", connection=redis_conn)
    busy = make_worker(app, ["default"])
    busy.register_birth()
    job = queue.enqueue("workers.jobs.ping", "busy")
    busy.prepare_execution(job)
    job.set_status(JobStatus.STARTED)
    checker = make_worker(app, ["default"])
    checker.register_birth()
    try:
        # Both run in this process: for the checker, `busy` is the process itself, alive.
        busy.pid = os.getppid()
        busy.connection.hset(busy.key, "pid", busy.pid)
        assert fail_jobs_of_dead_workers(checker) == []
        assert job.get_status(refresh=True) == JobStatus.STARTED
    finally:
        checker.register_death()
        busy.register_death()


@pytest.mark.parametrize(
    ("who", "registered_after_start", "alive"),
    [
        ("parent", 3600, True),  # registered after the process started: the same process
        ("parent", -3600, False),  # registered before the process started: the pid was reused
        ("self", 3600, False),  # our own pid under another worker's name: that worker is gone
        ("nobody", 0, False),
    ],
)
def test_process_alive(who, registered_after_start, alive):
    """Test that a missing, reused or own pid counts as a dead worker."""
    pid = {"parent": os.getppid(), "self": os.getpid(), "nobody": 0}[who]
    started = _process_start(pid) if pid else time.time()
    born = datetime.fromtimestamp(started, UTC) + timedelta(seconds=registered_after_start)
    assert process_alive(pid, born) is alive
