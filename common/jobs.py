"""Executing recorded jobs in chunks: one transaction per chunk, progress on the job's row.

A job kind supplies how to count its items, where the next chunk ends and how to process one
chunk set-based. This runner does the rest the same way for every kind: it locks the job row per
chunk (so two executions of one job take turns instead of racing), records progress and a
heartbeat, resumes a failed or interrupted job at its cursor, and records failures.

The registry below names every kind: the app that owns a kind registers it from its
``AppConfig.ready()``, and the task, the sweep, ``run_job`` and the admin find it here by name or
by model, so nothing above has to import every kind.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from common.models import JobStatus, RecordedJob


@dataclass
class JobKind:
    model: type[RecordedJob]
    # The rows the job walks through, in id order, a chunk at a time.
    rows: Callable[[RecordedJob], QuerySet]
    # (locked job, lo, hi, execution) -> increments for the job's counter fields
    process_chunk: Callable[[RecordedJob, int, int, int], dict[str, int | Decimal]]
    # Whether executing a finished job scans again (idempotent catch-up) or returns at once.
    rescan_when_done: bool = True
    on_success: Callable[[RecordedJob], None] | None = None


@dataclass
class JobOutcome:
    job_id: int
    status: str
    items_done: int = 0
    chunks: int = 0
    totals: dict[str, int | Decimal] = field(default_factory=dict)


def chunk_of_rows(rows: QuerySet, after: int, size: int) -> tuple[int, int] | None:
    """The next ``size`` of ``rows`` (id order) after id ``after``: (last id, count)."""
    chunk = (
        rows.filter(pk__gt=after).order_by("pk")[:size].aggregate(last=Max("pk"), count=Count("pk"))
    )
    return None if chunk["last"] is None else (chunk["last"], chunk["count"])


def _has_city(model: type[RecordedJob]) -> bool:
    return any(field.name == "city" for field in model._meta.get_fields())


def execute_recorded_job(
    kind: JobKind, *, job_id: int, chunk_size: int, progress: Callable[[int], None] | None = None
) -> JobOutcome:
    model = kind.model
    with transaction.atomic():
        job = model.objects.select_for_update(no_key=True).get(pk=job_id)
        if job.status == JobStatus.SUCCEEDED and not kind.rescan_when_done:
            return JobOutcome(job_id=job.pk, status=job.status)
        resume = job.status in (JobStatus.RUNNING, JobStatus.FAILED)
        job.cursor = job.cursor if resume else 0
        job.items_done = job.items_done if resume else 0
        job.status = JobStatus.RUNNING
        job.executions += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.error = ""
        job.items_total = kind.rows(job).count()
        job.save()
        execution = job.executions
    outcome = JobOutcome(job_id=job_id, status=JobStatus.RUNNING)
    after = job.cursor
    # Rows this pass has got through (from the resumed point); progress is the furthest any
    # execution got, so executions that interleave do not add up past the total.
    scanned = job.items_done
    try:
        while True:
            with transaction.atomic():
                # A city's job reads its city in each chunk; a job of every city has none.
                related = ("city",) if _has_city(model) else ()
                locked = (
                    model.objects.select_for_update(no_key=True, of=("self",))
                    .select_related(*related)
                    .get(pk=job_id)
                )
                chunk = chunk_of_rows(kind.rows(locked), after, chunk_size)
                if chunk is None:
                    break
                last, count = chunk
                increments = kind.process_chunk(locked, after, last, execution)
                for name, value in increments.items():
                    setattr(locked, name, getattr(locked, name) + value)
                    outcome.totals[name] = outcome.totals.get(name, 0) + value
                scanned += count
                locked.cursor = last
                locked.items_done = max(locked.items_done, scanned)
                locked.heartbeat_at = timezone.now()
                locked.save(update_fields=[*increments, "cursor", "items_done", "heartbeat_at"])
            outcome.items_done += count
            outcome.chunks += 1
            after = last
            if progress:
                progress(count)
        with transaction.atomic():
            model.objects.filter(pk=job_id).update(
                status=JobStatus.SUCCEEDED, finished_at=timezone.now()
            )
            if kind.on_success:
                kind.on_success(model.objects.get(pk=job_id))
    except Exception as exc:
        model.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    outcome.status = JobStatus.SUCCEEDED
    return outcome


@dataclass(frozen=True)
class RecordedJobType:
    """A kind of recorded job as the registry knows it: its name (in task messages and on the
    command line), its model, and how one job of it runs to completion in this process."""

    name: str
    model: type[RecordedJob]
    execute: Callable[[int, Callable[[int], None] | None], JobOutcome]  # (job_id, progress)


class UnknownJobType(LookupError):
    pass


_JOB_TYPES: dict[str, RecordedJobType] = {}


def job_type_register(
    *,
    name: str,
    model: type[RecordedJob],
    execute: Callable[[int, Callable[[int], None] | None], JobOutcome],
) -> RecordedJobType:
    """Declare a kind of recorded job (from its app's ``ready()``). Registering a name again with
    the same model replaces it; a name or a model claimed twice is a configuration error."""
    for registered in _JOB_TYPES.values():
        if (registered.name == name) != (registered.model is model):
            raise ImproperlyConfigured(
                f"job type {name!r} ({model.__name__}) clashes with {registered.name!r} "
                f"({registered.model.__name__})"
            )
    job_type = RecordedJobType(name=name, model=model, execute=execute)
    _JOB_TYPES[name] = job_type
    return job_type


def job_types() -> tuple[RecordedJobType, ...]:
    """Every registered kind, in the order their apps are installed."""
    return tuple(_JOB_TYPES.values())


def job_type_named(name: str) -> RecordedJobType:
    try:
        return _JOB_TYPES[name]
    except KeyError:
        raise UnknownJobType(f"no recorded job type {name!r}") from None


def job_type_of(job: RecordedJob) -> RecordedJobType:
    for job_type in _JOB_TYPES.values():
        if type(job) is job_type.model:
            return job_type
    raise UnknownJobType(f"not a registered recorded job: {job!r}")
