"""The beat schedule, as stored: every periodic task it names runs on a real worker and does its
work, and every kind of recorded job left behind (its message lost, its worker dead) is found and
finished by the schedule's own sweep.

The schedule is read from the database rows the jobs migration creates (recreated here after a
transactional test's flush); each task is sent as beat sends it: by the row's task name, with the
row's arguments."""

import importlib
import json
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from knox.models import AuthToken

from accounts.crediting import (
    contribution_collection_execute,
    contribution_collection_open,
    crediting_run_open,
)
from accounts.models import Contribution, ContributionCollection, Crediting, CreditingRun
from cities.models import City
from common import clock
from common.calendar import next_month
from common.jobs import job_types
from common.models import JobStatus
from config.celery_app import app as celery_app
from events.models import Event, EventType
from events.services import event_record
from jobs.models import JobDay
from persons.tests.factories import PersonFactory
from sandbox.world import sandbox_city
from tests.support import MONDAY_MORNING, set_clock, wait_for
from uploads.models import BalanceSnapshot, CityUpload
from uploads.services import upload_open
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP = "jobs.sweep_recorded_jobs"


def beat_schedule() -> dict[str, PeriodicTask]:
    """The enabled periodic tasks by task name, as the migration stores them."""
    for name in (
        "jobs.migrations.0002_beat_schedule",
        "events.migrations.0002_beat_schedule",
        "webhooks.migrations.0002_beat_schedule",
    ):
        migration = importlib.import_module(name)
        migration.create_schedule(apps, None)  # a no-op unless a flush emptied the table
    return {task.task: task for task in PeriodicTask.objects.filter(enabled=True)}


def send_as_beat(task_name: str) -> None:
    row = beat_schedule()[task_name]
    celery_app.send_task(row.task, args=json.loads(row.args), kwargs=json.loads(row.kwargs))


def _status(job) -> str:
    return type(job).objects.get(pk=job.pk).status


@pytest.fixture
def hangzhou(agreement):
    set_clock(MONDAY_MORNING)
    return sandbox_city("standard")


# --- Each beat task: what it must have done --------------------------------------------------


def _schedules_the_days_due_jobs_and_they_run(city):
    """On a day that is the city's contribution, crediting and upload day, the schedule records
    the three jobs and the worker runs them: money in, credited, uploaded."""
    City.objects.filter(pk=city.pk).update(contribution_day=2, crediting_day=2)
    person = PersonFactory(city=city)

    def check():
        job_day = wait_for(lambda: JobDay.objects.filter(day=MONDAY_MORNING.date()).first())
        kinds = [job["kind"] for job in job_day.summary["jobs"]]
        assert kinds == ["contributioncollection", "creditingrun", "cityupload"]
        for model in (ContributionCollection, CreditingRun):
            job = model.objects.get(city=city, period=date(2026, 11, 1))
            wait_for(lambda job=job: _status(job) == JobStatus.SUCCEEDED)
        upload = CityUpload.objects.get(city=city, due_on=MONDAY_MORNING.date())
        wait_for(lambda: _status(upload) == JobStatus.SUCCEEDED)
        assert Contribution.objects.filter(person=person, period=date(2026, 11, 1)).count() == 1
        credit = Crediting.objects.get(account=person.personal_account, period=date(2026, 11, 1))
        assert BalanceSnapshot.objects.get(person=person, upload=upload).balance == credit.amount

    return check


def _sweeps_a_job_whose_message_was_lost(city):
    PersonFactory(city=city)
    upload, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)  # never sent
    CityUpload.objects.filter(pk=upload.pk).update(queued_at=timezone.now() - timedelta(minutes=5))

    def check():
        wait_for(lambda: _status(upload) == JobStatus.SUCCEEDED)

    return check


def _purges_expired_tokens(city):
    user = OperatorFactory(cities=[city])
    expired, _ = AuthToken.objects.create(user)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    live, _ = AuthToken.objects.create(user)

    def check():
        wait_for(lambda: not AuthToken.objects.filter(pk=expired.pk).exists())
        assert AuthToken.objects.filter(pk=live.pk).exists()

    return check


def _purges_expired_events(city):
    old = event_record(
        type=EventType.CITY_SWITCHES_CHANGED,
        now=timezone.now(),
        object_type="city",
        object_id=city.code,
        data={},
        city_id=city.pk,
    )
    Event.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS, seconds=1)
    )
    recent = event_record(
        type=EventType.CITY_SWITCHES_CHANGED,
        now=timezone.now(),
        object_type="city",
        object_id=city.code,
        data={},
        city_id=city.pk,
    )

    def check():
        wait_for(lambda: not Event.objects.filter(pk=old.pk).exists())
        assert Event.objects.filter(pk=recent.pk).exists()

    return check


