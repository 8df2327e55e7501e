"""RQ's dashboard (rq-dashboard) at /admin/rq, for admins only, hardened around it.

rq-dashboard 0.9.0 works with rq 3.0 and Flask 3.1 (it imports `six` without declaring it:
pinned in requirements.txt). It is mounted as it ships, and this module closes what it
leaves open:

- access: anonymous visitors go to the login page, staff other than admins get 403;
- CSP: its pages run inline script and compile underscore templates with `new Function`,
  so its paths, and only its paths, get `'unsafe-inline' 'unsafe-eval'` in script-src;
- XSS: its job page writes a failed job's traceback into the page unescaped, and with that
  CSP an exception quoting a citizen's text could run script: every string of its JSON is
  HTML-escaped here, and scrubbed of personal data (PostgreSQL's error details quote rows);
- CSRF: its buttons post with jQuery and no token (Flask-WTF would refuse them): the
  blueprint is exempted, and every request that changes something (its POSTs, and the GET
  that requeues a queue's failed jobs) must come from this site (Origin or Referer);
- audit: every change made through it is in the audit log;
- Redis: it uses the app's connection (Sentinel-aware), not one built from a URL;
- robustness: only instance 0 exists; unknown registries and non-numeric pages are 404s
  (they were 500s).
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlparse

from flask import Flask, Response, abort, current_app, request
from flask_login import current_user

from hotline.log_privacy import scrub
from hotline.security import CSP

BLUEPRINT = "rq_dashboard"
URL_PREFIX = "/admin/rq"
REGISTRIES = frozenset(
    {"queued", "failed", "deferred", "started", "finished", "scheduled", "canceled"}
)
# Endpoints that change queues or jobs; requeue_all also answers GET.
CHANGES = frozenset(
    {"delete_job_view", "requeue_job_view", "requeue_all", "empty_queue", "compact_queue"}
)
RQ_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'")


def _same_origin() -> bool:
    """Whether the request comes from a page of this site (Origin, else Referer)."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return bool(source) and urlparse(source).netloc == request.host


def _guard() -> Response | None:
    if request.blueprint != BLUEPRINT:
        return None
    if not current_user.is_authenticated:
        from hotline.extensions import login_manager

        return login_manager.unauthorized()
    if current_user.role != "admin":
        abort(403)
    args = request.view_args or {}
    if args.get("instance_number", 0) != 0:
        abort(404)
    if "registry_name" in args and args["registry_name"] not in REGISTRIES:
        abort(404)
    if not all(str(args.get(k, "1")).isdigit() for k in ("per_page", "page")):
        abort(404)
    endpoint = (request.endpoint or "").split(".")[-1]
    if (request.method != "GET" or endpoint in CHANGES) and not _same_origin():
        abort(403)
    return None


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(scrub(value))
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def _harden_answer(response: Response) -> Response:
    if request.blueprint != BLUEPRINT:
        return response
    response.headers["Content-Security-Policy"] = RQ_CSP
    if response.mimetype == "application/json" and not response.direct_passthrough:
        data = json.loads(response.get_data(as_text=True) or "null")
        response.set_data(json.dumps(_escaped(data)))
    endpoint = (request.endpoint or "").split(".")[-1]
    if endpoint in CHANGES and response.status_code < 400:
        from hotline.auth import audit
        from hotline.extensions import db

        target = ":".join(str(v) for v in (request.view_args or {}).values())
        audit.record(
            f"admin.rq.{endpoint}", actor=current_user._get_current_object(), target=target
        )
        db.session.commit()
    return response


def _use_app_redis() -> None:
    # Runs after rq-dashboard's own hook, which builds a client from a URL on every request.
    # rq-dashboard reads its connection from an attribute it adds to the Flask app.
    current_app.redis_conn = current_app.extensions["hotline_redis"]  # type: ignore[attr-defined]


def register_rq_dashboard(app: Flask) -> None:
    """Mount rq-dashboard at /admin/rq with the guards above."""
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    from hotline.extensions import csrf

    blueprint = rq_dashboard.blueprint
    if _use_app_redis not in blueprint.before_request_funcs.get(None, []):
        blueprint.before_request(_use_app_redis)  # once per process, before any mounting
    # Its legacy-config step would read (and warn about) our REDIS_URL and REDIS_SENTINELS.
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_REDIS_SENTINELS", None)
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 5000)
    setup_rq_connection(app)
    app.redis_conn = app.extensions["hotline_redis"]  # type: ignore[attr-defined]  # as above
    csrf.exempt(blueprint)
    app.before_request(_guard)
    app.after_request(_harden_answer)
    app.register_blueprint(blueprint, url_prefix=URL_PREFIX)
