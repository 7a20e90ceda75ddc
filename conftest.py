"""Fixtures shared by every app's tests. The database is always PostgreSQL (see tests/bootstrap.py)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (Redis in tests) outlives each test's rolled-back transaction: start clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _flush_may_truncate_the_ledger():
    """Between transactional tests Django empties every table with TRUNCATE, in one transaction
    (DatabaseOperations.execute_sql_flush). The ledger's tables refuse TRUNCATE unless that
    transaction has said ``SET LOCAL yibao.allow_truncate = 'on'`` (accounts migration 0009), so
    the suite's flush, and only it, says so first."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    execute_sql_flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush_allowing_truncate(self, sql_list):
        execute_sql_flush(self, ["SET LOCAL yibao.allow_truncate = 'on'", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush_allowing_truncate
    yield
    DatabaseOperations.execute_sql_flush = execute_sql_flush


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def agreement(db):
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


# Tasks running on the session's worker now, counted by Celery's own signals.
_TASKS_RUNNING = {"count": 0}
_WORKER_STARTED = {"yes": False}


def _task_started(**_):
    _TASKS_RUNNING["count"] += 1


def _task_finished(**_):
    _TASKS_RUNNING["count"] -= 1


@pytest.fixture(scope="session")
def celery_worker_of_session(django_db_setup, django_db_blocker):
    """A real worker (in a thread of this process) on the suite's broker: Redis when reachable,
    else Celery's in-memory transport."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun, task_prerun

    from config.celery_app import app as celery_app

    celery_app.conf.task_always_eager = False
    task_prerun.connect(_task_started, weak=False)
    task_postrun.connect(_task_finished, weak=False)
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


@pytest.fixture
def celery_worker(celery_worker_of_session):
    """The session's worker, for one test. Tests using it need ``django_db(transaction=True)`` so
    the worker's own database connection sees what the test committed."""
    _WORKER_STARTED["yes"] = True
    return celery_worker_of_session


def _commits(request) -> bool:
    """Whether a test's changes are committed (only then can they set off work on the worker)."""
    marker = request.node.get_closest_marker("django_db")
    return bool(
        (marker is not None and marker.kwargs.get("transaction"))
        or {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _worker_quiet_after_test(request):
    """Once the session's worker runs, whatever a test set off on it (a webhook dispatch after an
    event, from any test that commits one) is dropped or finished before the test ends, so it
    never runs on into the next test's database flush or counts as the next test's work."""
    import time

    yield
    if not _WORKER_STARTED["yes"] or not _commits(request):
        return
    from config.celery_app import app as celery_app

    deadline = time.monotonic() + 30
    quiet_checks = 0
    while quiet_checks < 2 and time.monotonic() < deadline:
        celery_app.control.purge()
        time.sleep(0.02)
        quiet_checks = quiet_checks + 1 if _TASKS_RUNNING["count"] == 0 else 0


@pytest.fixture(autouse=True)
def _language_reset():
    """A request in Chinese leaves its language active in this thread; each test starts in the
    default one."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
