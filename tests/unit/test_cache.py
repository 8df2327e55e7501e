"""Tests of `TimedCache`: a value per app, kept a minute, dropped at once by an invalidation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask

from hotline.cache import TimedCache, invalidate_caches

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Loader:
    """A load function that counts its calls and returns a new value each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"value {self.calls}"


@pytest.fixture
def bare_app():
    """A bare Flask app in context: the cache keeps its copies in app.extensions."""
    app = Flask("cache-test")
    with app.app_context():
        yield app


def test_the_value_is_kept_for_the_ttl_then_reloaded(bare_app):
    """Test that a second read within the TTL loads nothing, and one after it reloads."""
    load = Loader()
    cache = TimedCache("test", load, ttl=60)
    with time_machine.travel(START, tick=False) as traveller:
        assert cache.get() == "value 1"
        traveller.shift(timedelta(seconds=59))
        assert cache.get() == "value 1" and load.calls == 1
        traveller.shift(timedelta(seconds=1))
        assert cache.get() == "value 2" and load.calls == 2
        traveller.shift(timedelta(seconds=30))
        assert cache.get() == "value 2" and load.calls == 2


def test_a_clock_set_back_counts_as_expired(bare_app):
    """Test that a copy that seems to come from the future (the clock went back) is reloaded
    rather than kept until the clock catches up."""
    load = Loader()
    cache = TimedCache("test", load, ttl=60)
    with time_machine.travel(START, tick=False) as traveller:
        cache.get()
        traveller.shift(timedelta(hours=-1))
        assert cache.get() == "value 2"


def test_invalidate_reloads_at_the_next_read(bare_app):
    """Test that `invalidate` makes the very next read load again, well within the TTL."""
    load = Loader()
    cache = TimedCache("test", load, ttl=60)
    with time_machine.travel(START, tick=False):
        assert cache.get() == "value 1"
        cache.invalidate()
        assert cache.get() == "value 2"
        assert cache.get() == "value 2" and load.calls == 2


def test_invalidate_caches_drops_every_cache_of_the_app(bare_app):
    """Test that `invalidate_caches` reloads every cache, and that a cache not loaded yet is
    loaded once, as usual."""
    first, second, idle = Loader(), Loader(), Loader()
    caches = [TimedCache("a", first), TimedCache("b", second)]
    idle_cache = TimedCache("idle", idle)
    for cache in caches:
        cache.get()
    invalidate_caches()
    assert [cache.get() for cache in caches] == ["value 2", "value 2"]
    assert idle_cache.get() == "value 1" and idle.calls == 1


def test_each_app_has_its_own_copy():
    """Test that two apps in one process never share a copy, nor an invalidation."""
    load = Loader()
    cache = TimedCache("test", load)
    one, two = Flask("one"), Flask("two")
    with one.app_context():
        assert cache.get() == "value 1"
    with two.app_context():
        assert cache.get() == "value 2"
        cache.invalidate()
    with one.app_context():
        assert cache.get() == "value 1"
    assert load.calls == 2


def test_a_load_overtaken_by_an_invalidation_is_not_kept(bare_app):
    """Test that a value loaded while an admin change invalidates the cache is used by its
    reader but not stored: the next read loads the changed data."""
    cache: TimedCache[str]
    calls = []

    def load() -> str:
        calls.append(1)
        if len(calls) == 1:
            cache.invalidate()  # the admin's commit lands while this load reads old rows
            return "old"
        return "new"

    cache = TimedCache("test", load)
    assert cache.get() == "old"
    assert cache.get() == "new"
    assert cache.get() == "new" and len(calls) == 2


def test_concurrent_readers_get_a_loaded_value(bare_app):
    """Test that threads reading at once all get a value, none an empty marker, and that
    the cache then holds one of the loaded values."""
    load = Loader()
    cache = TimedCache("test", load)
    results: list[str] = []
    app = bare_app

    def read() -> None:
        with app.app_context():
            results.append(cache.get())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(r.startswith("value ") for r in results)
    assert cache.get() in results
