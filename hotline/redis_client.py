"""The app's Redis client: one server by REDIS_URL, or the master that Redis Sentinel names.

With REDIS_SENTINELS ("host:port,host:port") the client asks the sentinels for the current
master of REDIS_SENTINEL_MASTER on every new connection, so after a failover the web
processes, the workers and the rate limiter follow the new master by themselves. REDIS_URL
then only gives the database number and the password (`redis://:secret@/0`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

from redis import Redis
from redis.sentinel import Sentinel

# Short timeouts: when Redis is down a webhook must still answer quickly.
CLIENT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 3}


def parse_sentinels(value: str | None) -> list[tuple[str, int]]:
    """Return the (host, port) pairs of "host:port,host:port" (port 26379 when omitted)."""
    pairs = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        pairs.append((host.strip("[]"), int(port)))
    return pairs


def redis_url_parts(url: str) -> dict[str, Any]:
    """Return the db number and credentials of a redis:// URL, as Redis client keywords.

    Behind Sentinel the URL names no host to connect to, only the database and the
    password: the app, the workers and RQ's scheduler (`workers.rq_settings`) read them here.
    """
    parsed = urlparse(url or "redis://")
    parts: dict[str, Any] = {}
    path = (parsed.path or "/").strip("/")
    parts["db"] = int(path) if path.isdigit() else 0
    if parsed.password:
        parts["password"] = unquote(parsed.password)
    if parsed.username:
        parts["username"] = unquote(parsed.username)
    return parts


def make_redis(config: Mapping[str, Any]) -> Redis:
    """Return the Redis client CONFIG asks for (REDIS_URL, or REDIS_SENTINELS + master name)."""
    sentinels = parse_sentinels(config.get("REDIS_SENTINELS"))
    if not sentinels:
        return Redis.from_url(config["REDIS_URL"], **CLIENT_OPTIONS)
    parts = redis_url_parts(config.get("REDIS_URL") or "")
    sentinel = Sentinel(
        sentinels,
        sentinel_kwargs={"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        **CLIENT_OPTIONS,
    )
    return sentinel.master_for(config.get("REDIS_SENTINEL_MASTER") or "hotline", **parts)


def limiter_storage(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return the rate limiter's storage URI and options behind Sentinel, or None without it."""
    sentinels = parse_sentinels(config.get("REDIS_SENTINELS"))
    if not sentinels:
        return None
    hosts = ",".join(f"{host}:{port}" for host, port in sentinels)
    master = config.get("REDIS_SENTINEL_MASTER") or "hotline"
    # The options reach the master's connections (the URI's password would go to the sentinels).
    options = {**redis_url_parts(config.get("REDIS_URL") or ""), "socket_connect_timeout": 0.5}
    return f"redis+sentinel://{hosts}/{master}", options
