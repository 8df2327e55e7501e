"""`make chaos`: the whole stack on this machine, under load, through faults; prints counts.

Two gunicorn instances behind nginx (TLS), three workers, the `rq cron` scheduler, a
PostgreSQL cluster and a Redis server of the drill's own, an SMTP server and an SMS carrier
on loopback. While citizens report through every channel, the drill SIGKILLs a busy worker
ten times, restarts Redis, stops PostgreSQL for 10 s and the SMTP server for a minute; then
it waits for the system to settle and checks that every accepted report is stored and
routed once, and that no SMS or email went out twice. The last line is

    RESULT submitted=N stored=N routed=N duplicates=0 lost=0 sms_sent_twice=0 emails_sent_twice=0

Settings (environment): CHAOS_SMTP_OUTAGE (s, default 60), CHAOS_PG_OUTAGE (10),
CHAOS_REDIS_OUTAGE (5), CHAOS_KILLS (10), CHAOS_RATE (reports/s, 6), CHAOS_THREADS (6),
CHAOS_SETTLE_TIMEOUT (s, 600), CHAOS_PG_PORT (5440), CHAOS_KEEP=1 keeps the logs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chaos_count import count_results, settle  # noqa: E402
from bench.chaos_faults import Faults  # noqa: E402
from bench.chaos_load import LoadConfig, LoadGenerator  # noqa: E402
from bench.chaos_services import (  # noqa: E402
    ROOT,
    Carrier,
    PostgresCluster,
    Service,
    Supervisor,
    free_port,
    log,
    render_nginx_conf,
    self_signed_certificate,
    wait_port,
)

VENV_BIN = Path(sys.executable).parent
DATABASE = "hotline_chaos"


def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def app_environment(tmp: Path, pg_url: str, ports: dict[str, int], secret: dict[str, str]) -> dict:
    """The environment of every app process: production settings, the drill's services."""
    (tmp / "uploads").mkdir()
    (tmp / "prometheus").mkdir()
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
        "HOTLINE_ENV": "production",
        "SECRET_KEY": secret["key"],
        "DATABASE_URL": pg_url,
        "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "PUBLIC_BASE_URL": f"https://127.0.0.1:{ports['nginx']}",
        "TRUSTED_PROXIES": "1",
        "TWILIO_ACCOUNT_SID": secret["sid"],
        "TWILIO_AUTH_TOKEN": secret["twilio"],
        "TWILIO_NUMBER": "+15005550006",
        "SMS_PROVIDER": "gateway",
        "SMS_GATEWAY_SEND_URL": f"http://127.0.0.1:{ports['carrier']}/send",
        "SMS_GATEWAY_SECRET": secret["gateway"],
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(ports["smtp"]),
        "SMTP_TIMEOUT": "5",
        "UPLOAD_DIR": str(tmp / "uploads"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
    }


