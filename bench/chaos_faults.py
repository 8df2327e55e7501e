"""The chaos drill's faults: SIGKILL busy workers, restart Redis, stop PostgreSQL and SMTP."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from redis import Redis

from bench.chaos_services import PostgresCluster, Service, log, wait_port

# When each outage starts, in seconds after the load started; kills run alongside.
REDIS_AT, PG_AT, SMTP_AT = 20.0, 45.0, 70.0
FIRST_KILL_AT, KILL_EVERY = 6.0, 9.0


@dataclass
class KillEvent:
    """One SIGKILL: which worker, and the RQ jobs it held at that instant."""

    service: str
    pid: int
    rq_name: str | None
    held_jobs: list[str] = field(default_factory=list)
    at: float = 0.0


class Faults:
    """Runs the fault schedule against the drill's services."""

    def __init__(
        self,
        *,
        workers: list[Service],
        redis: Service,
        redis_port: int,
        smtp: Service,
        pg: PostgresCluster,
        kills: int,
        pg_outage: float,
        redis_outage: float,
        smtp_outage: float,
    ) -> None:
        self.workers = workers
        self.redis = redis
        self.redis_port = redis_port
        self.smtp = smtp
        self.pg = pg
        self.kills = kills
        self.pg_outage = pg_outage
        self.redis_outage = redis_outage
        self.smtp_outage = smtp_outage
        self.kill_events: list[KillEvent] = []
        self.rng = random.Random()
        self.started = 0.0

    def _sleep_until(self, offset: float) -> None:
        time.sleep(max(0.0, self.started + offset - time.monotonic()))

    # --- workers ---------------------------------------------------------------------------

    def _rq_names(self, conn: Redis) -> dict[int, str]:
        names = {}
        for key in conn.smembers("rq:workers"):
            key = key.decode()
            pid = conn.hget(key, "pid")
            if pid and not conn.hexists(key, "death"):
                names[int(pid)] = key.removeprefix("rq:worker:")
        return names

    def kill_busy_worker(self, patience: float = 5.0) -> KillEvent:
        """SIGKILL a worker while it holds a job (any worker once PATIENCE runs out)."""
        conn = Redis(port=self.redis_port, socket_timeout=1, socket_connect_timeout=0.5)
        deadline = time.monotonic() + patience
        names: dict[int, str] = {}
        try:
            while time.monotonic() < deadline:
                candidates = [w for w in self.workers if w.pid]
                self.rng.shuffle(candidates)
                if not all(w.pid in names for w in candidates):
                    names = self._rq_names(conn)
                for worker in candidates:
                    name = names.get(worker.pid)
                    if name is None:
                        continue
                    held = conn.smembers(f"rq:worker:{name}:executions")
                    if held:
                        pid = worker.pid
                        worker.kill()
                        jobs = sorted(m.decode().rsplit(":", 1)[0] for m in held)
                        return self._record(worker.name, pid, name, jobs)
                time.sleep(0.002)
        except Exception as exc:  # noqa: BLE001 - Redis may be down: kill blindly
            log(f"kill: cannot see what workers hold ({type(exc).__name__})")
        finally:
            conn.close()
        worker = self.rng.choice([w for w in self.workers if w.pid] or self.workers)
        pid = worker.pid or 0
        worker.kill()
        return self._record(worker.name, pid, names.get(pid), [])

    def _record(self, service: str, pid: int, rq_name: str | None, jobs: list[str]) -> KillEvent:
        event = KillEvent(service, pid, rq_name, jobs, time.monotonic() - self.started)
        self.kill_events.append(event)
        what = f"holding {', '.join(jobs)}" if jobs else "idle (no busy worker found)"
        log(f"kill {len(self.kill_events)}: SIGKILL {service} (pid {pid}) {what}")
        return event

    def _kill_loop(self) -> None:
        for i in range(self.kills):
            self._sleep_until(FIRST_KILL_AT + i * KILL_EVERY)
            self.kill_busy_worker()

    # --- outages ---------------------------------------------------------------------------

    def restart_redis(self) -> None:
        """Shut Redis down (it writes its append-only file), keep it down, start it again."""
        log(f"Redis: shutting down for {self.redis_outage:.0f} s")
        self.redis.stop(hold=True)
        time.sleep(self.redis_outage)
        self.redis.start()
        wait_port(self.redis_port)
        log("Redis: back")

    def postgres_outage(self) -> None:
        """Stop the PostgreSQL cluster (connections refused), then start it again."""
        log(f"PostgreSQL: stopping for {self.pg_outage:.0f} s")
        self.pg.stop()
        time.sleep(self.pg_outage)
        self.pg.start()
        log("PostgreSQL: back")

    def smtp_outage_now(self) -> None:
        """Stop the SMTP server, keep it down, start it again."""
        log(f"SMTP: stopping for {self.smtp_outage:.0f} s")
        self.smtp.stop(hold=True)
        time.sleep(self.smtp_outage)
        self.smtp.start()
        log("SMTP: back")

    def run(self) -> None:
        """Run the whole schedule; return when every fault is over."""
        self.started = time.monotonic()
        killer = threading.Thread(target=self._kill_loop, name="killer", daemon=True)
        killer.start()
        self._sleep_until(REDIS_AT)
        self.restart_redis()
        self._sleep_until(PG_AT)
        self.postgres_outage()
        self._sleep_until(SMTP_AT)
        self.smtp_outage_now()
        killer.join()
