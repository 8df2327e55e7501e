"""A failed job's traceback, kept in Redis for a week, quotes no citizen's data."""

from __future__ import annotations

import zlib

from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import as_text

from workers.worker import make_worker

NAME = "Lê Thị Hoa"
PHONE = "+84987654321"
EMAIL = "hoa.le@example.vn"


def fails_quoting_a_citizen() -> None:
    """A job failing as a database or a provider does: its message quotes the data."""
    raise RuntimeError(
        f'new row for relation "tickets" violates check constraint\n'
        f"DETAIL:  Failing row contains (7, {NAME}, {PHONE}, {EMAIL}).\n"
        f"The 'To' number {PHONE} is not valid; mail to {EMAIL} refused"
    )


def test_a_failed_jobs_stored_traceback_is_scrubbed(app, redis_conn):
    """Test that the traceback RQ keeps for a failed job (its result, and the job's hash)
    has the row, phone and email replaced, and still says what failed and where."""
    queue = Queue("default", connection=redis_conn)
    job = queue.enqueue(fails_quoting_a_citizen)
    make_worker(app, ["default"]).work(burst=True)

    job = Job.fetch(job.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FAILED
    kept = [job.latest_result().exc_string]
    raw = redis_conn.hget(job.key, "exc_info")
    if raw:
        kept.append(as_text(zlib.decompress(raw)))
    for text in kept:
        assert "RuntimeError" in text and "fails_quoting_a_citizen" in text
        assert "Failing row contains (…)" in text
        assert "The 'To' number <phone> is not valid; mail to <email> refused" in text
        for secret in (NAME, PHONE, EMAIL, "987654321"):
            assert secret not in text
