"""Tests of the suite's own set-up (tests/conftest.py): what each xdist worker gets, CI skips."""

from __future__ import annotations

import os

import pytest

from tests.conftest import (
    check_redis_block,
    fail_skip_on_ci,
    worker_database_url,
    worker_redis_url,
)


def test_each_worker_has_its_own_postgresql_database():
    """Test that the worker id is appended to the database's name, the rest kept."""
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:5432/hotline_ci"
    assert worker_database_url(url, "gw1") == (
        "postgresql+psycopg://postgres:secret@127.0.0.1:5432/hotline_ci_gw1"
    )
    assert worker_database_url(url, "") == url  # no xdist: the database as given


def test_each_worker_has_its_own_sqlite_file():
    """Test that a SQLite file gets the worker id before its suffix; memory stays memory."""
    assert worker_database_url("sqlite:////tmp/x/test.sqlite3", "gw0") == (
        "sqlite:////tmp/x/test_gw0.sqlite3"
    )
    assert worker_database_url("sqlite://", "gw0") == "sqlite://"


def test_each_worker_has_its_own_redis_db():
    """Test that the worker's index is added to the db number, host and password kept."""
    assert worker_redis_url("redis://127.0.0.1:6379/4", 1) == "redis://127.0.0.1:6379/5"
    assert worker_redis_url("redis://:pw@127.0.0.1:6379/13", 2) == "redis://:pw@127.0.0.1:6379/15"
    assert worker_redis_url("redis://127.0.0.1:6379", 1) == "redis://127.0.0.1:6379/1"


def test_this_process_uses_its_workers_resources():
    """Test that the variables the apps and subprocesses read name this worker's own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    assert f"hotline-tests-{worker or 'main'}-" in os.environ["UPLOAD_DIR"]
    if worker:
        assert f"_{worker}" in os.environ["TEST_DATABASE_URL"]


@pytest.mark.parametrize(
    ("url", "workers"),
    [("redis://127.0.0.1:6379/1", 4), ("redis://127.0.0.1:6379/14", 3)],
)
def test_a_run_that_leaves_its_block_of_redis_dbs_is_refused(url, workers):
    """Test that more workers than a block holds, or a block past db 15, is a usage error."""
    with pytest.raises(pytest.UsageError):
        check_redis_block(url, workers)


def test_the_documented_blocks_fit():
    """Test that the developer's and CI's bases take two (or three) workers."""
    for base in (1, 4, 13):
        check_redis_block(f"redis://127.0.0.1:6379/{base}", 3)


def _skipped() -> pytest.TestReport:
    return pytest.TestReport(
        "tests/x.py::test_x",
        ("tests/x.py", 1, "test_x"),
        {},
        "skipped",
        ("tests/x.py", 2, "Skipped: no chromium"),
        "setup",
    )


def test_a_skip_fails_on_ci(monkeypatch):
    """Test that on CI a skipped test's report becomes a failure that gives the reason."""
    monkeypatch.setenv("CI", "true")
    report = _skipped()
    fail_skip_on_ci(report)
    assert report.failed and "no chromium" in str(report.longrepr)


def test_a_skip_stays_a_skip_off_ci(monkeypatch):
    """Test that off CI (a developer without chromium) a skip is reported as a skip."""
    monkeypatch.delenv("CI", raising=False)
    report = _skipped()
    fail_skip_on_ci(report)
    assert report.skipped
