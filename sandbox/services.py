"""Sandbox controls: the simulated clock. Advancing it runs, day by day and in order, everything
that became due (cards ready, contributions collected, crediting, uploads) and reports it.

A step may be as short as a minute: a day's work runs at the day's first minute the clock reaches,
so a step from 23:00 to 00:30 runs the new day's jobs (once; a day is scheduled only once)."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from common import clock
from common.errors import CommonErrorCode, DomainError
from common.models import SimulatedClock
from jobs.services import job_execute, jobs_schedule_day
from sandbox.error_codes import SandboxErrorCode

MAX_ADVANCE_DAYS = 400


def require_sandbox() -> None:
    if not settings.SANDBOX_MODE:
        raise DomainError(
            CommonErrorCode.SANDBOX_DISABLED,
            gettext(
                "Sandbox mode is off on this server, so sandbox endpoints do not exist here (it is on in the demo; set SANDBOX_MODE=true to enable it)."
            ),
        )


@dataclass
class AdvanceReport:
    previous: datetime
    now: datetime
    days: list[dict] = field(default_factory=list)


def _set_clock(row: SimulatedClock, value: datetime) -> None:
    row.now = value
    row.save(update_fields=["now", "updated_at"])
    # The jobs run below read the clock in this same transaction.
    clock.remember_now(value, row.pk)


def _job_report(job, outcome) -> dict:
    job.refresh_from_db(fields=["status", "items_done"])
    report = {
        "kind": job._meta.model_name,
        "id": job.pk,
        "city": job.city.code,
        "status": job.status,
        "items_done": job.items_done,
    }
    # Counts stay numbers, as in the events; amounts (Decimal) are strings, as everywhere.
    report.update(
        {
            name: value if isinstance(value, int) else str(value)
            for name, value in outcome.totals.items()
        }
    )
    return report


def clock_advance(
    *,
    days: int = 0,
    hours: int = 0,
    minutes: int = 0,
    to: datetime | None = None,
    by=None,
    clock_id: int = clock.SHARED_CLOCK_ID,
) -> AdvanceReport:
    """Move the clock ``clock_id`` (the shared one, or a sandbox world's) to ``to``, or forward
    by ``days``, ``hours`` and ``minutes`` together, running the due work of its cities alone."""
    require_sandbox()
    with transaction.atomic(), clock.using(clock_id):
        if clock_id == clock.SHARED_CLOCK_ID:
            row, _ = SimulatedClock.objects.select_for_update(no_key=True).get_or_create(
                pk=clock_id, defaults={"now": timezone.now()}
            )
        else:
            row = SimulatedClock.objects.select_for_update(no_key=True).get(pk=clock_id)
        previous = row.now
        step = timedelta(days=days, hours=hours, minutes=minutes)
        target = to if to is not None else previous + step
        if target < previous:
            raise DomainError(
                SandboxErrorCode.CLOCK_CANNOT_GO_BACK,
                gettext("The clock is at %(previous)s.") % {"previous": clock.as_text(previous)},
            )
        if target - previous > timedelta(days=MAX_ADVANCE_DAYS):
            raise DomainError(SandboxErrorCode.CLOCK_STEP_TOO_LARGE)
        report = AdvanceReport(previous=previous, now=target)
        try:
            day = clock.localdate(previous)
            while day <= clock.localdate(target):
                midnight = timezone.make_aware(datetime.combine(day, time.min))
                _set_clock(row, max(previous, midnight))
                schedule = jobs_schedule_day(day=day, clock_id=clock_id)
                if schedule is not None:
                    jobs = [_job_report(job, job_execute(job)) for job in schedule.jobs]
                    if schedule.cards_ready or jobs:
                        report.days.append(
                            {"day": day, "cards_ready": schedule.cards_ready, "jobs": jobs}
                        )
                day += timedelta(days=1)
            _set_clock(row, target)
        except Exception:
            clock.forget_cached_now(clock_id)
            raise
        transaction.on_commit(lambda: clock.forget_cached_now(clock_id))
        return report


def clock_state(clock_id: int = clock.SHARED_CLOCK_ID) -> dict:
    row = SimulatedClock.objects.filter(pk=clock_id).first()
    now = clock.now(clock_id)
    return {
        "now": now,
        "today": clock.localdate(now),
        "frozen": row is not None,
        "sandbox_mode": settings.SANDBOX_MODE,
    }
