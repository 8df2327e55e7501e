"""Intake throughput: the signed Twilio SMS webhook under wrk, against a bare floor app.

Run by hand: `make bench-intake`. Starts gunicorn with the real app (production config,
PostgreSQL, Redis) and drives `POST /twilio/sms` with wrk at 16 connections for 15 s, each
request a fresh, correctly signed delivery (a new ticket every time). Then the same with a
floor app (one INSERT and one RQ enqueue per request) under the same gunicorn settings.
Each server is measured twice, in the order intake, floor, floor, intake (see ORDER); the
requests per second are the mean of a server's two runs, the p99 the worse of the
intake's two. Only 127.0.0.1 is used. Prints a last line
`RESULT intake_rps=... floor_rps=... ratio=... intake_p99_ms=...`.

Environment: BENCH_DATABASE_URL (a dedicated PostgreSQL database, emptied!), BENCH_REDIS_URL
(a dedicated Redis db, flushed!), BENCH_DURATION (15), BENCH_CONNECTIONS (16),
BENCH_WRK_THREADS (2), BENCH_GUNICORN_WORKERS (2), BENCH_GUNICORN_THREADS (4).
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench_intake"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
WORKERS = os.environ.get("BENCH_GUNICORN_WORKERS", "2")
THREADS = os.environ.get("BENCH_GUNICORN_THREADS", "4")
WARMUP = 3
AUTH_TOKEN = "bench-auth-token-" + secrets.token_hex(8)
VENV_BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "intake_wrk.lua"
SAMPLES = Path(os.environ.get("BENCH_SAMPLES", "/work/shared/data/complaints-dev.jsonl"))
FALLBACK_TEXTS = [
    "Khu vực tổ dân phố 5 phường Tân Lập mất điện từ 2 giờ chiều đến giờ chưa có lại",
    "nuoc sinh hoat o phuong Ea Kao bi duc va co mui hoi 3 ngay nay",
    "Đường Lê Duẩn đoạn gần ngã sáu có ổ gà rất lớn, đề nghị sửa gấp.",
]


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database() -> None:
    """Create the bench database if needed, then the schema and the province, from scratch."""
    url = make_url(DB_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    from hotline import create_app
    from hotline.extensions import db
    from hotline.province import province_folder
    from hotline.province.loader import load_province

    app = create_app(
        {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": DB_URL, "REDIS_URL": REDIS_URL}
    )
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS bench_floor_messages"))
        db.session.commit()
        db.create_all()
        load_province(province_folder())
        db.session.execute(
            text(
                "CREATE TABLE bench_floor_messages (id BIGSERIAL PRIMARY KEY, "
                "sid VARCHAR(64), body TEXT)"
            )
        )
        db.session.commit()
        app.extensions["hotline_redis"].flushdb()
        db.engine.dispose()


def sample_texts() -> list[str]:
    """Return realistic report texts (the dev set), with or without diacritics."""
    if SAMPLES.is_file():
        lines = SAMPLES.read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
        if texts:
            return texts
    return FALLBACK_TEXTS


def write_requests(path: Path, base_url: str, count: int) -> None:
    """Write COUNT signed deliveries, one "signature<TAB>body" line each, all distinct."""
    validator = RequestValidator(AUTH_TOKEN)
    url = base_url + "/twilio/sms"
    texts = sample_texts()
    rng = random.Random(1022)
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            params = {
                "MessageSid": f"SM{n:08d}{secrets.token_hex(12)}",
                "AccountSid": "AC" + "0" * 32,
                "From": f"+8491{rng.randrange(10**7):07d}",
                "To": "+842623001022",
                "Body": rng.choice(texts),
                "NumMedia": "0",
            }
            signature = validator.compute_signature(url, params)
            handle.write(f"{signature}\t{urlencode(params)}\n")


def start_gunicorn(target: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    """Start gunicorn on 127.0.0.1:PORT and wait until /healthz answers."""
    command = [
        str(VENV_BIN / "gunicorn"),
        "--workers",
        WORKERS,
        "--threads",
        THREADS,
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *target,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop(process: subprocess.Popen) -> None:
    """Stop the gunicorn we started (its own process group), waiting for it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> dict[str, float]:
    """Return the CPU time (user + system) used so far by gunicorn (ROOT_PID's process
    group) and by the PostgreSQL backends of the bench database, read from /proc.

    The machine is shared: requests per second move with everyone's load, CPU per request
    much less, so both are printed.
    """
    used = {"gunicorn": 0.0, "postgres": 0.0}
    database = make_url(DB_URL).database
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / _TICK
        if int(fields[2]) == root_pid:  # process group: the arbiter and its workers
            used["gunicorn"] += seconds
        elif command.startswith("postgres:") and f" {database} " in command:
            used["postgres"] += seconds
    return used


