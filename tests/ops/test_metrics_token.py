"""/metrics with METRICS_TOKEN: a remote Prometheus scrapes with the bearer token, no one else."""

from __future__ import annotations

import hmac

import pytest

import hotline.observability as observability

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def token(app):
    """METRICS_TOKEN set on the app for one test."""
    app.config["METRICS_TOKEN"] = "9f2c-scrape-token"
    yield "9f2c-scrape-token"
    app.config["METRICS_TOKEN"] = ""


def test_a_remote_scrape_with_the_token_gets_the_metrics(client, token):
    """Test that the right bearer token from a non-loopback address is served."""
    answer = client.get(
        "/metrics", headers={"Authorization": f"Bearer {token}"}, environ_base=REMOTE
    )
    assert answer.status_code == 200
    assert "hotline_http_requests_total" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", "Basic 9f2c-scrape-token", "Bearer 9f2c-scrape-toke"],
)
def test_a_wrong_or_missing_token_is_refused(client, token, authorization):
    """Test that anything but `Bearer <token>` gets 403, from afar and from loopback."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert client.get("/metrics", headers=headers, environ_base=REMOTE).status_code == 403
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", headers=headers, environ_base=local).status_code == 403


def test_without_a_token_only_loopback_scrapes(app, client):
    """Test that with METRICS_TOKEN unset a remote scrape is refused, a local one served."""
    assert not app.config.get("METRICS_TOKEN")
    bearer = {"Authorization": "Bearer "}
    assert client.get("/metrics", headers=bearer, environ_base=REMOTE).status_code == 403
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/metrics", environ_base=local).status_code == 200


def test_the_token_is_compared_in_constant_time(client, token, monkeypatch):
    """Test that the comparison is hmac.compare_digest's, not `==` (which stops early)."""
    calls = []
    compare = hmac.compare_digest

    def spy(given, expected):
        calls.append((given, expected))
        return compare(given, expected)

    monkeypatch.setattr(observability.hmac, "compare_digest", spy)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=headers, environ_base=REMOTE).status_code == 200
    assert calls == [(token.encode(), token.encode())]
