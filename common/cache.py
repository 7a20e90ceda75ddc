"""The cache (Redis outside the demo), and how the project behaves while Redis is unreachable.

The cache holds nothing that cannot be lost or rebuilt: the simulated clock (a copy of a database
row), the per-city query limiter and the login throttle. So:

- Reads and writes through Django's cache API fail soft (:class:`ResilientRedisCache`): while
  Redis is unreachable a read misses and a write is dropped, and the caller goes to the database
  as after any miss.
- Counters (:func:`window_hit`, :func:`window_count`, :func:`window_refund`) cannot pretend: they
  raise :class:`CacheUnavailable`, and each caller decides what an uncounted request gets.
- A hung Redis costs a request at most one socket timeout (``OPTIONS`` ``socket_timeout`` and
  ``socket_connect_timeout``): after a failure the process leaves Redis alone for
  ``pause_seconds`` and answers as if it were down, so a hung Redis costs each process one
  timeout per pause instead of one per request.
"""

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a socket to Redis raises when the server is down, unreachable or too slow.
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# Per process, not per backend object: Django makes one cache object per thread.
_paused_until: dict[str, float] = {}
_pause_lock = threading.Lock()


class CacheUnavailable(Exception):
    """Redis did not answer in time, or did not a moment ago."""


# A refund after the window has closed must not open a new window at -1.
_DECREMENT_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class WindowCount:
    count: int  # hits in the window so far, this one included
    seconds_left: int  # until the window closes


class ResilientRedisCache(RedisCache):
    """Django's Redis cache whose reads miss and writes are dropped while Redis is unreachable,
    with the counters the limiters need. ``OPTIONS`` takes ``pause_seconds`` besides redis-py's
    connection options."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.pause_seconds = float(options.pop("pause_seconds", 5))
        super().__init__(server, {**params, "OPTIONS": options})
        self._location = ",".join(self._servers)

    # --- Reaching Redis --------------------------------------------------------------------

    def _call(self, operation: Callable[..., T], *args: Any, probe: bool = False) -> T:
        """Run one operation against Redis; CacheUnavailable if it fails or Redis is paused.
        A ``probe`` (the health check) asks even during a pause, and ends it on success."""
        if not probe and time.monotonic() < _paused_until.get(self._location, 0.0):
            raise CacheUnavailable(f"Redis at {self._location} is paused after a failure")
        try:
            result = operation(*args)
        except _UNREACHABLE as exc:
            with _pause_lock:
                first = time.monotonic() >= _paused_until.get(self._location, 0.0)
                _paused_until[self._location] = time.monotonic() + self.pause_seconds
            if first:
                logger.warning(
                    "cache unreachable; degraded for %s s",
                    self.pause_seconds,
                    extra={"error": type(exc).__name__},
                )
            raise CacheUnavailable(str(exc)) from exc
        if probe:
            _paused_until.pop(self._location, None)
        return result

    def _soft(self, default: T, operation: Callable[..., T], *args: Any) -> T:
        try:
            return self._call(operation, *args)
        except CacheUnavailable:
            return default

    def ping(self) -> None:
        """Raise CacheUnavailable unless Redis answers now (the health check)."""
        self._call(lambda: self._cache.get_client(write=True).ping(), probe=True)

    # --- Django's cache API, failing soft -------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft(False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._soft(default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._soft(None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._soft(False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._soft({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._soft(False, super().has_key, key, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        self._soft(None, super().delete_many, keys, version)

    def clear(self):
        return self._soft(False, super().clear)

    def incr(self, key, delta=1, version=None):
        # Not a read that may miss: an increment that did not happen must not look done.
        return self._call(super().incr, key, delta, version)

    # --- Counters, atomic across processes ------------------------------------------------

    def window_hit(self, key: str, seconds: int) -> WindowCount:
        key = self.make_and_validate_key(key)

        def hit() -> WindowCount:
            pipeline = self._cache.get_client(key, write=True).pipeline()  # MULTI ... EXEC
            pipeline.set(key, 0, ex=seconds, nx=True)
            pipeline.incr(key)
            pipeline.pttl(key)
            _, count, milliseconds_left = pipeline.execute()
            return WindowCount(int(count), max(1, math.ceil(milliseconds_left / 1000)))

        return self._call(hit)

    def window_refund(self, key: str) -> None:
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        self._call(client.eval, _DECREMENT_IF_PRESENT, 1, key)

    def window_count(self, key: str) -> int:
        key = self.make_and_validate_key(key)
        return int(self._call(self._cache.get_client(key).get, key) or 0)


def window_hit(key: str, *, seconds: int, backend: BaseCache | None = None) -> WindowCount:
    """Count one hit on ``key``'s window, which opens at its first hit and closes ``seconds``
    later. Atomic: parallel hits get distinct counts."""
    backend = backend or caches["default"]
    if isinstance(backend, ResilientRedisCache):
        return backend.window_hit(key, seconds)
    # The in-process cache (the demo, and the login throttle's fallback): one lock per call.
    now = time.time()
    backend.add(f"{key}:closes", now + seconds, timeout=seconds)
    backend.add(key, 0, timeout=seconds)
    try:
        count = backend.incr(key)
    except ValueError:  # closed between the two calls: this hit opens the next window
        backend.set(f"{key}:closes", now + seconds, timeout=seconds)
        backend.add(key, 0, timeout=seconds)
        count = backend.incr(key)
    closes = backend.get(f"{key}:closes") or now + seconds
    return WindowCount(count, max(1, math.ceil(closes - now)))


def window_refund(key: str, *, backend: BaseCache | None = None) -> None:
    """Take back one hit counted by :func:`window_hit`, unless its window has closed."""
    backend = backend or caches["default"]
    if isinstance(backend, ResilientRedisCache):
        backend.window_refund(key)
        return
    with contextlib.suppress(ValueError):  # closed: nothing left to take back
        backend.decr(key)


def window_count(key: str, *, backend: BaseCache | None = None) -> int:
    """The hits counted on ``key`` so far (0 once its window has closed)."""
    backend = backend or caches["default"]
    if isinstance(backend, ResilientRedisCache):
        return backend.window_count(key)
    return int(backend.get(key) or 0)


def cache_check() -> dict[str, str]:
    """For the health check: which cache, and raise CacheUnavailable unless it answers."""
    backend = caches["default"]
    if isinstance(backend, ResilientRedisCache):
        backend.ping()
        return {"backend": "redis"}
    return {"backend": "in-process"}
