"""Tests of the job plumbing: enqueue after commit, the worker's app context, job paths."""

from __future__ import annotations

from importlib import import_module

import pytest
from rq import Queue

from hotline.extensions import db
from hotline.jobs import JOB_PATHS, enqueue_after_commit
from hotline.models import Agency
from workers.worker import make_worker


def test_every_job_path_resolves():
    """Test that every dotted path the app enqueues names a callable in workers."""
    for name, path in JOB_PATHS.items():
        module, _, attr = path.rpartition(".")
        assert callable(getattr(import_module(module), attr)), name


def test_job_is_pushed_only_after_commit(redis_conn):
    """Test that a job enqueued in a transaction is invisible until the commit, then queued."""
    queue = Queue("default", connection=redis_conn)
    db.session.add(Agency(code="tmp-agency", name="Tạm", kind="department"))
    enqueue_after_commit(db.session, "ping", "after-commit", job_id="ping-after-commit")
    db.session.flush()
    assert queue.count == 0
    db.session.commit()
    assert queue.job_ids == ["ping-after-commit"]
    db.session.delete(db.session.query(Agency).filter_by(code="tmp-agency").one())
    db.session.commit()


def test_rolled_back_job_is_never_pushed(redis_conn):
    """Test that a rollback discards the jobs its transaction collected."""
    enqueue_after_commit(db.session, "ping", "rolled-back")
    db.session.rollback()
    db.session.commit()
    assert Queue("default", connection=redis_conn).count == 0


def test_worker_runs_jobs_in_the_app_context(app, redis_conn):
    """Test that the real worker class runs a job inside the app context and records its result."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue("workers.jobs.ping", "test")
    worker = make_worker(app, ["default"])
    worker.work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value()["pong"] == "test"
    assert job.return_value()["app"] == app.name


@pytest.mark.parametrize("name", ["ping"])
def test_deterministic_job_id_is_not_pushed_twice(redis_conn, name):
    """Test that pushing the same work twice under one job id leaves one queued job."""
    for _ in range(2):
        enqueue_after_commit(db.session, name, job_id="same-work")
        db.session.commit()
    assert Queue("default", connection=redis_conn).job_ids == ["same-work"]