def _delivers_webhooks_whose_dispatch_was_lost(city):
    """An event committed whose dispatch message never went out (a broker outage): the periodic
    dispatch delivers it, signed, to the endpoint of an operator of its city."""
    from standardwebhooks import Webhook

    from webhooks.services import endpoint_create
    from webhooks.tests.receiver import start_receiver

    receiver, server = start_receiver()
    endpoint, secret = endpoint_create(
        owner=OperatorFactory(cities=[city]),
        url=receiver.url(),
        event_types=["*"],
        now=timezone.now(),
    )
    event = Event.objects.create(  # recorded without the signal that queues a dispatch
        type=EventType.CITY_SWITCHES_CHANGED,
        occurred_at=MONDAY_MORNING,
        object_type="city",
        object_id=city.code,
        city_id=city.pk,
    )

    def check():
        try:
            wait_for(lambda: receiver.requests)
            [request] = receiver.requests
            assert request.headers["webhook-id"] == event.public_id
            Webhook(secret).verify(request.body, request.headers)
            # The receiver answers before the worker records the attempt.
            wait_for(lambda: endpoint.deliveries.get().status == "SUCCEEDED")
        finally:
            server.shutdown()
            server.server_close()

    return check


BEAT_TASKS = {
    "jobs.schedule_due_jobs": _schedules_the_days_due_jobs_and_they_run,
    "webhooks.dispatch": _delivers_webhooks_whose_dispatch_was_lost,
    SWEEP: _sweeps_a_job_whose_message_was_lost,
    "users.purge_expired_tokens": _purges_expired_tokens,
    "events.purge_expired_events": _purges_expired_events,
}


def test_every_task_of_the_beat_schedule_is_tested_and_registered():
    assert set(beat_schedule()) == set(BEAT_TASKS)
    celery_app.loader.import_default_modules()
    assert set(BEAT_TASKS) <= set(celery_app.tasks)


@pytest.mark.parametrize("task_name", sorted(BEAT_TASKS))
def test_each_beat_task_runs_and_does_its_work(task_name, hangzhou, celery_worker):
    check = BEAT_TASKS[task_name](hangzhou)
    send_as_beat(task_name)
    check()


# --- Every kind of recorded job, left behind, is finished by the sweep ------------------------


def _collection(city, person):
    job, _ = contribution_collection_open(city=city, period=date(2026, 11, 1))

    def done():
        return Contribution.objects.filter(person=person, period=date(2026, 11, 1)).count() == 1

    return job, done


def _crediting(city, person):
    collection, _ = contribution_collection_open(city=city, period=date(2026, 11, 1))
    contribution_collection_execute(collection_id=collection.pk)
    job, _ = crediting_run_open(city=city, period=date(2026, 11, 1))

    def done():
        return Crediting.objects.filter(run=job, account=person.personal_account).count() == 1

    return job, done


def _upload(city, person):
    job, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)

    def done():
        return BalanceSnapshot.objects.filter(upload=job, person=person).count() == 1

    return job, done


def _clearing(city, person):
    """A settlement of the person's in another city, cleared with the month it fell in."""
    from cities.tests.factories import CityFactory
    from settlement.clearing import clearing_run_open
    from settlement.models import ClearingItem
    from settlement.tests.factories import (
        CatalogItemFactory,
        InstitutionFactory,
        active_card,
        filing_for,
        fund_personal_account,
    )
    from settlement.tests.helpers import settle, terminal_of

    elsewhere = CityFactory(name="Sweep elsewhere")
    hospital = InstitutionFactory(city=elsewhere, level=3)
    CatalogItemFactory(code="SWEEP-A", catalog_class="A")
    person.card = active_card(person)
    fund_personal_account(person, "100.00")
    filing_for(person, elsewhere, days=400)
    settlement = settle(
        institution=hospital,
        person=person,
        by=terminal_of(hospital),
        items=[("SWEEP-A", "1", "50.00")],
    )
    period = clock.today().replace(day=1)
    job, _ = clearing_run_open(period=period, today=next_month(period))

    def done():
        return ClearingItem.objects.filter(settlement=settlement).count() == 1

    return job, done


JOB_KINDS = {
    "collection": _collection,
    "crediting": _crediting,
    "upload": _upload,
    "clearing": _clearing,
}


def _message_lost(job):
    """Recorded, never started: its message went nowhere (a broker outage, a purge)."""
    type(job).objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(minutes=5))


def _worker_died(job):
    """Started, then silent: its worker died half-way (no heartbeat for longer than allowed)."""
    type(job).objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        executions=1,
        started_at=timezone.now() - settings.JOB_STALE_AFTER * 2,
        heartbeat_at=timezone.now() - settings.JOB_STALE_AFTER - timedelta(minutes=1),
    )


def test_every_kind_of_recorded_job_is_covered():
    assert set(JOB_KINDS) == {job_type.name for job_type in job_types()}


@pytest.mark.parametrize("left_behind", [_message_lost, _worker_died], ids=["lost", "dead"])
@pytest.mark.parametrize("kind", sorted(JOB_KINDS))
def test_the_beat_schedules_sweep_finishes_every_kind_of_job_left_behind(
    kind, left_behind, hangzhou, celery_worker
):
    person = PersonFactory(city=hangzhou)
    job, done = JOB_KINDS[kind](hangzhou, person)
    left_behind(job)
    assert _status(job) != JobStatus.SUCCEEDED and not done()
    send_as_beat(SWEEP)
    wait_for(lambda: _status(job) == JobStatus.SUCCEEDED)
    assert done()
