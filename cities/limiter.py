"""The per-city query limiter of the online channel: a fixed-window counter in the cache (Redis in
production, shared by every web process), so a real burst over a city's capacity really makes
the platform busy, and it cools down when the window passes."""

import math
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache

# What a forced "busy" tells clients to wait; the switch is an operator's, not a window.
FORCED_RETRY_AFTER_SECONDS = 60


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def _count_hit(key: str, ttl: int) -> int:
    if settings.REDIS_URL:
        pipeline = _redis(settings.REDIS_URL).pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, ttl, nx=True)
        count, _ = pipeline.execute()
        return int(count)
    cache.add(key, 0, timeout=ttl)
    return cache.incr(key)


def _window_key(city_id: int, window_seconds: int, now: float) -> tuple[str, int]:
    window = int(now // window_seconds)
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:platform:{city_id}:{window_seconds}:{window}", window


def _current_count(key: str) -> int:
    if settings.REDIS_URL:
        return int(_redis(settings.REDIS_URL).get(key) or 0)
    return int(cache.get(key) or 0)


def platform_admit(
    *, city_id: int, capacity: int, window_seconds: int, forced_busy: bool, count: bool = True
) -> int | None:
    """Count one query against the city's platform. None if admitted; else seconds to wait.
    With ``count`` false (operators looking on), the answer a query would get, without counting
    it."""
    if forced_busy:
        return FORCED_RETRY_AFTER_SECONDS
    now = time.time()
    key, window = _window_key(city_id, window_seconds, now)
    if count:
        admitted = _count_hit(key, window_seconds + 1) <= capacity
    else:
        admitted = _current_count(key) < capacity
    if admitted:
        return None
    return max(1, math.ceil((window + 1) * window_seconds - now))
