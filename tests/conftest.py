"""Fixtures for cross-app and end-to-end tests: a real Celery worker, the clock, API helpers."""

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from rest_framework.test import APIClient

from config.celery_app import app as celery_app

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real worker (in a thread of this process) on the suite's broker: Redis when reachable,
    else Celery's in-memory transport. Tests using it need ``django_db(transaction=True)`` so the
    worker's own database connection sees what the test committed."""
    celery_app.conf.task_always_eager = False
    with django_db_blocker.unblock():
        celery_app.control.purge()
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            shutdown_timeout=30,
            loglevel="WARNING",
        ) as worker:
            yield worker


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


@pytest.fixture
def clock_at():
    return set_clock


@pytest.fixture
def agreement():
    """The e-voucher agreement the migrations create (recreated after a transactional test's flush)."""
    from datetime import date

    from cards.models import EVoucherAgreement

    agreement, _ = EVoucherAgreement.objects.get_or_create(
        version="2025.1",
        defaults={
            "title": "E-voucher user agreement",
            "text": "...",
            "effective_from": date(2020, 1, 1),
        },
    )
    return agreement


def client_for(user) -> APIClient:
    from users.tests.factories import token_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_for(user))
    return client
