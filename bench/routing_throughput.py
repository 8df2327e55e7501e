"""Routing throughput of one worker process (run by hand: make bench-routing).

Stores N received tickets (texts of the dev set, varied), enqueues one `route_ticket` job per
ticket, and drains the queue with one `AppWorker` (the production worker, non-forking) in
burst mode. For scale, the same worker then drains N trivial `ping` jobs. Target: >= 100
tickets routed per second.

Prints a last line `RESULT routing_tps=... ping_jps=... tickets=...`.
Environment: BENCH_DATABASE_URL (a dedicated database, emptied!), BENCH_REDIS_URL,
BENCH_TICKETS (default 2000).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FailedJobRegistry  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.sla_sweep import make_app, reset_schema  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.jobs import redis_connection  # noqa: E402
from hotline.models import Ticket  # noqa: E402
from hotline.tickets.services import open_ticket  # noqa: E402
from workers.worker import make_worker  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", "2000"))
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


def drain(app, queue_name: str) -> float:
    """Run one worker in burst mode on QUEUE_NAME; return the seconds it took."""
    worker = make_worker(app, [queue_name], name=f"{queue_name}-worker")
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    return time.perf_counter() - started


def main() -> None:
    """Store the tickets, enqueue their routing, and time one worker draining it."""
    import logging

    logging.disable(logging.INFO)  # a log line per job would measure the terminal
    app = make_app()
    rng = random.Random(7)
    samples = texts()
    with app.app_context():
        reset_schema()
        # Queues of this run only (no FLUSHDB: the Redis database may be shared).
        run = f"{os.getpid()}-{time.time_ns()}"
        ids = []
        for i in range(TICKETS):
            text = rng.choice(samples) + f" (phản ánh số {i})"
            ticket, _ = open_ticket(channel="web", description=text, route=False)
            ids.append(ticket.id)
        queue = Queue(f"bench-route-{run}", connection=redis_connection())
        for ticket_id in ids:
            queue.enqueue("workers.jobs.route_ticket", ticket_id, result_ttl=60)
        routing_s = drain(app, queue.name)
        failed = FailedJobRegistry(queue=queue)
        if failed.count:
            job = Job.fetch(failed.get_job_ids()[0], connection=redis_connection())
            raise SystemExit(f"{failed.count} routing jobs failed, e.g.:\n{job.exc_info}")
        db.session.remove()
        outcomes = Counter(
            db.session.execute(select(Ticket.status).where(Ticket.id.in_(ids))).scalars()
        )
        ping = Queue(f"bench-ping-{run}", connection=redis_connection())
        for i in range(TICKETS):
            ping.enqueue("workers.jobs.ping", str(i), result_ttl=60)
        ping_s = drain(app, ping.name)
    routing_tps = TICKETS / routing_s
    ping_jps = TICKETS / ping_s
    print(f"routed {TICKETS} tickets in {routing_s:.2f} s: {dict(outcomes)}")
    print(f"{TICKETS} ping jobs in {ping_s:.2f} s")
    print(
        f"RESULT routing_tps={routing_tps:.1f} ping_jps={ping_jps:.1f} tickets={TICKETS} "
        f"ok={routing_tps >= 100}"
    )


if __name__ == "__main__":
    main()
