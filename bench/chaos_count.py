"""The chaos drill's bookkeeping: wait for the system to settle, then count what happened."""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import create_engine, text

from bench.chaos_load import CHANNELS, Submission
from bench.chaos_services import Carrier, Supervisor, log
from hotline.notifications.sender import INTERRUPTED

MARKER_RE = re.compile(r"CHAOS-[0-9a-f]+-\d{5}")


def _tickets(engine) -> dict[str, list[dict]]:
    """The drill's tickets by marker."""
    by_marker: dict[str, list[dict]] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, code, status, channel, description FROM tickets")
        ).mappings()
        for row in rows:
            match = MARKER_RE.search(row["description"] or "")
            if match:
                by_marker[match.group(0)].append(dict(row))
    return by_marker


def settle(url: str, submissions: list[Submission], timeout: float) -> bool:
    """Wait until every drill ticket left `received` and the outbox has nothing left to send.

    Returns:
        Whether it settled before TIMEOUT (seconds).
    """
    engine = create_engine(url, pool_pre_ping=True)
    started = last_report = time.monotonic()
    try:
        while True:
            try:
                tickets = _tickets(engine)
                waiting = sum(
                    1 for rows in tickets.values() for r in rows if r["status"] == "received"
                )
                with engine.connect() as conn:
                    unsent = conn.execute(
                        text(
                            "SELECT count(*) FROM outbox_messages "
                            "WHERE status NOT IN ('sent', 'delivered', 'failed', 'undelivered')"
                        )
                    ).scalar_one()
            except Exception as exc:  # noqa: BLE001 - keep waiting through a hiccup
                waiting, unsent = -1, -1
                log(f"settle: database not readable ({type(exc).__name__})")
            elapsed = time.monotonic() - started
            if waiting == 0 and unsent == 0:
                log(f"settled after {elapsed:.0f} s")
                return True
            if elapsed > timeout:
                log(
                    f"NOT settled after {elapsed:.0f} s: {waiting} tickets still received, "
                    f"{unsent} outbox rows unsent"
                )
                return False
            if time.monotonic() - last_report > 30:
                log(f"settling: {waiting} tickets waiting for routing, {unsent} messages unsent")
                last_report = time.monotonic()
            time.sleep(3)
    finally:
        engine.dispose()


@dataclass
class Result:
    """The counts of the RESULT line, and whether they are all as they must be."""

    submitted: int
    stored: int
    routed: int
    duplicates: int
    lost: int
    sms_sent_twice: int
    emails_sent_twice: int

    @property
    def clean(self) -> bool:
        """True when nothing was lost, duplicated or sent twice."""
        if not self.submitted:
            return False  # a drill where nothing got through proves nothing
        return not (self.lost or self.duplicates or self.sms_sent_twice or self.emails_sent_twice)

    @property
    def line(self) -> str:
        """The last line the drill prints."""
        return (
            f"RESULT submitted={self.submitted} stored={self.stored} routed={self.routed} "
            f"duplicates={self.duplicates} lost={self.lost} "
            f"sms_sent_twice={self.sms_sent_twice} emails_sent_twice={self.emails_sent_twice}"
        )


def _smtp_references(path: Path) -> Counter[str]:
    refs: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            refs[json.loads(line)["reference"]] += 1
    return refs


def _held_job_outcomes(engine, redis_url: str, faults) -> list[str]:
    """Say what became of every job a killed worker held, by RQ status and database state."""
    conn = Redis.from_url(redis_url)
    lines = []
    with engine.connect() as db:
        for event in faults.kill_events:
            for job_id in event.held_jobs:
                try:
                    status = Job.fetch(job_id, connection=conn).get_status().value
                except Exception:  # noqa: BLE001 - expired or deleted
                    status = "done and expired"
                state = ""
                kind, _, number = job_id.partition("-")
                if kind == "route" and number.isdigit():
                    state = db.execute(
                        text("SELECT status FROM tickets WHERE id = :i"), {"i": int(number)}
                    ).scalar_one_or_none()
                    state = f"ticket {state}"
                elif kind == "outbox" and number.isdigit():
                    state = db.execute(
                        text("SELECT status FROM outbox_messages WHERE id = :i"),
                        {"i": int(number)},
                    ).scalar_one_or_none()
                    state = f"message {state}"
                if not state:
                    state = "a periodic job: the scheduler runs it again at its next tick"
                lines.append(f"    {job_id}: rq {status}; {state}")
    conn.close()
    return lines


