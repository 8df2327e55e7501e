"""`flask --app wsgi hotline ...`: province loading, users, API keys, demo data."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from config.settings import PASSWORD_VARIABLE, password_from_env
from hotline.extensions import db


@click.group("hotline")
def hotline_cli() -> None:
    """Hotline 1022 administration commands."""


@hotline_cli.command("load-province")
@click.argument("name", required=False)
@click.option("--folder", type=click.Path(path_type=Path), help="Read this folder instead.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_appcontext
def load_province_command(name: str | None, folder: Path | None, quiet: bool) -> None:
    """Load (or update) a province's reference data: an idempotent upsert."""
    from tqdm import tqdm

    from hotline.cache import invalidate_caches
    from hotline.province import province_folder
    from hotline.province.files import ProvinceDataError
    from hotline.province.loader import load_province

    folder = folder or province_folder(name)

    def progress(items, label):
        return tqdm(items, desc=label, unit=" rows", disable=quiet, file=sys.stderr, leave=False)

    try:
        report = load_province(folder, progress=progress)
    except ProvinceDataError as exc:
        raise click.ClickException(str(exc)) from None
    invalidate_caches()  # every reference table may have changed
    for label, count in report.counts.items():
        click.echo(f"{label}: {count} ({report.created.get(label, 0)} new)")


@hotline_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["operator", "agent", "agency_head", "supervisor", "admin"]),
)
@click.option("--agency", "agency_code", help="Agency code (required for agents and heads).")
@click.option(
    "--password-env",
    default=PASSWORD_VARIABLE,
    show_default=True,
    help="Read the password from this environment variable when it is set.",
)
@with_appcontext
def create_user_command(email, name, role, agency_code, password_env) -> None:
    """Create a member of staff (asks for the password twice unless the variable is set)."""
    from hotline.users import UserError, create_user

    password = password_from_env(password_env) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        user = create_user(
            email=email, name=name, role=role, agency_code=agency_code, password=password
        )
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    from hotline.auth import audit

    # From a shell, no member of staff is signed in: the entry has no actor.
    audit.record("cli.user.create", actor=None, target=f"user:{user.id}", data={"role": role})
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


@hotline_cli.command("create-api-key")
@click.argument("name")
@with_appcontext
def create_api_key_command(name: str) -> None:
    """Create an API key; it is printed once and stored only hashed."""
    from hotline.auth import audit
    from hotline.models import ApiKey

    key, raw = ApiKey.generate(name)
    db.session.add(key)
    db.session.flush()
    audit.record("cli.api_key.create", actor=None, target=f"api_key:{key.id}", data={"name": name})
    db.session.commit()
    click.echo(f"API key for {name} (shown once, keep it safe):")
    click.echo(raw)


@hotline_cli.command("demo")
@click.option("--tickets", default=300, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when tickets already exist.")
@with_appcontext
def demo_command(tickets: int, if_empty: bool) -> None:
    """Create demo users for each role and realistic demo tickets; print the logins."""
    from hotline.demo import DEMO_PASSWORD, create_demo_data
    from hotline.models import Ticket

    if if_empty and db.session.execute(select(Ticket.id).limit(1)).first():
        click.echo("demo data already present")
        users = None
    else:
        users = create_demo_data(tickets)
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo(f"\nHotline 1022 is at {base}/  (staff: {base}/login)")
    click.echo(f"Demo logins (password: {DEMO_PASSWORD}):")
    from hotline.demo import DEMO_USERS

    for email, _name, role, agency in DEMO_USERS:
        click.echo(f"  {role:12} {email}" + (f"  ({agency})" if agency else ""))
    if users is not None:
        click.echo(f"created {users} demo users and {tickets} tickets")


@hotline_cli.command("enqueue-ping")
@with_appcontext
def enqueue_ping_command() -> None:
    """Enqueue a trivial job and print its id (checks that a worker runs jobs)."""
    from hotline.jobs import get_queue

    job = get_queue("default").enqueue("workers.jobs.ping", "cli")
    click.echo(job.id)


@hotline_cli.command("send-digest")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The digest's date (default: today in the province).",
)
@with_appcontext
def send_digest_command(day) -> None:
    """Queue the daily digest emails now (once per recipient and day), even on a day off."""
    from hotline.sla.digest import send_digests

    report = send_digests(day.date() if day else None, only_working_days=False)
    click.echo(
        f"digest {report.day.isoformat()}: {report.agencies} agencies with late tickets, "
        f"{report.messages} emails queued"
    )


@hotline_cli.command("doctor")
@click.option("--offline", is_flag=True, help="Skip the SMTP and Twilio checks.")
@with_appcontext
def doctor_command(offline: bool) -> None:
    """Check configuration, database, Redis, workers, scheduler, SMTP and Twilio."""
    from hotline.doctor import run_checks

    findings = run_checks(current_app, network=not offline)
    for f in findings:
        click.echo(f"[{'ok' if f.ok else 'PROBLEM'}] {f.check}: {f.message}")
    problems = [f for f in findings if not f.ok]
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found")
    click.echo("all checks passed")


# The simulator's commands live in its package (`hotline simulate sms|call`).
from hotline.simulator.cli import simulate_cli  # noqa: E402

hotline_cli.add_command(simulate_cli)
