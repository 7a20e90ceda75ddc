"""The daily due work of every city, scheduled once per business day.

For each day: street-point cards whose ready day has come become ready; cities whose
contribution day it is collect employers' contributions; cities whose crediting day it is credit
personal accounts; cities whose upload day it is upload to the national platform. The collection,
crediting and upload are recorded jobs (rows), so they can run as Celery tasks (production), be
executed in order right away (the sandbox clock), and be found again by the sweep if a message or a
worker was lost.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.crediting import contribution_collection_open, crediting_run_open
from accounts.models import ContributionCollection, CreditingRun
from cards.services import cards_mark_ready_due
from cities.models import City
from cities.selectors import is_upload_day
from common import clock
from common.jobs import JobOutcome, job_type_named, job_type_of, job_types
from common.models import JobStatus, RecordedJob
from common.queue import enqueue_on_commit
from jobs.models import JobDay
from uploads.models import CityUpload
from uploads.services import upload_open

logger = logging.getLogger(__name__)

MAX_AUTOMATIC_EXECUTIONS = 5
# A pending job whose message has not started it within this long may have lost its message.
PENDING_GRACE = timedelta(minutes=1)
# Within a day: money in before money credited, credited before uploaded.
DAY_ORDER: tuple[type[RecordedJob], ...] = (ContributionCollection, CreditingRun, CityUpload)


@dataclass
class DaySchedule:
    day: date
    cards_ready: int = 0
    jobs: list[RecordedJob] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "cards_ready": self.cards_ready,
            "jobs": [
                {"kind": job._meta.model_name, "id": job.pk, "city": job.city_id}
                for job in self.jobs
            ],
        }


def cities_on_clock(clock_id: int):
    """The cities whose time is this clock's: a sandbox world's, or (the shared clock) all others."""
    if clock_id == clock.SHARED_CLOCK_ID:
        return City.objects.filter(clock__isnull=True)
    return City.objects.filter(clock_id=clock_id)


def clocks_scheduled() -> list[int]:
    """The clocks whose days are scheduled: the shared one and every sandbox world's."""
    worlds = City.objects.filter(clock__isnull=False).values_list("clock_id", flat=True)
    return [clock.SHARED_CLOCK_ID, *sorted(set(worlds))]


def jobs_schedule_day(*, day: date, clock_id: int = clock.SHARED_CLOCK_ID) -> DaySchedule | None:
    """Record the day's due jobs of the cities on ``clock_id``, once. None if that clock's day
    was already scheduled."""
    with transaction.atomic():
        job_day, created = JobDay.objects.get_or_create(day=day, clock=clock_id)
        if not created:
            return None
        cities = cities_on_clock(clock_id)
        schedule = DaySchedule(day=day, cards_ready=cards_mark_ready_due(today=day, cities=cities))
        month = day.replace(day=1)
        for city in cities.order_by("id"):
            if city.contribution_day == day.day:
                schedule.jobs.append(
                    contribution_collection_open(city=city, period=month, today=day)[0]
                )
            if city.crediting_day == day.day:
                schedule.jobs.append(crediting_run_open(city=city, period=month, today=day)[0])
            if is_upload_day(city, day):
                schedule.jobs.append(
                    upload_open(city=city, trigger=CityUpload.Trigger.SCHEDULE, due_on=day)[0]
                )
        schedule.jobs.sort(key=lambda job: DAY_ORDER.index(type(job)))
        job_day.summary = schedule.summary()
        job_day.save(update_fields=["summary"])
        return schedule


def jobs_schedule_due(*, today: date, clock_id: int = clock.SHARED_CLOCK_ID) -> list[DaySchedule]:
    """Schedule every day of ``clock_id``'s cities from its last scheduled one up to its today
    (catching up after downtime); a new installation (or sandbox world) starts with today."""
    last = (
        JobDay.objects.filter(clock=clock_id).order_by("-day").values_list("day", flat=True).first()
    )
    day = today if last is None else last + timedelta(days=1)
    schedules = []
    while day <= today:
        schedule = jobs_schedule_day(day=day, clock_id=clock_id)
        if schedule is not None:
            schedules.append(schedule)
        day += timedelta(days=1)
    return schedules


def job_run(*, kind: str, job_id: int, progress: Callable[[int], None] | None = None) -> JobOutcome:
    """Run one recorded job of a registered kind to completion in this process (resuming or
    rescanning as its kind does; nothing is ever posted twice). The job runs on its city's clock
    (a sandbox world's city on that world's)."""
    job_type = job_type_named(kind)
    with clock.using(_job_clock_id(job_type.model, job_id)):
        return job_type.execute(job_id, progress)


def _job_clock_id(model, job_id: int) -> int | None:
    if not any(field.name == "city" for field in model._meta.concrete_fields):
        return None
    return model._base_manager.filter(pk=job_id).values_list("city__clock_id", flat=True).first()


def job_execute(job: RecordedJob, *, progress: Callable[[int], None] | None = None) -> JobOutcome:
    """Run one recorded job to completion in this process."""
    return job_run(kind=job_type_of(job).name, job_id=job.pk, progress=progress)


def job_enqueue(job: RecordedJob) -> None:
    """Send the job to a worker once the current transaction commits."""
    from jobs.tasks import run_recorded_job  # here: the task module imports this one

    enqueue_on_commit(run_recorded_job, job_type_of(job).name, job.pk)


def jobs_stalled(*, now=None) -> list[RecordedJob]:
    """Recorded jobs nobody is working on: pending for a while (their message may have been lost),
    running without a heartbeat (their worker died) or failed on a passing fault (retried a few
    times, then left to an operator)."""
    now = now or timezone.now()
    stale = now - settings.JOB_STALE_AFTER
    nobody_on_it = (
        Q(status=JobStatus.PENDING, queued_at__lt=now - PENDING_GRACE)
        | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale)
        | Q(
            status=JobStatus.FAILED,
            executions__lt=MAX_AUTOMATIC_EXECUTIONS,
            heartbeat_at__lt=stale,
        )
    )
    return [job for job_type in job_types() for job in job_type.model.objects.filter(nobody_on_it)]


def jobs_sweep(*, now=None) -> int:
    jobs = jobs_stalled(now=now)
    with transaction.atomic():
        for job in jobs:
            logger.info("re-enqueueing stalled job", extra={"job": str(job), "status": job.status})
            job_enqueue(job)
    return len(jobs)
