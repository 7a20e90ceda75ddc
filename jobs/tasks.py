"""Celery entry points: one task runs any recorded job by its kind and id; beat's entry points
(schedules editable in the admin under Periodic tasks) schedule and sweep them."""

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from common import clock
from jobs.services import clocks_scheduled, job_enqueue, job_run, jobs_schedule_due, jobs_sweep

# Every recorded job is idempotent (the database lets each credit, contribution and snapshot
# happen once), so its message is acknowledged only once it has finished, and a passing database
# fault (a dropped connection, a failover) is retried up to five times, each after a random wait
# of at most 2, 4, 8, 16 and 32 seconds. A job that still fails is left FAILED on its row, where
# the sweep finds it.
RECORDED_JOB_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(name="jobs.run_recorded_job", **RECORDED_JOB_RETRY)
def run_recorded_job(kind: str, job_id: int) -> dict:
    outcome = job_run(kind=kind, job_id=job_id)
    return {
        "kind": kind,
        "job": job_id,
        "status": outcome.status,
        "items": outcome.items_done,
        **{name: str(value) for name, value in outcome.totals.items()},
    }


# The task names of the previous version, one per kind. Messages already in the broker when a
# new version is deployed still carry them, so they stay registered and run the generic task in
# process, under the same policy (a retry of one keeps its old name). Nothing sends them any more;
# they can go once no message of the previous version is left.
@shared_task(name="accounts.execute_contribution_collection", **RECORDED_JOB_RETRY)
def execute_contribution_collection(collection_id: int) -> dict:
    return run_recorded_job("collection", collection_id)


@shared_task(name="accounts.execute_crediting_run", **RECORDED_JOB_RETRY)
def execute_crediting_run(run_id: int) -> dict:
    return run_recorded_job("crediting", run_id)


@shared_task(name="uploads.execute_upload", **RECORDED_JOB_RETRY)
def execute_upload(upload_id: int) -> dict:
    return run_recorded_job("upload", upload_id)


@shared_task(name="jobs.schedule_due_jobs")
def schedule_due_jobs() -> dict:
    """Each clock's due days, by that clock's today: the shared one's cities and each sandbox
    world's go by their own time."""
    days = {}
    for clock_id in clocks_scheduled():
        with transaction.atomic():
            schedules = jobs_schedule_due(today=clock.today(clock_id), clock_id=clock_id)
            for schedule in schedules:
                for job in schedule.jobs:
                    job_enqueue(job)
        if schedules or clock_id == clock.SHARED_CLOCK_ID:
            days[clock_id] = [schedule.day.isoformat() for schedule in schedules]
    shared = days.pop(clock.SHARED_CLOCK_ID, [])
    return {"days": shared, **({"worlds": days} if days else {})}


@shared_task(name="jobs.sweep_recorded_jobs")
def sweep_recorded_jobs() -> dict:
    return {"re_enqueued": jobs_sweep()}
