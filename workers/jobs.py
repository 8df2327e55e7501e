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
