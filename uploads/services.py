"""City uploads to the national platform: refresh every person's snapshot, set-based, in chunks.

Each chunk is one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` of the persons' balances as of
the upload, in its own transaction, with the run's progress. A run killed half-way resumes where
it stopped; running it again only rewrites the same rows. When every chunk is in, the city's
latest upload moves forward and the online channel shows the new snapshot.
"""

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Account, Crediting
from cities.models import City
from common import clock
from common.audit import acting_user
from common.context import current_request_id
from common.errors import DomainError
from common.jobs import JobKind, JobOutcome, execute_recorded_job
from common.models import JobStatus
from events.services import events_enabled
from persons.models import InsuredPerson
from uploads.error_codes import UploadErrorCode
from uploads.events import upload_chunk_with_events, upload_completed_record
from uploads.models import BalanceSnapshot, CityUpload

SNAPSHOT = BalanceSnapshot._meta.db_table
PERSON = InsuredPerson._meta.db_table
ACCOUNT = Account._meta.db_table
CREDITING = Crediting._meta.db_table

_UPSERT = f"""
INSERT INTO {SNAPSHOT} (person_id, upload_id, has_personal_account, balance, credited, as_of)
SELECT p.id, %(upload)s, a.id IS NOT NULL, COALESCE(a.balance, 0),
       a.id IS NOT NULL AND EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id),
       %(as_of)s
  FROM {PERSON} p
  LEFT JOIN {ACCOUNT} a ON a.person_id = p.id
 WHERE p.city_id = %(city)s AND p.id > %(lo)s AND p.id <= %(hi)s
ON CONFLICT (person_id) DO UPDATE SET
    upload_id = excluded.upload_id,
    has_personal_account = excluded.has_personal_account,
    balance = excluded.balance,
    credited = excluded.credited,
    as_of = excluded.as_of
 WHERE {SNAPSHOT}.upload_id <= excluded.upload_id
"""


def upload_open(
    *, city: City, trigger: str, due_on=None, by=None, now: datetime | None = None
) -> tuple[CityUpload, bool]:
    """Record an upload to run, as of ``now`` (the caller's clock.now(), read here when not given)
    until it first runs. A scheduled upload is recorded once per day; a city without a public
    channel never uploads."""
    now = clock.now() if now is None else now
    if not city.has_public_upload_channel:
        raise DomainError(UploadErrorCode.NO_PUBLIC_CHANNEL)
    fields = {
        "trigger": trigger,
        "as_of": now,
        "created_by": acting_user(by),
        "request_id": current_request_id(),
    }
    if due_on is not None:
        return CityUpload.objects.get_or_create(city=city, due_on=due_on, defaults=fields)
    return CityUpload.objects.create(city=city, **fields), True


def _upload_chunk(upload: CityUpload, lo: int, hi: int, execution: int) -> dict:
    params = {
        "upload": upload.id,
        "as_of": upload.as_of,
        "city": upload.city_id,
        "lo": lo,
        "hi": hi,
    }
    if events_enabled():
        upload_chunk_with_events(
            upsert_sql=_UPSERT, params=params, city=upload.city, now=upload.as_of
        )
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, params)
    return {}


def _advance_city_pointer(upload: CityUpload) -> None:
    # Only ever forward: an older upload finishing late does not replace a newer one.
    City.objects.filter(pk=upload.city_id).exclude(latest_upload_id__gt=upload.id).update(
        latest_upload_id=upload.id
    )
    upload_completed_record(upload)


UPLOAD_KIND = JobKind(
    model=CityUpload,
    rows=lambda upload: InsuredPerson.objects.filter(city_id=upload.city_id),
    process_chunk=_upload_chunk,
    # An upload is a picture at its as-of time: once finished, running it again changes nothing.
    rescan_when_done=False,
    on_success=_advance_city_pointer,
)


def upload_execute(
    *,
    upload_id: int,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> JobOutcome:
    """Execute (or resume) an upload. Safe to repeat and to run concurrently. ``now`` is the
    run's clock.now() (read here when not given)."""
    now = clock.now() if now is None else now
    # The data is read when the upload first runs, so that is its as-of time (not when queued).
    CityUpload.objects.filter(pk=upload_id, status=JobStatus.PENDING, executions=0).update(
        as_of=now
    )
    return execute_recorded_job(
        UPLOAD_KIND,
        job_id=upload_id,
        chunk_size=chunk_size or settings.JOB_CHUNK_SIZE,
        progress=progress,
    )


def upload_person_now(*, person: InsuredPerson, by=None, now: datetime | None = None) -> CityUpload:
    """Sandbox fast-forward: an upload carrying one person as of ``now`` (the caller's
    clock.now(), read here when not given); the city's schedule is untouched. It becomes the
    city's latest upload (only ever forward), as the person's snapshot says the city has uploaded:
    someone enrolled since is told they are not in it yet, not that the city never uploaded."""
    upload, _ = upload_open(city=person.city, trigger=CityUpload.Trigger.SANDBOX, by=by, now=now)
    _upload_chunk(upload, person.id - 1, person.id, 0)
    CityUpload.objects.filter(pk=upload.id).update(
        status=JobStatus.SUCCEEDED,
        items_total=1,
        items_done=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    upload.refresh_from_db()
    _advance_city_pointer(upload)
    return upload
