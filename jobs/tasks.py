"""Beat's entry points (schedules editable in the admin under Periodic tasks)."""

from celery import shared_task
from django.db import transaction

from common import clock
from jobs.services import job_enqueue, jobs_schedule_due, jobs_sweep


@shared_task(name="jobs.schedule_due_jobs")
def schedule_due_jobs() -> dict:
    with transaction.atomic():
        schedules = jobs_schedule_due(today=clock.today())
        for schedule in schedules:
            for job in schedule.jobs:
                job_enqueue(job)
    return {"days": [schedule.day.isoformat() for schedule in schedules]}


@shared_task(name="jobs.sweep_recorded_jobs")
def sweep_recorded_jobs() -> dict:
    return {"re_enqueued": jobs_sweep()}
