"""The periodic jobs, declared as data; `workers/cron_config.py` registers them with `rq cron`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    """A job that RQ's cron scheduler enqueues on an interval (seconds) or a cron string."""

    name: str
    func: str
    queue: str = "default"
    interval: int | None = None
    cron: str | None = None
    timeout: int = 300


# Cron strings are read in the scheduler's local time; the Procfile runs it with
# TZ=Asia/Ho_Chi_Minh so "0 7 * * *" is 07:00 in the province.
SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob("heartbeat", "workers.jobs.ping", queue="low", interval=60),
    # Tickets stored while Redis was down wait for this (SPEC §4: nothing lost).
    PeriodicJob("recover-received", "workers.jobs.recover_received", interval=60),
    PeriodicJob("sla-sweep", "workers.jobs.sla_sweep", queue="default", interval=60),
    PeriodicJob("flush-outbox", "workers.jobs.flush_outbox", queue="default", interval=60),
    # Call recordings not yet downloaded from Twilio (their job was lost).
    PeriodicJob("recover-recordings", "workers.jobs.recover_recordings", queue="low", interval=300),
    # Every day at 07:00 local: the job itself skips days off (weekends, holidays).
    PeriodicJob("digest", "workers.jobs.send_digests", queue="low", cron="0 7 * * *"),
)
