"""Operations: structured JSON logs with a request id, and Prometheus metrics at /metrics."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from contextvars import ContextVar

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from hotline.log_privacy import PrivateJsonFormatter

# The request id of the work in hand: set per request, and per job from the job's meta.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

REQUESTS = Counter(
    "hotline_http_requests_total",
    "HTTP requests by route and status",
    ["route", "method", "status"],
)
LATENCY = Histogram("hotline_http_request_seconds", "HTTP request duration by route", ["route"])
INTAKE = Counter("hotline_intake_total", "Tickets created by channel", ["channel"])
JOBS = Counter("hotline_jobs_total", "Jobs run by this process, by outcome", ["job", "outcome"])

bp = Blueprint("metrics", __name__)
# RQ's loggers that log every job (and set their own level when RQ is imported).
RQ_LOGGERS = ("rq.worker", "rq.job", "rq.scheduler")


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO", stream=None) -> logging.Handler | None:
    """Send JSON lines to STREAM (stderr), each with the request id (idempotent).

    LEVEL is the root logger's (the app's LOG_LEVEL); RQ's worker and job loggers follow it.

    Returns:
        The handler added, or None when one was already there.
    """
    root = logging.getLogger()
    if any(getattr(h, "_hotline", False) for h in root.handlers):
        return None
    handler = logging.StreamHandler(stream)
    handler._hotline = True  # type: ignore[attr-defined]
    handler.setFormatter(
        PrivateJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # RQ sets its worker's logger to INFO when it is imported (rq.worker): back to NOTSET,
    # so the job lines follow LOG_LEVEL like every other line (quiet in development).
    for name in RQ_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    return handler


def init_observability(app: Flask) -> None:
    """Request ids, access metrics, and the /metrics route."""
    if app.config.get("JSON_LOGS", True) and not app.testing:
        configure_logging(app.config.get("LOG_LEVEL") or "INFO")

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        g.request_id_token = request_id_var.set(g.request_id)

    @app.after_request
    def _finish(response):
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)

    app.register_blueprint(bp)


class _LiveCollector:
    """Gauges read at scrape time: queue depths and job registries from Redis, SLA states."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from rq import Queue
        from sqlalchemy import func, select

        from hotline.extensions import db
        from hotline.models import AGENCY_STATUSES, Ticket

        depth = GaugeMetricFamily(
            "hotline_queue_depth", "Jobs waiting per RQ queue", labels=["queue"]
        )
        registry = GaugeMetricFamily(
            "hotline_jobs_by_state", "RQ jobs by queue and state", labels=["queue", "state"]
        )
        conn = self.app.extensions["hotline_redis"]
        try:
            for name in self.app.config["RQ_QUEUES"]:
                queue = Queue(name, connection=conn)
                depth.add_metric([name], queue.count)
                registry.add_metric([name, "started"], queue.started_job_registry.count)
                registry.add_metric([name, "failed"], queue.failed_job_registry.count)
                registry.add_metric([name, "finished"], queue.finished_job_registry.count)
        except Exception:  # Redis down: no queue gauges, the scrape still succeeds
            pass
        yield depth
        yield registry
        sla = GaugeMetricFamily(
            "hotline_open_tickets_by_sla_state",
            "Open tickets by resolve-timer state",
            labels=["state"],
        )
        rows = db.session.execute(
            select(Ticket.resolve_state, func.count())
            .where(Ticket.status.in_(AGENCY_STATUSES))
            .group_by(Ticket.resolve_state)
        ).all()
        for state, count in rows:
            sla.add_metric([state or "none"], count)
        yield sla


def _allowed_to_scrape() -> bool:
    """With METRICS_TOKEN set, the scraper must send it as a bearer token (from anywhere,
    since behind a proxy on this machine every client looks local); without, only loopback.
    """
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # Compared in constant time: the answer's timing says nothing of how much matched.
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8"), token.encode("utf-8")
        )
    return request.remote_addr in ("127.0.0.1", "::1")


@bp.get("/metrics")
def metrics():
    """Prometheus metrics: counters (of all processes in multiprocess mode) and live gauges."""
    if not _allowed_to_scrape():
        abort(403)
    registry = CollectorRegistry()
    multiproc_dir = current_app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    payload = generate_latest(registry)
    live = CollectorRegistry()
    live.register(_LiveCollector(current_app))
    payload += generate_latest(live)
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)
