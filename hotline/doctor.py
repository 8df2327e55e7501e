"""`flask --app wsgi hotline doctor`: checks a deployment and says what is wrong in plain words."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import text

from config.settings import INSECURE_SECRET
from hotline.extensions import db
from hotline.timeutil import utcnow

HEARTBEAT_STALE = timedelta(minutes=3)


@dataclass
class Finding:
    """One check: its name, whether it passed, and a sentence for the operator."""

    check: str
    ok: bool
    message: str


def _config(app: Flask) -> list[Finding]:
    cfg = app.config
    out = []
    secret = cfg.get("SECRET_KEY") or ""
    if secret == INSECURE_SECRET or len(secret) < 32:
        out.append(Finding("config", False, "SECRET_KEY is the development value or too short."))
    base = cfg.get("PUBLIC_BASE_URL", "")
    if not base.startswith("https://") and cfg.get("ENV_NAME") == "production":
        out.append(Finding("config", False, f"PUBLIC_BASE_URL ({base}) is not https."))
    if not cfg.get("TWILIO_VALIDATE_SIGNATURES", True):
        out.append(Finding("config", False, "Twilio signature checks are OFF."))
    if not cfg.get("SMS_GATEWAY_SECRET"):
        out.append(
            Finding("config", False, "SMS_GATEWAY_SECRET is empty: the carrier gateway is refused.")
        )
    if not out:
        out.append(Finding("config", True, "configuration looks complete"))
    return out


def _database() -> Finding:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        return Finding("database", False, f"cannot reach the database ({type(exc).__name__}).")
    try:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from flask import current_app

        script = ScriptDirectory(current_app.extensions["migrate"].directory)
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
        if set(current) != set(script.get_heads()):
            return Finding(
                "database",
                False,
                "migrations are not up to date: run `flask --app wsgi db upgrade`.",
            )
    except Exception as exc:
        return Finding(
            "database", False, f"cannot read the migration state ({type(exc).__name__})."
        )
    return Finding("database", True, "database answers and is migrated")


def _redis_and_scheduler(app: Flask) -> list[Finding]:
    from rq import Worker
    from rq.cron import CronScheduler

    conn = app.extensions["hotline_redis"]
    try:
        conn.ping()
    except Exception as exc:
        return [Finding("redis", False, f"cannot reach Redis at REDIS_URL ({type(exc).__name__}).")]
    out = [Finding("redis", True, "Redis answers")]
    workers = Worker.all(connection=conn)
    out.append(
        Finding("workers", bool(workers), f"{len(workers)} worker(s) running")
        if workers
        else Finding("workers", False, "no worker is running: nothing will be routed or sent.")
    )
    schedulers = CronScheduler.all(connection=conn)
    beats = [s.last_heartbeat for s in schedulers if s.last_heartbeat]
    if not beats:
        out.append(
            Finding(
                "scheduler", False, "no scheduler (rq cron) has reported: no SLA sweep, no digest."
            )
        )
    elif utcnow() - max(beats) > HEARTBEAT_STALE:
        out.append(
            Finding("scheduler", False, f"the scheduler's last heartbeat is old ({max(beats)}).")
        )
    else:
        out.append(Finding("scheduler", True, f"{len(schedulers)} scheduler(s) alive"))
    return out


def _smtp(app: Flask) -> Finding:
    cfg = app.config
    try:
        with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=5) as smtp:
            smtp.ehlo()
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USERNAME"):
                smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD", ""))
    except Exception as exc:
        where = f"{cfg['SMTP_HOST']}:{cfg['SMTP_PORT']}"
        return Finding("smtp", False, f"cannot use the SMTP server {where} ({type(exc).__name__}).")
    return Finding("smtp", True, "SMTP server accepts us")


def _twilio(app: Flask) -> Finding:
    cfg = app.config
    sid, token = cfg.get("TWILIO_ACCOUNT_SID"), cfg.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        return Finding("twilio", False, "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set.")
    try:
        from twilio.rest import Client

        Client(sid, token).api.v2010.accounts(sid).fetch()
    except Exception as exc:
        return Finding(
            "twilio", False, f"Twilio refused or could not be reached ({type(exc).__name__})."
        )
    return Finding("twilio", True, "Twilio credentials are valid")


def run_checks(app: Flask, *, network: bool = True) -> list[Finding]:
    """Run every check; NETWORK=False skips those that call outside services (SMTP, Twilio)."""
    findings = [*_config(app), _database(), *_redis_and_scheduler(app)]
    if network:
        findings += [_smtp(app), _twilio(app)]
    return findings