def count_results(
    url: str,
    redis_url: str,
    submissions: list[Submission],
    carrier: Carrier,
    smtp_log: Path,
    faults,
    sup: Supervisor,
) -> Result:
    """Match submissions to tickets, count messages, print the details; return the counts."""
    engine = create_engine(url)
    tickets = _tickets(engine)
    accepted = [s for s in submissions if s.ok]
    stored = [s for s in accepted if tickets.get(s.marker)]
    routed = [s for s in stored if any(r["status"] != "received" for r in tickets[s.marker])]
    duplicates = sum(len(rows) - 1 for rows in tickets.values() if len(rows) > 1)
    email_refs = _smtp_references(smtp_log)
    result = Result(
        submitted=len(accepted),
        stored=len(stored),
        routed=len(routed),
        duplicates=duplicates,
        lost=(len(accepted) - len(stored)) + (len(stored) - len(routed)),
        sms_sent_twice=carrier.sent_twice(),
        emails_sent_twice=sum(n - 1 for n in email_refs.values() if n > 1),
    )

    print("\n=== chaos drill ===", flush=True)
    for channel in CHANNELS:
        subs = [s for s in submissions if s.channel == channel]
        ok = [s for s in subs if s.ok]
        retried = sum(1 for s in subs if s.retries)
        finals = Counter(str(s.statuses[-1]) if s.statuses else "none" for s in subs)
        print(
            f"  {channel:<11} sent {len(subs):4}  accepted {len(ok):4}  retried {retried:3}  "
            f"final answers {dict(finals)}"
        )
    wrong_code = [
        s.marker for s in stored if s.code and s.code not in {r["code"] for r in tickets[s.marker]}
    ]
    orphans = [m for m in tickets if m not in {s.marker for s in accepted}]
    print(f"  tickets stored without a 2xx answer (the citizen was told it failed): {len(orphans)}")
    print(f"  codes told to the citizen that do not match the stored ticket: {len(wrong_code)}")
    for s in accepted:
        if s not in stored:
            print(f"    LOST (not stored): {s.marker} {s.channel} {s.statuses}")
        elif s not in routed:
            print(f"    LOST (never routed): {s.marker} {s.channel}")
    for marker, rows in tickets.items():
        if len(rows) > 1:
            print(f"    DUPLICATE: {marker} -> {[r['code'] for r in rows]}")

    with engine.connect() as db:
        outbox = db.execute(
            text(
                "SELECT channel, status, count(*) FROM outbox_messages GROUP BY 1, 2 ORDER BY 1, 2"
            )
        ).all()
        sent_keys = db.execute(
            text(
                "SELECT channel, idempotency_key FROM outbox_messages "
                "WHERE status IN ('sent', 'delivered')"
            )
        ).all()
        statuses = Counter(db.execute(text("SELECT status FROM tickets")).scalars())
        interrupted = db.execute(
            text("SELECT count(*) FROM outbox_messages WHERE last_error = :e"),
            {"e": INTERRUPTED},
        ).scalar_one()
    print(f"  tickets by status: {dict(statuses)}")
    print(f"  outbox: {', '.join(f'{c} {s} {n}' for c, s, n in outbox)}")
    never_arrived = [
        k
        for c, k in sent_keys
        if (c == "sms" and k not in carrier.accepted) or (c == "email" and k not in email_refs)
    ]
    print(
        f"  carrier took {sum(carrier.accepted.values())} SMS ({len(carrier.accepted)} distinct),"
        f" SMTP server took {sum(email_refs.values())} emails ({len(email_refs)} distinct)"
    )
    print(f"  messages marked sent that never arrived: {len(never_arrived)}")
    print(f"  messages interrupted mid-send (failed, not sent again): {interrupted}")
    for key, n in list(carrier.accepted.items()) + list(email_refs.items()):
        if n > 1:
            print(f"    SENT {n} TIMES: {key}")

    print(
        f"  worker kills: {len(faults.kill_events)}, "
        f"{sum(1 for e in faults.kill_events if e.held_jobs)} in the middle of a job"
    )
    for line in _held_job_outcomes(engine, redis_url, faults):
        print(line)
    conn = Redis.from_url(redis_url)
    for name in ("high", "default", "low"):
        queue = Queue(name, connection=conn)
        failed = FailedJobRegistry(name, connection=conn).get_job_ids(cleanup=False)
        print(f"  queue {name}: {queue.count} queued, {len(failed)} in the failed registry")
    conn.close()
    for service in sup.services:
        if service.restarts:
            print(
                f"  {service.name}: restarted {service.restarts} time(s), exit codes "
                f"{service.exits}"
            )
    engine.dispose()
    return result
