from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import ContributionCollection, CreditingRun
from cards.models import SocialSecurityCard
from cards.services import card_apply
from common.models import JobStatus
from jobs.models import JobDay
from jobs.services import jobs_schedule_day, jobs_schedule_due, jobs_stalled
from persons.tests.factories import PersonFactory
from sandbox.world import sandbox_city
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload

pytestmark = pytest.mark.django_db


@pytest.fixture
def hangzhou():
    set_clock(MONDAY_MORNING)
    return sandbox_city("standard")  # daily uploads, collection on the 10th, crediting on the 25th


def test_a_day_is_scheduled_once(hangzhou):
    first = jobs_schedule_day(day=date(2026, 11, 2))
    assert [type(job) for job in first.jobs] == [CityUpload]
    assert jobs_schedule_day(day=date(2026, 11, 2)) is None
    assert JobDay.objects.get(day=date(2026, 11, 2)).summary["jobs"][0]["kind"] == "cityupload"


def test_each_city_gets_its_own_days(hangzhou):
    zhumadian = sandbox_city("no_channel")  # never uploads
    set_clock(MONDAY_MORNING + timedelta(days=23))
    collection_day = jobs_schedule_day(day=date(2026, 11, 10))
    kinds = {(type(job), job.city_id) for job in collection_day.jobs}
    assert (ContributionCollection, hangzhou.id) in kinds and (
        ContributionCollection,
        zhumadian.id,
    ) in kinds
    assert (CityUpload, zhumadian.id) not in kinds
    crediting_day = jobs_schedule_day(day=date(2026, 11, 25))
    # Within a day: crediting before upload, so the upload carries the credit.
    assert [type(job) for job in crediting_day.jobs if job.city_id == hangzhou.id] == [
        CreditingRun,
        CityUpload,
    ]


def test_catching_up_schedules_every_missed_day(hangzhou):
    JobDay.objects.create(day=date(2026, 11, 1))
    schedules = jobs_schedule_due(today=date(2026, 11, 4))
    assert [schedule.day for schedule in schedules] == [
        date(2026, 11, 2),
        date(2026, 11, 3),
        date(2026, 11, 4),
    ]
    assert jobs_schedule_due(today=date(2026, 11, 4)) == []


def test_a_new_installation_starts_today(hangzhou):
    assert [schedule.day for schedule in jobs_schedule_due(today=date(2026, 11, 3))] == [
        date(2026, 11, 3)
    ]


def test_street_point_cards_become_ready_on_their_day(hangzhou):
    person = PersonFactory(city=hangzhou)
    card = card_apply(
        person=person,
        site=SocialSecurityCard.Site.STREET_POINT,
        insured_resident_id=person.resident_id,
        by=None,
        ready_working_day=3,
    )
    assert card.ready_on == date(2026, 11, 5)
    assert jobs_schedule_day(day=date(2026, 11, 4)).cards_ready == 0
    assert jobs_schedule_day(day=date(2026, 11, 5)).cards_ready == 1
    card.refresh_from_db()
    assert card.status == SocialSecurityCard.Status.READY
    assert card.history.count() == 2  # applied, then ready: every transition recorded


def test_stalled_jobs_are_found(hangzhou):
    now = timezone.now()
    pending = CityUpload.objects.create(
        city=hangzhou, trigger=CityUpload.Trigger.OPERATOR, as_of=now
    )
    CityUpload.objects.filter(pk=pending.pk).update(queued_at=now - timedelta(minutes=5))
    running = CityUpload.objects.create(
        city=hangzhou,
        trigger=CityUpload.Trigger.OPERATOR,
        as_of=now,
        status=JobStatus.RUNNING,
        heartbeat_at=now - timedelta(hours=1),
    )
    alive = CityUpload.objects.create(
        city=hangzhou,
        trigger=CityUpload.Trigger.OPERATOR,
        as_of=now,
        status=JobStatus.RUNNING,
        heartbeat_at=now,
    )
    given_up = CityUpload.objects.create(
        city=hangzhou,
        trigger=CityUpload.Trigger.OPERATOR,
        as_of=now,
        status=JobStatus.FAILED,
        executions=5,
        heartbeat_at=now - timedelta(hours=1),
    )
    found = {job.pk for job in jobs_stalled(now=now)}
    assert pending.pk in found and running.pk in found
    assert alive.pk not in found and given_up.pk not in found
