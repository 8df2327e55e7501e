"""Tests that behind a trusted proxy the client's address and scheme come from its headers."""

from __future__ import annotations

import os

import pytest
from flask import request

from hotline import create_app


def _app(hops: int):
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            "TRUSTED_PROXIES": hops,
        }
    )
    app.add_url_rule("/_whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme}")
    return app


@pytest.mark.parametrize(
    ("hops", "expected"),
    [
        (1, "203.0.113.7 https"),  # nginx's view of the client, and TLS ended at nginx
        (0, "127.0.0.1 http"),  # no proxy trusted: forged headers change nothing
    ],
)
def test_forwarded_headers_are_trusted_only_when_configured(hops, expected):
    """Test that X-Forwarded-For/-Proto count only with TRUSTED_PROXIES set."""
    client = _app(hops).test_client()
    answer = client.get(
        "/_whoami",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert answer.get_data(as_text=True) == expected


def test_only_the_last_hop_is_believed():
    """Test that an address the client put in front of nginx's own is ignored."""
    client = _app(1).test_client()
    answer = client.get(
        "/_whoami",
        headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert answer.get_data(as_text=True).split()[0] == "203.0.113.7"
