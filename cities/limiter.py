"""The per-city query limiter of the online channel: a fixed-window counter in the cache (Redis in
production, shared by every web process), so a real burst over a city's capacity really makes
the platform busy, and it cools down when the window passes.

While the cache is unreachable no query can be counted, and the limiter cannot tell a quiet
platform from an overloaded one: it protects the platform and answers busy, with a short wait.
The live channels (counter, institution, hotline) never ask the limiter and keep answering."""

import contextlib
import math
import time
from datetime import date

from common.cache import CacheUnavailable, window_count, window_hit

# What a forced "busy" tells clients to wait; the switch is an operator's, not a window.
FORCED_RETRY_AFTER_SECONDS = 60
# What an uncounted query is told to wait while the cache is unreachable.
UNCOUNTED_RETRY_AFTER_SECONDS = 30


def _window_key(city_id: int, window_seconds: int, now: float) -> tuple[str, int]:
    window = int(now // window_seconds)
    return f"platform:{city_id}:{window_seconds}:{window}", window


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
    try:
        if count:
            admitted = window_hit(key, seconds=window_seconds + 1).count <= capacity
        else:
            admitted = window_count(key) < capacity
    except CacheUnavailable:
        return UNCOUNTED_RETRY_AFTER_SECONDS
    if admitted:
        return None
    return max(1, math.ceil((window + 1) * window_seconds - now))


# Busy answers are counted per city and business day for the console's dashboard; the count
# outlives the day by a day, so yesterday's stays readable just after midnight.
_BUSY_ANSWERS_SECONDS = 2 * 24 * 3600


def _busy_answers_key(city_id: int, day: date) -> str:
    return f"platform-busy-answers:{city_id}:{day:%Y-%m-%d}"


def busy_answer_record(*, city_id: int, day: date) -> None:
    """Count one balance query the city's platform answered busy on ``day`` (the domain's
    date). While the cache is unreachable the count is lost, and the answer stands."""
    with contextlib.suppress(CacheUnavailable):
        window_hit(_busy_answers_key(city_id, day), seconds=_BUSY_ANSWERS_SECONDS)


def busy_answers_count(*, city_id: int, day: date) -> int | None:
    """How many balance queries the city's platform answered busy on ``day``; None while the
    cache is unreachable."""
    try:
        return window_count(_busy_answers_key(city_id, day))
    except CacheUnavailable:
        return None
