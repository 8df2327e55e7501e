"""Tests that REDIS_SENTINELS points the app at the master that a real Redis Sentinel names."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError

from hotline import create_app
from hotline.redis_client import limiter_storage, parse_sentinels


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


def _redis_server(folder, port: int, *extra: str) -> subprocess.Popen:
    folder.mkdir()
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder), *extra],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def sentinel_set(tmp_path):
    """A master, a replica and one sentinel watching them, all on loopback (own ports)."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    master_port, replica_port, sentinel_port = _free_port(), _free_port(), _free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor hotline 127.0.0.1 {master_port} 1\n"
        # Named up front: found by itself, the replica shows only at the sentinel's next
        # INFO of the master, up to 10 s later.
        f"sentinel known-replica hotline 127.0.0.1 {replica_port}\n"
        "sentinel down-after-milliseconds hotline 2000\n"
        "sentinel failover-timeout hotline 10000\n"
    )
    processes = [
        # No 5 s wait for more replicas before the first full sync (Redis 7's default).
        _redis_server(tmp_path / "master", master_port, "--repl-diskless-sync-delay", "0"),
        _redis_server(
            tmp_path / "replica", replica_port, "--replicaof", "127.0.0.1", str(master_port)
        ),
        subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL),
    ]
    try:
        sentinel = Redis(port=sentinel_port)
        _wait(lambda: sentinel.sentinel_master("hotline")["num-slaves"] == 1)
        yield {"master": master_port, "replica": replica_port, "sentinel": sentinel_port}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def _app(ports):
    return create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "REDIS_URL": "redis:///2",
            "REDIS_SENTINELS": f"127.0.0.1:{ports['sentinel']}",
            "REDIS_SENTINEL_MASTER": "hotline",
        }
    )


def test_the_app_and_its_queues_use_the_master(sentinel_set):
    """Test that the app's client and RQ queues write to the master the sentinel names."""
    from hotline.jobs import get_queue

    app = _app(sentinel_set)
    with app.app_context():
        app.extensions["hotline_redis"].set("hello", "master")
        job = get_queue("default").enqueue("workers.jobs.ping", "sentinel")
    master = Redis(port=sentinel_set["master"], db=2)
    assert master.get("hello") == b"master"
    assert master.lrange("rq:queue:default", 0, -1) == [job.id.encode()]


def test_the_app_follows_a_failover(sentinel_set):
    """Test that after the sentinel promotes the replica, writes reach the new master."""
    app = _app(sentinel_set)
    client = app.extensions["hotline_redis"]
    client.set("before", "1")
    sentinel = Redis(port=sentinel_set["sentinel"])
    _wait(lambda: Redis(port=sentinel_set["replica"], db=2).get("before") == b"1")

    def start_failover() -> bool:
        # Right after start-up the sentinel may not yet judge the replica fit to promote
        # (NOGOODSLAVE until it has fresh INFO from it): ask again until it accepts.
        try:
            return bool(sentinel.execute_command("SENTINEL", "FAILOVER", "hotline"))
        except ResponseError as exc:
            if "NOGOODSLAVE" in str(exc) or "INPROG" in str(exc):
                return False
            raise

    _wait(start_failover)
    _wait(lambda: sentinel.sentinel_master("hotline")["port"] == sentinel_set["replica"])
    # Until the old master is told to follow, it still takes writes (Redis' own failover
    # window; a job lost there is recovered from the database's state).
    old_master = Redis(port=sentinel_set["master"])
    _wait(lambda: old_master.info("replication")["role"] == "slave")

    def write_after_failover() -> bool:
        try:
            return bool(client.set("after", "2"))
        except (RedisConnectionError, ReadOnlyError):
            return False  # the first write may meet the old master: the next one goes right

    _wait(write_after_failover)
    assert Redis(port=sentinel_set["replica"], db=2).get("after") == b"2"


def test_the_scheduler_settings_use_the_sentinels(sentinel_set, monkeypatch):
    """Test that `rq cron -c workers.rq_settings` connects to the master the sentinel names."""
    import importlib
    import sys

    from rq.cli.helpers import get_redis_from_config, read_config_file

    monkeypatch.setenv("REDIS_SENTINELS", f"127.0.0.1:{sentinel_set['sentinel']}")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "hotline")
    monkeypatch.setenv("REDIS_URL", "redis:///5")
    import config.settings

    importlib.reload(config.settings)  # the settings read the environment when imported
    sys.modules.pop("workers.rq_settings", None)
    try:
        connection = get_redis_from_config(read_config_file("workers.rq_settings"))
        connection.set("from-cron", "yes")
    finally:
        monkeypatch.undo()
        importlib.reload(config.settings)
        sys.modules.pop("workers.rq_settings", None)
    assert Redis(port=sentinel_set["master"], db=5).get("from-cron") == b"yes"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("10.0.0.1:26379, 10.0.0.2:26380", [("10.0.0.1", 26379), ("10.0.0.2", 26380)]),
        ("sentinel-a", [("sentinel-a", 26379)]),
        ("[::1]:26379", [("::1", 26379)]),
    ],
)
def test_parse_sentinels(value, expected):
    """Test that the REDIS_SENTINELS list is read as (host, port) pairs."""
    assert parse_sentinels(value) == expected


def test_rate_limits_use_the_sentinels_too():
    """Test that the rate limiter is given the sentinels, and the password for the master."""
    uri, options = limiter_storage(
        {
            "REDIS_SENTINELS": "10.0.0.1:26379,10.0.0.2:26379",
            "REDIS_SENTINEL_MASTER": "hotline",
            "REDIS_URL": "redis://:s3cret@/4",
        }
    )
    assert uri == "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/hotline"
    assert options["password"] == "s3cret" and options["db"] == 4
    assert limiter_storage({"REDIS_URL": "redis://127.0.0.1:6379/0"}) is None
