"""The time the domain runs on, and how a time is shown to a person.

With sandbox mode off this is the real time. With it on, it is the simulated clock, which a
client moves forward to make cards become ready, contributions and crediting fall due, cities
upload and locks (face authentication) lift. Audit timestamps (``created_at``) always use the
real time. A query limiter's window (PLATFORM_BUSY) is real time in every mode: it protects a
real server from real load.

Every time shown to a person is in the local zone (``settings.TIME_ZONE``, Asia/Shanghai): the
API's ISO 8601 with its offset, and texts through :func:`as_text`.
"""

from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext

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


def as_text(value: datetime) -> str:
    """A moment as a person reads it in a text: local time, to the minute."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def as_iso(value: datetime) -> str:
    """A moment for the API: ISO 8601 in local time with its offset (as DRF renders times)."""
    return timezone.localtime(value).isoformat()


def simulated_wait_note() -> str:
    """Said after a time a wait runs to on this module's clock (a lock): in sandbox mode that is
    the simulated clock, which real time does not move once it has been advanced."""
    if not settings.SANDBOX_MODE:
        return ""
    return " " + gettext(
        "That time is on the sandbox's simulated clock: advance the clock past it with "
        "POST /api/v1/sandbox/clock/advance."
    )


def real_wait_note() -> str:
    """Said after a wait counted in real seconds (a query limiter's window), where a simulated
    clock could make a reader think advancing it helps."""
    if not settings.SANDBOX_MODE:
        return ""
    return " " + gettext(
        "These are real seconds: advancing the sandbox's simulated clock does not shorten them."
    )


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
