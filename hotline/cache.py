"""Reference data kept in memory for a minute: one helper for every such cache.

The routing data, the SLA calendar and policies, and the staff forms' drop-downs are read on
almost every request or job and change only when an admin edits them. Each is loaded once,
then kept `ttl` seconds per app (in `app.extensions`, so that two apps in one process, as in
the tests, never share a copy). An admin change calls `invalidate_caches()` after its commit,
so this process sees it at once; other processes see it when their copy expires.

Thread safety: a read takes no lock (one dict look-up). Two threads that find the copy stale
may both load it, which costs a query and nothing else. A load that an invalidation overtakes
is not kept: each copy carries a generation, bumped by `invalidate`, and a load stores its
result only if the generation it started from is still current.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from flask import current_app

T = TypeVar("T")

EXTENSION_KEY = "hotline_timed_caches"
DEFAULT_TTL_SECONDS = 60.0

_EMPTY: Any = object()
# (value, loaded at, generation) of a cache never loaded in this app.
_UNLOADED: tuple[Any, float, int] = (_EMPTY, 0.0, 0)
# Held only to compare-and-store a slot, never while loading.
_LOCK = threading.Lock()


def _slots() -> dict[TimedCache[Any], tuple[Any, float, int]]:
    """Return the current app's cached copies, by cache."""
    return current_app.extensions.setdefault(EXTENSION_KEY, {})


class TimedCache(Generic[T]):
    """A value loaded by a function and kept for TTL seconds, per app.

    Example:
        calendar_cache = TimedCache("calendar", load_calendar)
        calendar_cache.get()         # loads, then answers from memory for a minute
        calendar_cache.invalidate()  # the next get() loads again

    Wall-clock time (`time.time`) measures the age, so that tests can travel in time; a copy
    that seems to come from the future (the clock was set back) counts as expired.
    """

    def __init__(self, name: str, load: Callable[[], T], ttl: float = DEFAULT_TTL_SECONDS):
        """Name the cache (for logs and repr) and give the function that loads its value."""
        self.name = name
        self.load = load
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"TimedCache({self.name!r}, ttl={self.ttl})"

    def get(self) -> T:
        """Return the current app's copy, loading it first when missing or older than ttl."""
        slots = _slots()
        # setdefault: an invalidation that comes during the first load must see this slot.
        value, loaded_at, generation = slots.setdefault(self, _UNLOADED)
        now = time.time()
        if value is not _EMPTY and 0 <= now - loaded_at < self.ttl:
            return cast(T, value)
        fresh = self.load()
        with _LOCK:
            if slots.get(self, _UNLOADED)[2] == generation:  # not invalidated meanwhile
                slots[self] = (fresh, now, generation)
        return fresh

    def invalidate(self) -> None:
        """Forget the current app's copy: the next `get` loads it again."""
        slots = _slots()
        with _LOCK:
            slots[self] = (_EMPTY, 0.0, slots.get(self, _UNLOADED)[2] + 1)


def invalidate_caches() -> None:
    """Forget every cached copy of the current app (after a change of reference data)."""
    slots = _slots()
    with _LOCK:
        for cache, (_value, _loaded_at, generation) in list(slots.items()):
            slots[cache] = (_EMPTY, 0.0, generation + 1)
