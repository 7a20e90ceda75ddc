"""Which simulated clock a request's rules go by: its caller's world's.

A sandbox developer's requests run on their world's clock (the one named in ``X-Sandbox-World``,
else their newest); an insured person's on their city's, a terminal's on its institution's city's
(a sandbox world's city runs on that world's clock); everyone else's on the shared clock, the demo
world's. The caller is known only once the view has authenticated it, so the clock is chosen when
``common.clock.now()`` is first read, once per caller.
"""

import contextlib

from django.conf import settings
from django.core.cache import cache

from common import clock

WORLD_HEADER = "X-Sandbox-World"
# A person's or terminal's city never changes world, so their clock is remembered: the balance
# query stays at its two SQL statements per request.
CALLER_CLOCK_CACHE_SECONDS = 3600


def _caller_clock_cache_key(user) -> str:
    return f"clock:of-user:{user.pk}"


class WorldClockMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.SANDBOX_MODE:
            return self.get_response(request)
        chosen: dict = {}

        def resolve() -> int:
            user = getattr(request, "user", None)
            key = getattr(user, "pk", None)
            if key not in chosen:
                chosen[key] = caller_clock_id(user, request.headers.get(WORLD_HEADER))
            return chosen[key]

        token = clock.use_clock_of(resolve)
        try:
            return self.get_response(request)
        finally:
            clock.stop_using(token)


def caller_clock_id(user, world_id=None) -> int:
    from institutions.models import Institution
    from persons.models import InsuredPerson
    from sandbox.worlds import world_current
    from users.models import User

    if user is None or not user.is_authenticated or user.is_superuser:
        return clock.SHARED_CLOCK_ID
    clock_id = None
    if user.role == User.Role.DEVELOPER:
        world = world_current(user, world_id)
        clock_id = world.clock_id if world is not None else None
    elif user.role in (User.Role.INSURED, User.Role.INSTITUTION):
        key = _caller_clock_cache_key(user)
        try:
            remembered = cache.get(key)
        except Exception:  # a cache that does not answer costs a query, never the request
            remembered = None
        if remembered is not None:
            return remembered
        if user.role == User.Role.INSURED:
            rows = InsuredPerson.objects.filter(user_id=user.pk)
        else:
            rows = Institution.objects.filter(pk=user.institution_id)
        clock_id = rows.values_list("city__clock_id", flat=True).first() or clock.SHARED_CLOCK_ID
        with contextlib.suppress(Exception):  # remembering is an optimisation
            cache.set(key, clock_id, CALLER_CLOCK_CACHE_SECONDS)
        return clock_id
    return clock_id or clock.SHARED_CLOCK_ID
