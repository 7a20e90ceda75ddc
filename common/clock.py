"""The time the domain runs on, and how a time is shown to a person.

With sandbox mode off this is the real time. With it on, it is the simulated clock, which a
client moves forward to make cards become ready, contributions and crediting fall due, cities
upload and locks (face authentication) lift. Audit timestamps (``created_at``) always use the
real time. A query limiter's window (PLATFORM_BUSY) is real time in every mode: it protects a
real server from real load.

Every time shown to a person is in the local zone (``settings.TIME_ZONE``, Asia/Shanghai): the
API's ISO 8601 with its offset, and texts through :func:`as_text`.

A sandbox has several simulated clocks: the shared one (``SHARED_CLOCK_ID``, the demo world's) and
one per developer's world. Which one ``now()`` reads without an id is the current context's: a
request's caller's world (set for each request, see ``use_clock_of``) or a job's city's world
(``using``); outside both, the shared clock.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext

SHARED_CLOCK_ID = 1
CACHE_KEY = "clock:simulated-now"
CACHE_SECONDS = 300

# An int (a clock's id) or a callable answering one, resolved when first needed (a request's
# caller is known only once the view has authenticated it).
_current_clock: ContextVar[int | Callable[[], int] | None] = ContextVar(
    "current_clock", default=None
)


def cache_key(clock_id: int) -> str:
    return CACHE_KEY if clock_id == SHARED_CLOCK_ID else f"{CACHE_KEY}:{clock_id}"


def current_clock_id() -> int:
    chosen = _current_clock.get()
    if callable(chosen):
        chosen = chosen()
    return SHARED_CLOCK_ID if chosen is None else chosen


@contextmanager
def using(clock_id: int | None) -> Iterator[None]:
    """Within the block, ``now()`` without an id reads this clock (None: the shared one)."""
    token = _current_clock.set(SHARED_CLOCK_ID if clock_id is None else clock_id)
    try:
        yield
    finally:
        _current_clock.reset(token)


def use_clock_of(resolve: Callable[[], int]) -> Token:
    """For a request: ``now()`` reads the clock ``resolve`` answers (asked when needed)."""
    return _current_clock.set(resolve)


def stop_using(token: Token) -> None:
    _current_clock.reset(token)


def now(clock_id: int | None = None) -> datetime:
    """The time on a clock: ``clock_id``'s, or the current context's."""
    if not settings.SANDBOX_MODE:
        return timezone.now()
    if clock_id is None:
        clock_id = current_clock_id()
    key = cache_key(clock_id)
    value = cache.get(key)
    if value is None:
        from common.models import SimulatedClock

        row = SimulatedClock.objects.filter(pk=clock_id).only("now").first()
        if row is None:
            return timezone.now()
        value = row.now
        cache.set(key, value, CACHE_SECONDS)
    return value


def today(clock_id: int | None = None) -> date:
    return timezone.localdate(now(clock_id))


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


def forget_cached_now(clock_id: int = SHARED_CLOCK_ID) -> None:
    cache.delete(cache_key(clock_id))


def remember_now(value: datetime, clock_id: int = SHARED_CLOCK_ID) -> None:
    """After a simulated clock's row is moved: what ``now`` answers from here on."""
    cache.set(cache_key(clock_id), value, CACHE_SECONDS)


def simulated_clock_ensure(*, starting_at: datetime):
    """The shared simulated clock's row, created at ``starting_at`` the first time."""
    from common.models import SimulatedClock

    row, _ = SimulatedClock.objects.get_or_create(pk=SHARED_CLOCK_ID, defaults={"now": starting_at})
    return row
