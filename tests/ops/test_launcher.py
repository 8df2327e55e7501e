"""scripts/launch.py (`make run`): the development mail sink keeps every email, and the state
the launcher leaves in instance/ is what the development settings read."""

from __future__ import annotations

import importlib.util
import json
import mailbox
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_launcher():
    spec = importlib.util.spec_from_file_location("hotline_launch", ROOT / "scripts" / "launch.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launch = _load_launcher()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_an_email_sent_to_the_dev_sink_lands_in_the_maildir(tmp_path):
    """Test that the sink delivers into a Maildir whose folder existed, empty, beforehand.

    That is how `make run` found instance/mail: aiosmtpd's Maildir then lacked tmp/new/cur
    and every delivery failed.
    """
    maildir = tmp_path / "mail"
    maildir.mkdir()
    port = free_port()
    sink = launch.start_mail_sink(maildir, port)
    try:
        wait_for_port(port)
        message = EmailMessage()
        message["From"] = "no-reply@1022.local"
        message["To"] = "dienluc@demo.1022.vn"
        message["Subject"] = "Phiếu 1022 quá hạn"
        message.set_content("Có 3 phiếu quá hạn.")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
        deadline = time.monotonic() + 10
        while not list((maildir / "new").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sink.terminate()
        sink.wait(10)
    kept = list(mailbox.Maildir(maildir, create=False))
    assert len(kept) == 1
    assert kept[0]["To"] == "dienluc@demo.1022.vn"
    assert "3 phi" in kept[0].get_payload(decode=True).decode("utf-8")


def test_prepare_maildir_repairs_a_folder_made_without_its_subfolders(tmp_path):
    """Test that an existing empty Maildir folder gets tmp, new and cur."""
    (tmp_path / "mail").mkdir()
    launch.prepare_maildir(tmp_path / "mail")
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["cur", "new", "tmp"]


def test_record_redis_url_writes_and_removes_the_file(tmp_path):
    """Test that the embedded Redis's URL is recorded, and removed when none was started."""
    path = tmp_path / "instance" / "redis_url"
    launch.record_redis_url("unix:///tmp/redis.sock?db=0", path)
    assert path.read_text() == "unix:///tmp/redis.sock?db=0\n"
    launch.record_redis_url(None, path)
    assert not path.exists()
    launch.record_redis_url(None, path)  # nothing to remove: no error


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of config/ in a checkout of its own, so instance/ there is the test's."""
    shutil.copytree(ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.csv"))
    (tmp_path / "instance").mkdir()
    return tmp_path


def settings_seen(checkout: Path, code: str = "", **env: str) -> dict:
    """Return what a fresh process sees in the settings of CHECKOUT (HOTLINE_ENV as given).

    Only PATH and ENV are passed: the suite's own TEST_* or UPLOAD_DIR stay out of it.
    """
    snippet = (
        "import json\n"
        "import config.settings as s\n"
        f"{code}\n"
        "c = s.config_for()\n"
        "print(json.dumps({k: getattr(c, k) for k in ('SECRET_KEY', 'REDIS_URL', 'SMTP_HOST',"
        " 'SMTP_PORT', 'MAIL_SINK', 'LOG_LEVEL', 'METRICS_TOKEN', 'PROMETHEUS_MULTIPROC_DIR',"
        " 'PUBLIC_BASE_URL', 'BIND')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=checkout,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(checkout), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_command_in_another_shell_sees_the_launchers_secret_and_redis(checkout):
    """Test that development settings read instance/secret_key and instance/redis_url.

    The launcher writes them; `flask --app wsgi hotline doctor` typed elsewhere, without
    SECRET_KEY or REDIS_URL, must then use the same key and the same (embedded) Redis.
    """
    before = settings_seen(checkout, HOTLINE_ENV="development")
    assert before["SECRET_KEY"] == "dev-insecure-secret-key-change-me"
    assert before["REDIS_URL"] == "redis://127.0.0.1:6379/0"

    key = settings_seen(checkout, "s.ensure_secret_key_file()", HOTLINE_ENV="development")
    written = (checkout / "instance" / "secret_key").read_text().strip()
    assert len(written) == 64 and key["SECRET_KEY"] != written  # read at import, before
    launch.record_redis_url("unix:///tmp/x/redis.sock?db=0", checkout / "instance" / "redis_url")

    after = settings_seen(checkout, HOTLINE_ENV="development")
    assert after["SECRET_KEY"] == written
    assert after["REDIS_URL"] == "unix:///tmp/x/redis.sock?db=0"
    again = settings_seen(checkout, "s.ensure_secret_key_file()", HOTLINE_ENV="development")
    assert again["SECRET_KEY"] == written  # the key is kept, not replaced

    explicit = settings_seen(
        checkout, HOTLINE_ENV="development", SECRET_KEY="k" * 40, REDIS_URL="redis://r:6379/4"
    )
    assert (explicit["SECRET_KEY"], explicit["REDIS_URL"]) == ("k" * 40, "redis://r:6379/4")
    production = settings_seen(checkout, HOTLINE_ENV="production", SECRET_KEY="p" * 40)
    assert production["SECRET_KEY"] == "p" * 40
    assert production["REDIS_URL"] == "redis://127.0.0.1:6379/0"  # no launcher state


def test_development_mail_goes_to_the_sink_unless_a_server_is_named(checkout):
    """Test that development without SMTP_HOST uses the launcher's sink on port 8025."""
    dev = settings_seen(checkout, HOTLINE_ENV="development")
    assert (dev["MAIL_SINK"], dev["SMTP_HOST"], dev["SMTP_PORT"]) == (True, "127.0.0.1", 8025)
    named = settings_seen(checkout, HOTLINE_ENV="development", SMTP_HOST="mail.example.vn")
    assert (named["MAIL_SINK"], named["SMTP_PORT"]) == (False, 25)
    production = settings_seen(checkout, HOTLINE_ENV="production", SECRET_KEY="p" * 40)
    assert (production["MAIL_SINK"], production["SMTP_PORT"]) == (False, 25)


def test_log_level_metrics_and_port_come_from_the_environment(checkout):
    """Test that LOG_LEVEL (quiet by default in development), METRICS_TOKEN,
    PROMETHEUS_MULTIPROC_DIR and PORT are read by the settings."""
    dev = settings_seen(checkout, HOTLINE_ENV="development")
    assert dev["LOG_LEVEL"] == "WARNING"
    assert (dev["PUBLIC_BASE_URL"], dev["BIND"]) == ("http://127.0.0.1:5000", "127.0.0.1:5000")
    production = settings_seen(
        checkout,
        HOTLINE_ENV="production",
        SECRET_KEY="p" * 40,
        METRICS_TOKEN="tok",
        PROMETHEUS_MULTIPROC_DIR="/run/x",
        PORT="8000",
    )
    assert production["LOG_LEVEL"] == "INFO"
    assert production["METRICS_TOKEN"] == "tok"
    assert production["PROMETHEUS_MULTIPROC_DIR"] == "/run/x"
    assert production["BIND"] == "0.0.0.0:8000"
    assert settings_seen(checkout, HOTLINE_ENV="development", LOG_LEVEL="debug")["LOG_LEVEL"] == (
        "DEBUG"
    )


def test_wait_until_up_waits_for_web_worker_and_scheduler(monkeypatch):
    """Test that the banner waits for a new worker and scheduler, not a dead run's ones."""
    names = iter([{"worker old"}, {"worker old", "worker new"}, {"worker new", "cron c1"}])
    monkeypatch.setattr(launch, "background_names", lambda config: next(names))
    monkeypatch.setattr(launch, "web_answers", lambda url: True)
    monkeypatch.setattr(launch.time, "sleep", lambda seconds: None)

    class Running:
        def poll(self):
            return None

    assert launch.wait_until_up("http://x/", {}, {"worker old"}, Running(), 5.0)
    with pytest.raises(StopIteration):
        next(names)  # all three looks were needed


def test_a_misspelt_log_level_stops_with_a_clear_message(checkout):
    """Test that LOG_LEVEL=verbose is refused by name, not by a logging traceback later."""
    with pytest.raises(subprocess.CalledProcessError) as failed:
        settings_seen(checkout, HOTLINE_ENV="production", LOG_LEVEL="verbose")
    assert "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'VERBOSE'" in (
        failed.value.stderr
    )
