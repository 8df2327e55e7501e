"""RQ jobs: thin wrappers that take ids, call one service, and let errors reach RQ's retry.

Each job runs inside the app context set up by `workers.worker.AppWorker`.
"""

from __future__ import annotations

import os

from flask import current_app


def ping(source: str = "") -> dict:
    """A trivial job: proves a worker runs jobs inside the app context."""
    return {"pong": source, "app": current_app.name, "pid": os.getpid()}


def route_ticket(ticket_id: int) -> str:
    """Route a received ticket to the responsible agency (or to triage)."""
    from hotline.routing.services import route_ticket as route

    return route(ticket_id)


def recover_received() -> int:
    """Enqueue routing for tickets stored while Redis was down (still `received` after 1 min)."""
    from hotline.intake.recovery import enqueue_stale_received

    return enqueue_stale_received()


def sla_sweep() -> dict:
    """Update the SLA timers whose next check is due and climb the escalation ladder."""
    from dataclasses import asdict

    from hotline.sla.sweep import sweep

    return asdict(sweep())


def send_outbox_message(message_id: int) -> str:
    """Send one outbox row (SMS or email); failures are recorded on the row for a retry."""
    from hotline.notifications.sender import send_outbox_message as send

    return send(message_id)


def flush_outbox() -> int:
    """Enqueue a send job for every pending outbox row whose next attempt is due."""
    from hotline.notifications.sender import flush_outbox as flush

    return flush()


def send_digests() -> dict:
    """Queue today's digests (the scheduler runs it at 07:00; non-working days are skipped)."""
    from hotline.sla.digest import send_digests as digests

    report = digests()
    return {"day": report.day.isoformat(), "skipped": report.skipped, "messages": report.messages}


def fetch_recording(attachment_id: int) -> str:
    """Download a call recording from Twilio into the attachment store (retried by RQ)."""
    from hotline.intake.recordings import fetch_recording as fetch

    return fetch(attachment_id)


def recover_recordings() -> int:
    """Re-enqueue the recording downloads whose job was lost (Redis down at the callback)."""
    from hotline.intake.recordings import enqueue_missed_recordings

    return enqueue_missed_recordings()
