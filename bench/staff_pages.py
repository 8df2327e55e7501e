"""Staff pages with 1,000,000 tickets in PostgreSQL (run by hand: make bench-ui).

Loads a dedicated database (`hotline_bench_ui`, emptied!) with a province's worth of two
years of tickets: about 5% still open, the rest answered and closed, ~3.5 events each. Then
it signs in an agent (of the busiest agency), an agency head and a supervisor, and times the
pages in-process (server time: routing, queries, templates; no network), after a warm-up:

- the queue: default view, next keyset page, filters, search by code, phone, common and
  rare words, closed tickets: p95 <= 100 ms;
- the ticket page: p95 <= 100 ms;
- the dashboard: p95 <= 500 ms.

Prints a last line `RESULT tickets=... queue_p95_ms=... ticket_p95_ms=... dashboard_p95_ms=...`.
Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL. Options: --tickets N, --reuse (keep the data
when the database already holds N tickets), --runs N.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.staff_data import load  # noqa: E402
from hotline import create_app  # noqa: E402
from hotline.extensions import db  # noqa: E402
from hotline.models import Category, Commune, Ticket, User  # noqa: E402
from hotline.timeutil import utcnow  # noqa: E402

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench_ui"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PASSWORD = "bench-password-1022"
TARGETS_MS = {"queue": 100.0, "ticket": 100.0, "dashboard": 500.0}


def ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def make_users() -> dict[str, User]:
    """An agent and a head of the busiest agency, and a supervisor."""
    busiest = db.session.execute(
        select(Ticket.agency_id, func.count())
        .where(Ticket.status != "closed", Ticket.agency_id.is_not(None))
        .group_by(Ticket.agency_id)
        .order_by(func.count().desc())
        .limit(1)
    ).first()[0]
    users = {}
    for role, agency_id in (
        ("agent", busiest),
        ("agency_head", busiest),
        ("supervisor", None),
    ):
        email = f"{role}@bench.1022.vn"
        user = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, name=f"Bench {role}", role=role, agency_id=agency_id)
            user.set_password(PASSWORD)
            db.session.add(user)
        user.agency_id = agency_id
        users[role] = user
    db.session.commit()
    return users


def signed_in(app, email: str):
    """A test client signed in as EMAIL through the login form."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client


def timed(client, urls: list[str], runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds per GET, cycling through URLS, after a warm-up."""
    for url in urls[:warmup]:
        client.get(url).get_data()
    times = []
    for n in range(runs):
        url = urls[n % len(urls)]
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    """Load (unless reused), then time the pages and print the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    ensure_database(DB_URL)
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": DB_URL,
            "REDIS_URL": REDIS_URL,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        have = 0
        if args.reuse and "tickets" in db.inspect(db.engine).get_table_names():
            have = db.session.scalar(select(func.count()).select_from(Ticket))
        if have != args.tickets:
            load(args.tickets, utcnow())
        users = make_users()
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        open_count = db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.status != "closed")
        )
        rng = random.Random(7)
        agency_id = users["agent"].agency_id
        sample = list(
            db.session.execute(
                select(Ticket.code, Ticket.phone, Ticket.agency_id).where(
                    Ticket.id.in_([rng.randrange(1, total) for _ in range(2000)])
                )
            ).all()
        )
        own_codes = [c for c, _p, a in sample if a == agency_id][:40] or [sample[0][0]]
        all_codes = [c for c, _p, _a in sample][:100]
        phones = ["0" + p[3:] for _c, p, _a in sample if p][:20]
        rare = db.session.execute(
            select(Commune.name).order_by(Commune.id.desc()).limit(1)
        ).scalar_one()
        emails = {role: u.email for role, u in users.items()}
        roads = db.session.execute(select(Category.id).filter_by(code="giao-thong")).scalar_one()
    print(f"{total:,} tickets, {open_count:,} open", file=sys.stderr)

    agent = signed_in(app, emails["agent"])
    head = signed_in(app, emails["agency_head"])
    supervisor = signed_in(app, emails["supervisor"])
    second_page = re.search(
        r'rel="next" href="([^"]+)"', agent.get("/staff/tickets").get_data(as_text=True)
    )
    runs = args.runs
    scenarios = {
        ("queue", "agent default"): (agent, ["/staff/tickets"]),
        ("queue", "agent next page"): (
            agent,
            [second_page.group(1).replace("&amp;", "&")] if second_page else ["/staff/tickets"],
        ),
        ("queue", "supervisor default"): (supervisor, ["/staff/tickets"]),
        ("queue", "supervisor overdue"): (supervisor, ["/staff/tickets?sla=breached"]),
        ("queue", "supervisor status+category"): (
            supervisor,
            [f"/staff/tickets?status=acknowledged&category={roads}"],
        ),
        ("queue", "supervisor closed, newest"): (supervisor, ["/staff/tickets?status=closed"]),
        ("queue", "search code"): (supervisor, [f"/staff/tickets?q={c}" for c in all_codes]),
        ("queue", "search phone"): (supervisor, [f"/staff/tickets?q={p}" for p in phones]),
        ("queue", "search words, no accents"): (
            supervisor,
            ["/staff/tickets?q=mat+dien", "/staff/tickets?q=rac+thai", "/staff/tickets?q=o+ga"],
        ),
        ("queue", "search words, accents"): (
            supervisor,
            ["/staff/tickets?q=nước+đục", "/staff/tickets?q=karaoke", "/staff/tickets?q=xăng"],
        ),
        ("queue", "search place, all statuses"): (
            supervisor,
            [f"/staff/tickets?status=all&q={rare}"],
        ),
        ("queue", "agent search words"): (agent, ["/staff/tickets?q=mat+dien"]),
        ("ticket", "agent own ticket"): (agent, [f"/staff/tickets/{c}" for c in own_codes]),
        ("ticket", "supervisor any ticket"): (
            supervisor,
            [f"/staff/tickets/{c}" for c in all_codes],
        ),
        ("dashboard", "supervisor 30 days"): (supervisor, ["/staff/dashboard"]),
        ("dashboard", "supervisor 90 days"): (supervisor, ["/staff/dashboard?days=90"]),
        ("dashboard", "agency head 30 days"): (head, ["/staff/dashboard"]),
    }
    worst: dict[str, float] = {}
    for (kind, name), (client, urls) in scenarios.items():
        times = timed(client, urls, runs)
        value = p95(times)
        worst[kind] = max(worst.get(kind, 0.0), value)
        verdict = "ok" if value <= TARGETS_MS[kind] else "SLOW"
        print(
            f"{kind:9} {name:30} p50={statistics.median(times):7.1f} ms "
            f"p95={value:7.1f} ms  (target {TARGETS_MS[kind]:.0f}) {verdict}"
        )
    ok = all(worst[k] <= TARGETS_MS[k] for k in TARGETS_MS)
    print(
        f"RESULT tickets={total} open={open_count} queue_p95_ms={worst['queue']:.1f} "
        f"ticket_p95_ms={worst['ticket']:.1f} dashboard_p95_ms={worst['dashboard']:.1f} "
        f"ok={'yes' if ok else 'no'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
