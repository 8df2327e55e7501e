"""SLA sweep cost with 100,000 and 1,000,000 tickets in PostgreSQL (run by hand: make bench-sla).

Each size: 5% of the tickets open, 1,000 of them due now (half breaching their first-response
deadline, half turning at risk), the rest closed. The tickets are bulk-loaded with COPY. The
sweep must take <= 2 s at 1M and stay within 1.3x of its time at 100k: it reads only the due
rows through the partial index on next_sla_check_at.

Prints a last line `RESULT sweep_100k_s=... sweep_1m_s=... ratio=...`.
Environment: BENCH_DATABASE_URL (a dedicated database, emptied!), BENCH_REDIS_URL.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402

from hotline import create_app  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.models import Agency, Category, Ticket, User  # noqa: E402

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench_workers"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
# Wednesday 4 March 2026, 10:00 in Đắk Lắk: the instant every benchmark sweeps at.
NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
DUE = 1_000


def _ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist yet."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if not found:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def make_app():
    """The app on the benchmark database, with the worker-side settings."""
    _ensure_database(DB_URL)
    return create_app(
        {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": DB_URL, "REDIS_URL": REDIS_URL}
    )


def reset_schema() -> None:
    """Drop and create every table, load the province, add staff for the escalations."""
    from hotline.province import province_folder
    from hotline.province.loader import load_province

    db.drop_all()
    db.create_all()
    load_province(province_folder())
    agencies = db.session.execute(select(Agency.id, Agency.code)).all()
    for agency_id, code in agencies:
        for role in ("agent", "agency_head"):
            db.session.add(
                User(
                    email=f"{role}.{code}@bench.example",
                    name=role,
                    password_hash="-",
                    role=role,
                    agency_id=agency_id,
                )
            )
    for i in range(3):
        db.session.add(
            User(email=f"sup{i}@bench.example", name="sup", password_hash="-", role="supervisor")
        )
    db.session.commit()


def _defaults() -> dict:
    """Values for the NOT NULL columns the generator does not set (their Python defaults)."""
    values = {}
    for column in Ticket.__table__.columns:
        if column.primary_key or column.nullable or column.default is None:
            continue
        arg = column.default.arg
        if not callable(arg):
            values[column.name] = arg
    return values


def load_tickets(total: int, open_share: float = 0.05, late_share: float = 0.2) -> list[int]:
    """COPY TOTAL tickets; return the ids of the DUE ones whose next SLA check is now.

    Open tickets get at-risk and breached states in LATE_SHARE of cases (for the digest);
    closed ones were answered over the last 90 days, mostly on time.
    """
    rng = random.Random(total)
    agency_ids = list(db.session.execute(select(Agency.id)).scalars())
    category_ids = list(db.session.execute(select(Category.id)).scalars())
    defaults = _defaults()
    columns = [
        "id",
        "code",
        "channel",
        "status",
        "priority",
        "category_id",
        "agency_id",
        "description",
        "sla_cycle",
        "sla_started_at",
        "acknowledge_due_at",
        "acknowledge_state",
        "acknowledged_at",
        "resolve_started_at",
        "resolve_due_at",
        "resolve_state",
        "resolved_at",
        "next_sla_check_at",
        "created_at",
        "updated_at",
        "due_at",
    ]
    extra = [name for name in defaults if name not in columns]
    open_count = int(total * open_share)
    due_ids: list[int] = []
    hour = timedelta(hours=1)
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY tickets ({', '.join(columns + extra)}) FROM STDIN") as copy:
            for i in range(1, total + 1):
                agency_id = rng.choice(agency_ids)
                category_id = rng.choice(category_ids)
                if i <= DUE:
                    # Urgent, assigned this morning: 08:00 breaches its 1 h first response
                    # at 09:00; 09:10 turns at risk at 09:55 (75% of the hour).
                    start = NOW - (2 * hour if i % 2 else timedelta(minutes=50))
                    row = [
                        "assigned",
                        "urgent",
                        start,
                        start + hour,
                        "on_track",
                        None,
                        start,
                        start + 4 * hour,
                        "on_track",
                        None,
                        NOW - timedelta(minutes=1),
                    ]
                    due_ids.append(i)
                elif i <= open_count:
                    start = NOW - timedelta(hours=rng.randint(1, 60))
                    late = rng.random()
                    state = (
                        "breached"
                        if late < late_share / 2
                        else "at_risk"
                        if late < late_share
                        else "on_track"
                    )
                    ack_at = start + hour
                    row = [
                        "acknowledged",
                        "normal",
                        start,
                        start + 8 * hour,
                        "met",
                        ack_at,
                        start,
                        start + 72 * hour,
                        state,
                        None,
                        NOW + timedelta(minutes=rng.randint(5, 4000)),
                    ]
                else:
                    start = NOW - timedelta(days=rng.uniform(1, 90))
                    resolved = start + timedelta(hours=rng.uniform(1, 90))
                    row = [
                        "closed",
                        "normal",
                        start,
                        start + 8 * hour,
                        "met",
                        start + hour,
                        start,
                        start + 72 * hour,
                        "met" if resolved <= start + 72 * hour else "breached",
                        resolved,
                        None,
                    ]
                (
                    status,
                    priority,
                    started,
                    ack_due,
                    ack_state,
                    ack_at,
                    res_start,
                    res_due,
                    res_state,
                    resolved_at,
                    next_check,
                ) = row
                copy.write_row(
                    [
                        i,
                        f"B{i:09d}",
                        "web",
                        status,
                        priority,
                        category_id,
                        agency_id,
                        "Phản ánh thử nghiệm",
                        1,
                        started,
                        ack_due,
                        ack_state,
                        ack_at,
                        res_start,
                        res_due,
                        res_state,
                        resolved_at,
                        next_check,
                        started,
                        started,
                        None if status == "closed" else res_due,
                    ]
                    + [defaults[name] for name in extra]
                )
    db.session.commit()
    db.session.execute(text("SELECT setval('tickets_id_seq', :n)"), {"n": total})
    db.session.commit()
    return due_ids


def analyze() -> None:
    """Refresh the planner's statistics after the bulk load."""
    db.session.commit()
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def reset_due(due_ids: list[int]) -> None:
    """Put the due tickets back as they were before a sweep, and forget its effects."""
    db.session.execute(
        text(
            "UPDATE tickets SET next_sla_check_at = :at, acknowledge_state = 'on_track', "
            "resolve_state = 'on_track' WHERE id = ANY(:ids)"
        ),
        {"at": NOW - timedelta(minutes=1), "ids": due_ids},
    )
    db.session.execute(text("DELETE FROM escalation_steps"))
    db.session.execute(text("DELETE FROM outbox_messages"))
    db.session.execute(text("DELETE FROM ticket_events WHERE kind LIKE 'sla_%'"))
    db.session.commit()


