"""The Celery entry points, on a real worker and broker."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from celery import Celery, signals
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from accounts.crediting import contribution_collection_open, crediting_run_open
from accounts.models import Contribution, ContributionCollection, Crediting
from common.models import JobStatus
from config.celery_app import app as celery_app
from jobs.services import job_enqueue, jobs_sweep
from jobs.tasks import run_recorded_job
from persons.tests.factories import PersonFactory
from sandbox.world import sandbox_city
from tests.support import MONDAY_MORNING, set_clock, wait_for
from uploads.models import BalanceSnapshot, CityUpload
from uploads.services import upload_open

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hangzhou():
    set_clock(MONDAY_MORNING)
    return sandbox_city("standard")


def _succeeded(job) -> bool:
    return type(job).objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


def test_broker_down_when_a_job_is_enqueued_loses_nothing(hangzhou, celery_worker):
    person = PersonFactory(city=hangzhou)
    dead = Celery("yibao-broker-down", broker="redis://127.0.0.1:1/0", set_as_current=False)
    dead.conf.broker_connection_timeout = 1
    dead.conf.broker_connection_retry = False
    dead.conf.task_publish_retry_policy = {"max_retries": 0}
    dead.set_current()
    try:
        with transaction.atomic():
            upload, _ = upload_open(city=hangzhou, trigger=CityUpload.Trigger.OPERATOR)
            job_enqueue(upload)  # sent on commit, to a broker that is down
    finally:
        celery_app.set_current()
    upload.refresh_from_db()
    assert upload.status == JobStatus.PENDING  # recorded, not lost

    assert jobs_sweep(now=timezone.now() + timedelta(minutes=2)) >= 1
    wait_for(lambda: CityUpload.objects.get(pk=upload.pk).status == JobStatus.SUCCEEDED)
    assert BalanceSnapshot.objects.filter(person=person, upload=upload).exists()


def test_a_task_delivered_twice_does_the_work_once(hangzhou, celery_worker):
    PersonFactory(city=hangzhou)
    collection, _ = contribution_collection_open(city=hangzhou, period=MONDAY_MORNING.date())
    run_recorded_job.delay("collection", collection.pk)
    run_recorded_job.delay("collection", collection.pk)
    wait_for(lambda: type(collection).objects.get(pk=collection.pk).executions == 2)
    wait_for(lambda: _succeeded(collection))
    assert Contribution.objects.filter(period=MONDAY_MORNING.date().replace(day=1)).count() == 1
    collection.refresh_from_db()
    assert collection.collected_count == 1


def test_the_one_task_runs_every_kind_of_job(hangzhou, celery_worker):
    """Money in, money credited, then uploaded: each kind sent by name to the same task."""
    person = PersonFactory(city=hangzhou)
    month = MONDAY_MORNING.date()
    collection, _ = contribution_collection_open(city=hangzhou, period=month)
    run_recorded_job.delay("collection", collection.pk)
    wait_for(lambda: _succeeded(collection))
    assert Contribution.objects.filter(person=person, period=month.replace(day=1)).count() == 1

    run, _ = crediting_run_open(city=hangzhou, period=month)
    run_recorded_job.delay("crediting", run.pk)
    wait_for(lambda: _succeeded(run))
    credit = Crediting.objects.get(run=run, account=person.personal_account)
    assert credit.amount > Decimal("0.00")

    upload, _ = upload_open(city=hangzhou, trigger=CityUpload.Trigger.OPERATOR)
    run_recorded_job.delay("upload", upload.pk)
    wait_for(lambda: _succeeded(upload))
    assert BalanceSnapshot.objects.get(person=person, upload=upload).balance == credit.amount


def test_messages_sent_under_the_previous_task_names_still_run(hangzhou, celery_worker):
    """A message queued by the previous version, as its web process sent it, during a deploy."""
    person = PersonFactory(city=hangzhou)
    month = MONDAY_MORNING.date()
    collection, _ = contribution_collection_open(city=hangzhou, period=month)
    celery_app.send_task("accounts.execute_contribution_collection", args=[collection.pk])
    wait_for(lambda: _succeeded(collection))
    run, _ = crediting_run_open(city=hangzhou, period=month)
    celery_app.send_task("accounts.execute_crediting_run", args=[run.pk])
    wait_for(lambda: _succeeded(run))
    upload, _ = upload_open(city=hangzhou, trigger=CityUpload.Trigger.OPERATOR)
    celery_app.send_task("uploads.execute_upload", args=[upload.pk])
    wait_for(lambda: _succeeded(upload))
    assert Crediting.objects.filter(run=run, account=person.personal_account).count() == 1
    assert BalanceSnapshot.objects.filter(person=person, upload=upload).exists()


def _backends_waiting_for_a_lock() -> list[int]:
    with connection.cursor() as cursor:
        # Within a transaction the activity view is a snapshot taken on first reading: refresh it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return [pid for (pid,) in cursor.fetchall()]


@pytest.mark.parametrize(
    ("task_name", "args_of"),
    [
        ("jobs.run_recorded_job", lambda job: ["collection", job.pk]),
        # A message of the previous version: its alias runs the generic task, with the same policy.
        ("accounts.execute_contribution_collection", lambda job: [job.pk]),
    ],
)
def test_a_passing_database_fault_is_retried_once_after_a_short_backoff(
    hangzhou, celery_worker, task_name, args_of
):
    """The worker's database connection is terminated while its job waits for the job's row:
    the task is retried (not after Celery's default three minutes, but within the policy's first
    backoff of at most 2 s) and the retry does the work, once."""
    PersonFactory(city=hangzhou)
    collection, _ = contribution_collection_open(city=hangzhou, period=MONDAY_MORNING.date())
    started: list[int] = []  # each execution's retry count
    retried_eta: list[datetime] = []  # when each retry was due
    retried: list[tuple[BaseException, datetime]] = []  # each retry's fault, and when

    def on_prerun(sender=None, task=None, **kwargs):
        if sender.name == task_name:
            started.append(task.request.retries)
            if task.request.retries:
                # The backoff's jitter may draw a countdown of 0: then the retry has no eta and
                # was due at once.
                eta = task.request.eta
                retried_eta.append(datetime.fromisoformat(eta) if eta else timezone.now())

    def on_retry(sender=None, reason=None, **kwargs):
        if sender.name == task_name:
            retried.append((reason.exc, timezone.now()))

    signals.task_prerun.connect(on_prerun, weak=False)
    signals.task_retry.connect(on_retry, weak=False)
    try:
        with transaction.atomic():
            ContributionCollection.objects.select_for_update().get(pk=collection.pk)
            celery_app.send_task(task_name, args=args_of(collection))
            waiting = wait_for(_backends_waiting_for_a_lock)
            with connection.cursor() as cursor:
                for pid in waiting:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            wait_for(lambda: retried)
        wait_for(lambda: _succeeded(collection))
    finally:
        signals.task_prerun.disconnect(on_prerun)
        signals.task_retry.disconnect(on_retry)

    assert started == [0, 1]  # ran, then retried once
    [(fault, retried_at)] = retried
    assert isinstance(fault, OperationalError)
    assert retried_eta[0] - retried_at <= timedelta(seconds=2.5)
    collection.refresh_from_db()
    # The first execution never got the row, so only the retry counts, and collects once.
    assert collection.executions == 1 and collection.collected_count == 1
    assert Contribution.objects.filter(period=MONDAY_MORNING.date().replace(day=1)).count() == 1
