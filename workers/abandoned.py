"""Jobs held by a worker that died: handed back at once instead of after RQ's timeout.

RQ 3.0.0 learns that a worker died only when the job's entry in the StartedJobRegistry
expires: for a SimpleWorker that is the job timeout plus 60 s (6 minutes here), and the
registry is swept only every `maintenance_interval`. Until then the job keeps the status
"started", so our own recovery (`recover_received`, `flush_outbox`), which skips a job id
that is queued or running, leaves it alone as well.

A worker killed by the kernel (OOM) or by SIGKILL is restarted by the process manager on
the same machine. The new worker, and every live worker at each maintenance tick, looks
for workers registered from its own host whose process is gone, and fails their running
jobs the way RQ's registry cleanup would: retried while the job has retries left,
otherwise moved to the failed registry, from where the recovery jobs re-enqueue the work
by database state. Workers on other machines are left to RQ's timeout: their process
table is not ours to read.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from pathlib import Path

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.worker import BaseWorker, SimpleWorker

log = logging.getLogger(__name__)

# Statuses of a job that ended: anything else held by a dead worker is lost work ("queued"
# too: a worker killed between taking a job and starting it leaves it queued in no queue).
DONE = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})
# A process that started this long after the worker registered is another process
# that was given the same pid.
PID_REUSE_SLACK_SECONDS = 2.0


def _process_start(pid: int) -> float | None:
    """Return when process PID started (Unix time), or None when /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        state, ticks = fields[0], int(fields[19])
        if state in ("Z", "X"):
            return float("inf")  # a zombie: dead, only not reaped yet
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def process_alive(pid: int | None, born: datetime | None = None) -> bool:
    """Return whether PID is still the process that registered a worker at BORN.

    Args:
        pid: the worker's process id on this host.
        born: when the worker registered (its birth date in Redis).

    Returns:
        False when no such process runs, when it is a zombie, or when it started after
        the worker registered (the pid was reused).
    """
    if not pid or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # we are a new process: a worker registered under our pid is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    started = _process_start(pid)
    if started is None or born is None:
        return True
    return started <= born.timestamp() + PID_REUSE_SLACK_SECONDS


def dead_local_workers(worker: BaseWorker) -> list[BaseWorker]:
    """Return the workers registered from WORKER's host whose process is gone."""
    hostname = socket.gethostname()
    dead = []
    # Read as plain workers: only their registration matters here.
    for other in SimpleWorker.all(connection=worker.connection):
        if other.name == worker.name or other.hostname != hostname:
            continue
        if other.death_date is not None:
            continue  # it said goodbye: nothing it held is lost
        if not process_alive(other.pid, other.birth_date):
            dead.append(other)
    return dead


def fail_jobs_of_dead_workers(worker: BaseWorker) -> list[str]:
    """Fail the running jobs of this host's dead workers, so they are retried now.

    Each job goes through `worker.handle_job_failure`, as RQ's own cleanup of abandoned
    jobs does: a job with retries left is retried, any other moves to the failed registry.
    The dead worker is then unregistered.

    Args:
        worker: the live worker doing the check.

    Returns:
        The ids of the jobs handed back.
    """
    handed_back: list[str] = []
    for dead in dead_local_workers(worker):
        jobs: list[str] = []
        for execution in dead.get_current_executions(refresh=True):
            try:
                job = Job.fetch(execution.job_id, connection=worker.connection)
            except NoSuchJobError:
                continue
            if job.get_status(refresh=False) in DONE:
                continue  # it ended before the worker died
            queue = Queue(job.origin, connection=worker.connection)
            reason = f"AbandonedJobError: worker {dead.name} (pid {dead.pid}) died while running it"
            worker.handle_job_failure(job, queue, exc_string=reason, execution=execution)
            jobs.append(job.id)
        dead.register_death()
        log.warning(
            "worker %s (pid %s) died; handed back %d job(s): %s",
            dead.name,
            dead.pid,
            len(jobs),
            ", ".join(jobs) or "-",
        )
        handed_back.extend(jobs)
    return handed_back