def measure_sweep(due_ids: list[int], runs: int = 3) -> tuple[float, object]:
    """Return the median time of RUNS sweeps (each over the same 1,000 due tickets)."""
    from hotline.sla.sweep import sweep

    times, report = [], None
    for _ in range(runs):
        reset_due(due_ids)
        started = time.perf_counter()
        report = sweep(now=NOW)
        times.append(time.perf_counter() - started)
    return statistics.median(times), report


def build(total: int) -> list[int]:
    """Reset the schema and load TOTAL tickets; print how long it took."""
    started = time.perf_counter()
    reset_schema()
    due_ids = load_tickets(total)
    analyze()
    print(f"loaded {total:,} tickets in {time.perf_counter() - started:.1f} s", flush=True)
    return due_ids


def main() -> None:
    """Measure the sweep at 100k and at 1M tickets."""
    app = make_app()
    results = {}
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("the SLA sweep benchmark needs PostgreSQL (BENCH_DATABASE_URL)")
        for total, label in ((100_000, "100k"), (1_000_000, "1m")):
            due_ids = build(total)
            seconds, report = measure_sweep(due_ids)
            results[label] = seconds
            print(
                f"{label}: sweep {seconds:.3f} s: {report.checked} checked, "
                f"{report.steps} steps, {report.messages} emails queued",
                flush=True,
            )
    ratio = results["1m"] / results["100k"]
    ok = results["1m"] <= 2.0 and ratio <= 1.3
    print(
        f"RESULT sweep_100k_s={results['100k']:.3f} sweep_1m_s={results['1m']:.3f} "
        f"ratio={ratio:.2f} due={DUE} ok={ok}"
    )


if __name__ == "__main__":
    main()