def run_wrk(port: int, data: Path, offset: int, seconds: int) -> dict[str, float]:
    """Run wrk against 127.0.0.1:PORT; return requests/s, p99 (ms) and non-2xx count."""
    command = [
        shutil.which("wrk") or "/usr/bin/wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        str(data),
        str(offset),
        str(WRK_THREADS),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99_value, p99_unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output).groups()
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "rps": rps,
        "p99_ms": float(p99_value) * _UNITS[p99_unit],
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
        "requests": total,
    }


def checkpoint() -> None:
    """Write PostgreSQL's dirty pages out now (CHECKPOINT), so that no run starts with the
    setup's or the previous run's backlog: a checkpoint during a run, with the full-page
    writes after it, costs that run alone. Skipped without the privilege to do it."""
    engine = create_engine(DB_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
    except Exception as exc:  # noqa: BLE001 - a bench without superuser still runs
        print(f"(no CHECKPOINT before the run: {type(exc).__name__})", flush=True)
    finally:
        engine.dispose()


def measure(label: str, target: list[str], env: dict[str, str], port: int, data: Path, lines: int):
    """Warm up, then measure one server; print its line and return the figures."""
    checkpoint()
    process = start_gunicorn(target, port, env)
    try:
        warmup = run_wrk(port, data, 0, WARMUP)
        before = cpu_seconds(process.pid)
        result = run_wrk(port, data, lines // 4, DURATION)
        after = cpu_seconds(process.pid)
    finally:
        stop(process)
    result["sent"] = warmup["requests"] + result["requests"]
    fresh = lines - lines // 4
    note = " (ran out of fresh deliveries: some were replays)" if result["requests"] > fresh else ""
    per_request = {k: 1000 * (after[k] - before[k]) / max(result["requests"], 1) for k in after}
    result.update({f"{k}_cpu_ms": v for k, v in per_request.items()})
    print(
        f"{label}: {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
        f"{result['requests']} requests, non-2xx {result['non_2xx']}, CPU per request: "
        f"gunicorn {per_request['gunicorn']:.2f} ms, PostgreSQL {per_request['postgres']:.2f} ms"
        f"{', ' + result['socket_errors'] if result['socket_errors'] else ''}{note}",
        flush=True,
    )
    return result


def count_intake(base_env: dict[str, str]) -> int:
    """Return how many SMS tickets the real app stored (each request must have made one)."""
    engine = create_engine(DB_URL)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM tickets WHERE channel = 'sms'")).scalar()
    engine.dispose()
    return int(count)


# The order of the measured runs: intake, floor, floor, intake. This machine's speed drifts
# by tens of percent over a minute (other tenants); in this order a drift weighs on both
# servers alike instead of on whichever ran second.
ORDER = ("intake", "floor", "floor", "intake")


def main() -> int:
    """Run the measurements (ABBA) and print the RESULT line last."""
    prepare_database()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    lines = int(os.environ.get("BENCH_REQUESTS", "40000"))
    env = {
        **os.environ,
        "HOTLINE_ENV": "production",
        "DATABASE_URL": DB_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secrets.token_hex(32),
        "PUBLIC_BASE_URL": base_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "BENCH_DATABASE_URL": DB_URL,
        "BENCH_REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    targets = {
        "intake": ["wsgi:app"],
        "floor": ["--pythonpath", str(ROOT / "bench"), "floor_app:app"],
    }
    runs: dict[str, list[dict[str, float]]] = {"intake": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        print(
            f"gunicorn {WORKERS} workers x {THREADS} threads; wrk {WRK_THREADS} threads, "
            f"{CONNECTIONS} connections, {DURATION} s per run (after {WARMUP} s warm-up), "
            f"runs in the order {', '.join(ORDER)}; "
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        for number, label in enumerate(ORDER):
            data = Path(tmp) / f"requests-{number}.tsv"  # fresh deliveries for every run
            write_requests(data, base_url, lines)
            runs[label].append(measure(label, targets[label], env, port, data, lines))
        sent = sum(run["sent"] for run in runs["intake"])
        stored = count_intake(env)
        print(f"intake stored {stored} SMS tickets for {sent} deliveries sent", flush=True)
    intake_rps = sum(run["rps"] for run in runs["intake"]) / len(runs["intake"])
    floor_rps = sum(run["rps"] for run in runs["floor"]) / len(runs["floor"])
    intake_p99 = max(run["p99_ms"] for run in runs["intake"])  # the worse of the two
    ratio = intake_rps / floor_rps if floor_rps else 0.0
    cpu = {
        label: sum(r["gunicorn_cpu_ms"] + r["postgres_cpu_ms"] for r in runs[label]) / 2
        for label in runs
    }
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    print(
        f"CPU per request (gunicorn + PostgreSQL): intake {cpu['intake']:.2f} ms, "
        f"floor {cpu['floor']:.2f} ms, ratio {cpu['floor'] / cpu['intake']:.2f}",
        flush=True,
    )
    print(
        f"RESULT intake_rps={intake_rps:.0f} floor_rps={floor_rps:.0f} "
        f"ratio={ratio:.2f} intake_p99_ms={intake_p99:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
