"""Configuration for `rq cron workers/cron_config.py`: registers every job of SCHEDULE."""

from __future__ import annotations

from rq import cron
from rq.utils import import_attribute

from workers.schedule import SCHEDULE

for job in SCHEDULE:
    cron.register(
        import_attribute(job.func),
        queue_name=job.queue,
        interval=job.interval,
        cron=job.cron,
        job_timeout=job.timeout,
        name=job.name,
    )