def flask(env: dict, *args: str) -> str:
    """Run `flask --app wsgi ARGS` in the drill's environment; return its output."""
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_stack(sup: Supervisor, tmp: Path, env: dict, ports: dict[str, int]) -> dict:
    """Start web, workers, scheduler and nginx; return the services by role."""
    logs = tmp / "logs"
    web = [
        sup.add(
            Service(
                f"web-{i + 1}",
                [
                    str(VENV_BIN / "gunicorn"),
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--bind",
                    f"127.0.0.1:{ports[f'web{i + 1}']}",
                    "--timeout",
                    "30",
                    "--graceful-timeout",
                    "5",
                    "wsgi:app",
                ],
                env,
                logs / f"web-{i + 1}.log",
            )
        )
        for i in range(2)
    ]
    workers = [
        sup.add(
            Service(
                f"worker-{i + 1}",
                [sys.executable, "-m", "workers", "high", "default", "low"],
                env,
                logs / f"worker-{i + 1}.log",
            )
        )
        for i in range(3)
    ]
    scheduler = sup.add(
        Service(
            "scheduler",
            [
                str(VENV_BIN / "rq"),
                "cron",
                "--url",
                env["REDIS_URL"],
                str(ROOT / "workers" / "cron_config.py"),
            ],
            {**env, "TZ": "Asia/Ho_Chi_Minh"},
            logs / "scheduler.log",
        )
    )
    nginx_dir = tmp / "nginx"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (nginx_dir / "temp" / sub).mkdir(parents=True)
    os.chmod(nginx_dir / "temp", 0o777)
    cert, key = self_signed_certificate(nginx_dir)
    upstreams = "\n".join(
        f"        server 127.0.0.1:{ports[f'web{i}']} max_fails=1 fail_timeout=10s;" for i in (1, 2)
    )
    conf = render_nginx_conf(
        ROOT / "deploy" / "nginx" / "hotline.conf.template",
        {
            "WORKER_PROCESSES": "2",
            "PID_FILE": str(nginx_dir / "nginx.pid"),
            "ERROR_LOG": str(logs / "nginx-error.log"),
            "ACCESS_LOG": str(logs / "nginx-access.log"),
            "MIME_TYPES": "/etc/nginx/mime.types",
            "TEMP_DIR": str(nginx_dir / "temp"),
            "UPSTREAM_SERVERS": upstreams,
            "LISTEN": f"127.0.0.1:{ports['nginx']}",
            "SERVER_NAME": "127.0.0.1",
            "TLS_CERT": str(cert),
            "TLS_KEY": str(key),
            "STATIC_ROOT": str(ROOT / "hotline" / "static"),
        },
    )
    (nginx_dir / "nginx.conf").write_text(conf)
    nginx = sup.add(
        Service(
            "nginx",
            [
                "/usr/sbin/nginx",
                "-p",
                str(nginx_dir),
                "-c",
                str(nginx_dir / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            env,
            logs / "nginx.log",
        )
    )
    for name in ("web1", "web2", "nginx"):
        wait_port(ports[name], timeout=60)
    return {"web": web, "workers": workers, "scheduler": scheduler, "nginx": nginx, "cert": cert}


def main() -> int:
    """Run the drill; return 0 when nothing was lost, duplicated or sent twice."""
    smtp_outage = _env_number("CHAOS_SMTP_OUTAGE", 60)
    tmp = Path(tempfile.mkdtemp(prefix="hotline-chaos-"))
    os.chmod(tmp, 0o755)  # nginx's workers (nobody) reach their temp folders through it
    (tmp / "logs").mkdir()
    sup = Supervisor()
    pg = PostgresCluster(port=int(_env_number("CHAOS_PG_PORT", 5440)))
    carrier: Carrier | None = None
    load: LoadGenerator | None = None
    ok = False
    line = ""
    secret = {
        "key": secrets.token_hex(32),
        "sid": "AC" + secrets.token_hex(16),
        "twilio": secrets.token_hex(16),
        "gateway": secrets.token_hex(16),
    }
    try:
        log(f"drill folder {tmp}")
        pg.ensure()
        pg.start()
        pg.recreate(DATABASE)
        ports = {n: free_port() for n in ("redis", "smtp", "nginx", "web1", "web2")}
        carrier = Carrier(secret["gateway"], tmp / "carrier.jsonl")
        ports["carrier"] = carrier.port
        carrier.start()
        redis = sup.add(
            Service(
                "redis",
                [
                    "redis-server",
                    "--port",
                    str(ports["redis"]),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(tmp),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                ],
                {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                tmp / "logs" / "redis.log",
            )
        )
        smtp = sup.add(
            Service(
                "smtp",
                [
                    sys.executable,
                    str(ROOT / "bench" / "chaos_smtp.py"),
                    str(ports["smtp"]),
                    str(tmp / "smtp.jsonl"),
                ],
                {"PATH": os.environ.get("PATH", "")},
                tmp / "logs" / "smtp.log",
            )
        )
        wait_port(ports["redis"])
        wait_port(ports["smtp"])
        env = app_environment(tmp, pg.url(DATABASE), ports, secret)
        log("migrating, loading the province, creating an API key")
        flask(env, "db", "upgrade")
        flask(env, "hotline", "load-province", "--quiet")
        api_key = flask(env, "hotline", "create-api-key", "chaos-drill").strip().splitlines()[-1]
        stack = start_stack(sup, tmp, env, ports)
        sup.begin()
        log(
            "stack up: nginx -> 2 gunicorn (2 processes x 4 threads each), 3 workers, "
            "1 scheduler, PostgreSQL, Redis, SMTP, carrier"
        )

        load = LoadGenerator(
            LoadConfig(
                base_url=env["PUBLIC_BASE_URL"],
                ca_file=str(stack["cert"]),
                run_id=secrets.token_hex(3),
                twilio_token=secret["twilio"],
                twilio_sid=secret["sid"],
                twilio_number=env["TWILIO_NUMBER"],
                gateway_secret=secret["gateway"],
                api_key=api_key,
                threads=int(_env_number("CHAOS_THREADS", 6)),
                rate=_env_number("CHAOS_RATE", 6),
            )
        )
        faults = Faults(
            workers=stack["workers"],
            redis=redis,
            redis_port=ports["redis"],
            smtp=smtp,
            pg=pg,
            kills=int(_env_number("CHAOS_KILLS", 10)),
            pg_outage=_env_number("CHAOS_PG_OUTAGE", 10),
            redis_outage=_env_number("CHAOS_REDIS_OUTAGE", 5),
            smtp_outage=smtp_outage,
        )
        started = time.monotonic()
        load.start()
        log("load started")
        faults.run()  # returns when every fault is over
        time.sleep(10)  # some load on the recovered system too
        load.stop()
        load.save(tmp / "submissions.jsonl")
        log(
            f"load stopped after {time.monotonic() - started:.0f} s: "
            f"{len(load.submissions)} submissions"
        )
        settled = settle(
            pg.url(DATABASE), load.submissions, timeout=_env_number("CHAOS_SETTLE_TIMEOUT", 600)
        )
        result = count_results(
            pg.url(DATABASE),
            env["REDIS_URL"],
            load.submissions,
            carrier,
            tmp / "smtp.jsonl",
            faults,
            sup,
        )
        ok = settled and result.clean
        line = result.line if settled else result.line + " (NOT SETTLED)"
    finally:
        if load is not None:
            load.stop_event.set()
        sup.stop_all()
        if carrier is not None:
            carrier.stop()
        pg.stop()
        if ok and not os.environ.get("CHAOS_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"logs kept in {tmp}")
    # The counts come last, after every process is stopped.
    print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
