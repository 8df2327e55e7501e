"""Routing throughput of one worker process (run by hand: make bench-routing).

Stores N received tickets (texts of the dev set, varied), enqueues one `route_ticket` job per
ticket the way `create_ticket` does (`push_jobs`: request id, retries, result kept 5 minutes),
and drains the queue with one `AppWorker` (the production worker, non-forking) in burst mode,
logging as in production (JSON lines at INFO, written to /dev/null so that the terminal is
not what is measured). For scale, the same worker then drains N trivial `ping` jobs. Target:
>= 100 tickets routed per second.

A second, smaller pass counts what one routed ticket costs: SQL statements and Redis round
trips (each a wake-up of another process on this machine). It is kept apart because the
counting itself takes time.

The machine's load average is printed with the figures: other processes on the same cores
slow every round trip, so a figure means little without it.

Prints a last line `RESULT routing_tps=... ping_jps=... tickets=... cpu_ms_per_ticket=...
sql_per_ticket=... redis_round_trips_per_ticket=... load1=... ok=...`.
Environment: BENCH_DATABASE_URL (a dedicated database, emptied!), BENCH_REDIS_URL,
BENCH_TICKETS (default 2000), BENCH_COUNTED (default 200).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.connection import AbstractConnection  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FailedJobRegistry  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from bench.sla_sweep import make_app, reset_schema  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.jobs import JOB_PATHS, PendingJob, push_jobs, redis_connection  # noqa: E402
from hotline.models import Ticket  # noqa: E402
from hotline.tickets.services import Report, create_ticket  # noqa: E402
from workers.worker import make_worker  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", "2000"))
COUNTED = int(os.environ.get("BENCH_COUNTED", "200"))
DEV_SET = Path(__file__).resolve().parents[2] / "shared" / "data" / "complaints-dev.jsonl"
FALLBACK_TEXTS = [
    "Khu vực tổ dân phố 5 phường Tân Lập mất điện từ 2 giờ chiều đến giờ chưa có lại",
    "nuoc sinh hoat o phuong Ea Kao bi duc va co mui hoi 3 ngay nay",
    "Rác thải tồn đọng ở chợ phường Buôn Hồ cả tuần không ai thu gom, bốc mùi hôi thối",
    "Cho tôi hỏi giờ làm việc của bộ phận một cửa",
]


def texts() -> list[str]:
    """The dev-set texts (or a few built-in ones when the dev set is absent)."""
    if DEV_SET.exists():
        return [
            json.loads(line)["text"]
            for line in DEV_SET.read_text("utf-8").splitlines()
            if line.strip()
        ]
    return FALLBACK_TEXTS


def log_to_devnull() -> None:
    """Keep production logging (JSON lines at INFO) but write the lines to /dev/null."""
    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def received_tickets(count: int, rng: random.Random, samples: list[str]) -> list[int]:
    """Store COUNT received tickets without routing them; return their ids."""
    ids = []
    for i in range(count):
        text = rng.choice(samples) + f" (phản ánh số {i})"
        ids.append(create_ticket(Report("web", text), route=False).id)
    return ids


def enqueue(path: str, queue_name: str, args: list[tuple]) -> None:
    """Push one job per ARGS entry as the app does after a commit (batches of 500)."""
    jobs = [
        PendingJob(path, a, queue=queue_name, job_id=f"{queue_name}-{i}", fresh=True)
        for i, a in enumerate(args)
    ]
    for start in range(0, len(jobs), 500):
        push_jobs(jobs[start : start + 500])


def drain(app, queue_name: str) -> tuple[float, float]:
    """Run one worker in burst mode on QUEUE_NAME; return (wall seconds, CPU seconds)."""
    worker = make_worker(app, [queue_name], name=f"{queue_name}-worker")
    gc.freeze()  # as `python -m workers` does once its worker is built
    started, cpu = time.perf_counter(), time.process_time()
    worker.work(burst=True, logging_level="INFO")
    return time.perf_counter() - started, time.process_time() - cpu


def check_no_failures(queue_name: str) -> None:
    """Stop loudly when a job of QUEUE_NAME failed: its figures would mean nothing."""
    failed = FailedJobRegistry(queue_name, connection=redis_connection())
    if failed.count:
        job = Job.fetch(failed.get_job_ids()[0], connection=redis_connection())
        raise SystemExit(f"{failed.count} jobs of {queue_name} failed, e.g.:\n{job.exc_info}")


@contextmanager
def counting() -> Iterator[Counter]:
    """Count SQL statements and Redis round trips (one per command or pipeline sent)."""
    counts: Counter = Counter()

    def on_statement(*_args) -> None:
        counts["sql"] += 1

    send = AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        counts["redis"] += 1
        return send(self, command, check_health)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    AbstractConnection.send_packed_command = counted_send
    try:
        yield counts
    finally:
        AbstractConnection.send_packed_command = send
        event.remove(db.engine, "before_cursor_execute", on_statement)


def main() -> None:
    """Store the tickets, enqueue their routing, and time one worker draining it."""
    app = make_app()
    log_to_devnull()
    rng = random.Random(7)
    samples = texts()
    route = JOB_PATHS["route_ticket"]
    load_before = os.getloadavg()
    with app.app_context():
        reset_schema()
        # Queues of this run only (no FLUSHDB: the Redis database may be shared).
        run = f"{os.getpid()}-{time.time_ns()}"
        ids = received_tickets(TICKETS, rng, samples)
        db.session.remove()
        queue = f"bench-route-{run}"
        enqueue(route, queue, [(i,) for i in ids])
        routing_s, routing_cpu = drain(app, queue)
        check_no_failures(queue)
        db.session.remove()
        outcomes = Counter(
            db.session.execute(select(Ticket.status).where(Ticket.id.in_(ids))).scalars()
        )
        ping = f"bench-ping-{run}"
        enqueue(JOB_PATHS["ping"], ping, [(str(i),) for i in range(TICKETS)])
        ping_s, _ = drain(app, ping)
        check_no_failures(ping)
        load_after = os.getloadavg()
        # The cost of one ticket, counted on a few more.
        counted_ids = received_tickets(COUNTED, rng, samples)
        db.session.remove()
        counted = f"bench-count-{run}"
        enqueue(route, counted, [(i,) for i in counted_ids])
        with counting() as counts:
            drain(app, counted)
        check_no_failures(counted)
    routing_tps = TICKETS / routing_s
    ping_jps = TICKETS / ping_s
    cpu_ms = routing_cpu / TICKETS * 1000
    sql = counts["sql"] / COUNTED
    redis_rt = counts["redis"] / COUNTED
    load1 = max(load_before[0], load_after[0])
    print(f"routed {TICKETS} tickets in {routing_s:.2f} s: {dict(outcomes)}")
    print(f"worker CPU {cpu_ms:.2f} ms per ticket; {TICKETS} ping jobs in {ping_s:.2f} s")
    print(f"per routed ticket: {sql:.2f} SQL statements, {redis_rt:.2f} Redis round trips")
    print(
        "load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}, after: {:.2f} {:.2f} {:.2f}"
        " on {} cores".format(*load_before, *load_after, os.cpu_count())
    )
    print(
        f"RESULT routing_tps={routing_tps:.1f} ping_jps={ping_jps:.1f} tickets={TICKETS} "
        f"cpu_ms_per_ticket={cpu_ms:.2f} sql_per_ticket={sql:.2f} "
        f"redis_round_trips_per_ticket={redis_rt:.2f} load1={load1:.2f} "
        f"ok={routing_tps >= 100}"
    )


if __name__ == "__main__":
    main()
