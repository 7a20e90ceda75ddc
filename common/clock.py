"""The time the domain runs on.

With sandbox mode off this is the real time. With it on, it is the simulated clock, which a
client moves forward to make cards become ready, contributions and crediting fall due, and
cities upload. Audit timestamps (``created_at``) always use the real time.
"""

from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

CACHE_KEY = "clock:simulated-now"
CACHE_SECONDS = 300


def now() -> datetime:
    if not settings.SANDBOX_MODE:
        return timezone.now()
    value = cache.get(CACHE_KEY)
    if value is None:
        from common.models import SimulatedClock

        row = SimulatedClock.objects.filter(pk=1).only("now").first()
        if row is None:
            return timezone.now()
        value = row.now
        cache.set(CACHE_KEY, value, CACHE_SECONDS)
    return value


def today() -> date:
    return timezone.localdate(now())


def localdate(value: datetime) -> date:
    return timezone.localdate(value)


def localtime(value: datetime) -> datetime:
    return timezone.localtime(value)


def forget_cached_now() -> None:
    cache.delete(CACHE_KEY)


def remember_now(value: datetime) -> None:
    """After the simulated clock's row is moved: what ``now`` answers from here on."""
    cache.set(CACHE_KEY, value, CACHE_SECONDS)


def simulated_clock_ensure(*, starting_at: datetime):
    """The simulated clock's row, created at ``starting_at`` the first time."""
    from common.models import SimulatedClock

    row, _ = SimulatedClock.objects.get_or_create(pk=1, defaults={"now": starting_at})
    return row
