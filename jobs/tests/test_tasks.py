"""The Celery entry points, on a real worker and broker."""

from datetime import timedelta

import pytest
from celery import Celery
from django.db import transaction
from django.utils import timezone

from common.models import JobStatus
from config.celery_app import app as celery_app
from jobs.services import job_enqueue, jobs_sweep
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
    from accounts.crediting import contribution_collection_open
    from accounts.models import Contribution
    from accounts.tasks import execute_contribution_collection

    PersonFactory(city=hangzhou)
    collection, _ = contribution_collection_open(city=hangzhou, period=MONDAY_MORNING.date())
    execute_contribution_collection.delay(collection.pk)
    execute_contribution_collection.delay(collection.pk)
    wait_for(lambda: type(collection).objects.get(pk=collection.pk).executions == 2)
    wait_for(lambda: type(collection).objects.get(pk=collection.pk).status == JobStatus.SUCCEEDED)
    assert Contribution.objects.filter(period=MONDAY_MORNING.date().replace(day=1)).count() == 1
    collection.refresh_from_db()
    assert collection.collected_count == 1
