"""Faults in the middle of a job: the process running it killed, its database connection dropped.
Run again, the job finishes and every credit is posted exactly once."""

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum

from accounts.crediting import (
    contribution_collection_execute,
    contribution_collection_open,
    crediting_run_open,
)
from accounts.models import Account, Contribution, Crediting, CreditingRun, Entry
from common.models import JobStatus
from jobs.services import job_enqueue
from sandbox.population import population_generate
from sandbox.world import sandbox_city
from tests.support import MONDAY_MORNING, set_clock, wait_for
from uploads.models import BalanceSnapshot, CityUpload
from uploads.services import upload_execute, upload_open

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
POPULATION = 3000


@pytest.fixture
def credited_city(agreement):
    """A city with a population whose November contributions are collected, and November's run."""
    set_clock(MONDAY_MORNING.replace(day=26))
    city = sandbox_city("standard")
    population_generate(
        city=city, persons=POPULATION, enrolled_on=MONDAY_MORNING.date(), batch_size=1000
    )
    collection, _ = contribution_collection_open(city=city, period=MONDAY_MORNING.date())
    contribution_collection_execute(collection_id=collection.pk)
    run, _ = crediting_run_open(city=city, period=MONDAY_MORNING.date())
    return city, run


def assert_credited_exactly_once(city, run: CreditingRun) -> None:
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    shares = dict(
        Contribution.objects.filter(
            person__city=city, period=run.period, account_share__gt=0
        ).values_list("person__personal_account", "account_share")
    )
    retirees = Account.objects.filter(
        city=city, kind=Account.Kind.PERSONAL, person__employment_status="RETIRED"
    ).values_list("id", flat=True)
    expected = {**shares, **dict.fromkeys(retirees, city.retiree_monthly_credit)}
    posted = Crediting.objects.filter(run=run)
    assert posted.values("account").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    assert dict(posted.values_list("account", "amount")) == expected
    assert run.credited_count == len(expected)
    assert run.credited_amount == sum(expected.values(), Decimal("0.00"))
    balances = dict(
        Account.objects.filter(id__in=expected)
        .with_balance_total()
        .values_list("id", "balance_total")
    )
    assert balances == expected  # nothing else ever moved these accounts
    assert Entry.objects.aggregate(total=Sum("amount"))["total"] == 0


def _worker_env() -> dict[str, str]:
    """The test database, for a child process: a TCP host, or a socket directory (which
    dj-database-url keeps in OPTIONS, as for the throwaway pgserver the suite may start)."""
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host") or "/var/run/postgresql"
    if str(host).startswith("/"):
        url = f"postgres://{settings['USER']}@/{settings['NAME']}?host={host}"
    else:
        url = f"postgres://{settings['USER']}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_ENV": "test", "JOB_CHUNK_SIZE": "20"}


def test_a_crediting_job_killed_half_way_finishes_exactly_once_when_run_again(
    credited_city, celery_worker
):
    city, run = credited_city
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_job", "crediting", str(run.pk)],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: CreditingRun.objects.get(pk=run.pk).items_done >= 200, timeout=60, interval=0.01
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    run.refresh_from_db()
    assert (
        run.status == JobStatus.RUNNING and 0 < run.items_done < run.items_total
    )  # killed half-way
    partial = Crediting.objects.filter(run=run).count()
    assert 0 < partial < POPULATION

    with transaction.atomic():
        job_enqueue(run)  # what the sweep does for a job whose worker died
    wait_for(lambda: CreditingRun.objects.get(pk=run.pk).status == JobStatus.SUCCEEDED, timeout=120)
    assert_credited_exactly_once(city, run)


def test_a_dropped_database_connection_mid_job_is_retried_to_completion(
    credited_city, celery_worker, settings
):
    city, run = credited_city
    settings.JOB_CHUNK_SIZE = 20
    with transaction.atomic():
        job_enqueue(run)
    wait_for(
        lambda: CreditingRun.objects.get(pk=run.pk).items_done >= 200, timeout=60, interval=0.01
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchall(), "the worker's connection was not found"
    wait_for(lambda: CreditingRun.objects.get(pk=run.pk).status == JobStatus.SUCCEEDED, timeout=120)
    run.refresh_from_db()
    assert run.executions >= 2  # the task was retried after the connection dropped
    assert_credited_exactly_once(city, run)


def test_an_upload_killed_half_way_completes_when_run_again(credited_city):
    city, _ = credited_city
    upload, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_job", "upload", str(upload.pk)],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: CityUpload.objects.get(pk=upload.pk).items_done >= 200,
            timeout=60,
            interval=0.01,
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    upload.refresh_from_db()
    assert upload.status == JobStatus.RUNNING and upload.items_done < upload.items_total
    upload_execute(upload_id=upload.pk, chunk_size=500)
    upload.refresh_from_db()
    assert upload.status == JobStatus.SUCCEEDED
    assert (
        BalanceSnapshot.objects.filter(person__city=city, upload=upload).count()
        == upload.items_total
    )
    city.refresh_from_db()
    assert city.latest_upload_id == upload.pk
