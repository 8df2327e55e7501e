"""All digests for 1,000,000 tickets (run by hand: make bench-digest).

Loads 1M tickets as the SLA benchmark does (5% open, a fifth of those at risk or overdue),
then times `send_digests`: the queries, one email per agency recipient and supervisor
written to the outbox, and the commit. A second run checks that nothing is queued twice.
Rendering is timed separately (it happens at send time, one email per job). Target: <= 10 s.

Prints a last line `RESULT digest_s=... emails=... render_ms=...`.
Environment: BENCH_DATABASE_URL (a dedicated database, emptied!), BENCH_REDIS_URL,
BENCH_DIGEST_TICKETS (default 1000000).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.sla_sweep import NOW, build, make_app  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.models import OutboxMessage  # noqa: E402

TICKETS = int(os.environ.get("BENCH_DIGEST_TICKETS", "1000000"))


def main() -> None:
    """Load the tickets, run the sweep once, then time all digests."""
    import logging

    from hotline.notifications.render import render_message
    from hotline.sla.digest import send_digests
    from hotline.sla.sweep import sweep

    logging.disable(logging.INFO)
    app = make_app()
    with app.app_context():
        build(TICKETS)
        sweep(now=NOW)
        started = time.perf_counter()
        report = send_digests(now=NOW, only_working_days=False)
        digest_s = time.perf_counter() - started
        again = send_digests(now=NOW, only_working_days=False)
        rows = list(
            db.session.execute(
                select(OutboxMessage).where(OutboxMessage.template.like("digest_%"))
            ).scalars()
        )
        started = time.perf_counter()
        for row in rows:
            render_message(row)
        render_ms = 1000 * (time.perf_counter() - started) / max(len(rows), 1)
    print(
        f"digest for {TICKETS:,} tickets: {report.agencies} agencies with late tickets, "
        f"{report.counts.get('late', 0)} late tickets, {report.messages} emails in "
        f"{digest_s:.2f} s; second run queued {again.messages}"
    )
    print(
        f"RESULT digest_s={digest_s:.2f} emails={report.messages} render_ms={render_ms:.1f} "
        f"ok={digest_s <= 10 and again.messages == 0}"
    )


if __name__ == "__main__":
    main()
