"""Tests of the operations surface: security headers, request ids, /metrics, JSON logs, doctor."""

from __future__ import annotations

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from hotline.observability import RequestIdFilter, request_id_var


def test_security_headers_on_every_page(client):
    """Test that responses carry a CSP without inline script, nosniff and frame-ancestors none."""
    response = client.get("/healthz")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_request_id_is_echoed_or_made(client):
    """Test that a safe incoming X-Request-ID is kept and a missing one is generated."""
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; drop"}).headers["X-Request-ID"]
    assert made != "bad id; drop" and len(made) == 32


def test_metrics_from_loopback(client):
    """Test that /metrics serves request counters and live gauges to a local scraper."""
    client.get("/healthz")
    body = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert "hotline_http_requests_total" in body
    assert 'hotline_queue_depth{queue="high"}' in body


def test_metrics_refused_to_strangers(app, client):
    """Test that /metrics is refused from elsewhere, and needs the bearer token when one is set."""
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    app.config["METRICS_TOKEN"] = "s3cret"
    try:
        assert client.get("/metrics").status_code == 403
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
    finally:
        app.config.pop("METRICS_TOKEN")


def test_json_log_lines_carry_the_request_id():
    """Test that a log line is one JSON object with the current request id."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("hotline.test.json")
    logger.addHandler(handler)
    token = request_id_var.set("req-42")
    try:
        logger.warning("ticket stored")
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "ticket stored" and line["request_id"] == "req-42"


def test_doctor_reports_problems_in_plain_words(runner):
    """Test that doctor names what is missing (no worker, no scheduler) and exits non-zero."""
    result = runner.invoke(args=["hotline", "doctor", "--offline"])
    assert result.exit_code != 0
    assert "[ok] redis: Redis answers" in result.output
    assert "no worker is running" in result.output
    assert "no scheduler" in result.output
