"""Measure trivial-job throughput of three RQ worker designs (run by hand: make bench-worker).

- fork-lazy: RQ's forking Worker; each forked job builds the app itself (no preload).
- fork-preloaded: forking Worker with the app built once in the parent before forking.
- simple: our AppWorker (a non-forking SimpleWorker running each job in the app context).

Prints one line per design and a last line `RESULT ...` with jobs/s.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402

from hotline import create_app  # noqa: E402
from workers.worker import make_worker  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
DB_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite:////tmp/hotline-bench-worker.sqlite3")


def _app():
    return create_app(
        {"ENV_NAME": "development", "REDIS_URL": REDIS_URL, "SQLALCHEMY_DATABASE_URI": DB_URL}
    )


class ForkLazyWorker(Worker):
    """Forking worker that builds the app inside every forked job (nothing preloaded)."""

    def perform_job(self, job, queue, execution):
        app = _app()
        with app.app_context():
            return super().perform_job(job, queue, execution)


class ForkPreloadedWorker(Worker):
    """Forking worker whose app is built once in the parent, before any fork."""

    app = None

    def perform_job(self, job, queue, execution):
        with self.app.app_context():
            return super().perform_job(job, queue, execution)


def run(design: str, jobs: int) -> float:
    """Enqueue JOBS pings, drain them with DESIGN in burst mode, return jobs per second."""
    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    queue = Queue("bench", connection=conn)
    for i in range(jobs):
        queue.enqueue("workers.jobs.ping", str(i), result_ttl=60)
    app = _app()
    if design == "simple":
        worker = make_worker(app, ["bench"])
    elif design == "fork-preloaded":
        ForkPreloadedWorker.app = app
        worker = ForkPreloadedWorker([queue], connection=conn)
    else:
        worker = ForkLazyWorker([queue], connection=conn)
    start = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - start
    assert queue.count == 0
    conn.flushdb()
    return jobs / elapsed


def main() -> None:
    """Run the three designs and print their throughput."""
    results = {}
    for design, jobs in (("fork-lazy", 20), ("fork-preloaded", 200), ("simple", 1000)):
        results[design] = run(design, jobs)
        print(f"{design:15s} {results[design]:8.1f} jobs/s ({jobs} trivial jobs)", flush=True)
    figures = (f"{name.replace('-', '_')}_jobs_per_s={rate:.1f}" for name, rate in results.items())
    print("RESULT " + " ".join(figures))


if __name__ == "__main__":
    main()
