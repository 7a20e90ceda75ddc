"""Helpers for tests in every app: polling, the simulated clock, authenticated clients."""

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from rest_framework.test import APIClient

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday (2 November 2026): the tests that care about dates start here.
MONDAY_MORNING = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def set_clock(moment: datetime) -> None:
    """Put the simulated clock at a moment (tests only; the product's clock only moves forward)."""
    from common import clock
    from common.models import SimulatedClock

    SimulatedClock.objects.update_or_create(pk=1, defaults={"now": moment})
    clock.forget_cached_now()


def client_for(user) -> APIClient:
    from users.tests.factories import token_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_for(user))
    return client
