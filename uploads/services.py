"""City uploads to the national platform: refresh every person's snapshot, set-based, in chunks.

Each chunk is one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` of the persons' balances as of
the upload, in its own transaction, with the run's progress. A run killed half-way resumes where
it stopped; running it again only rewrites the same rows. When every chunk is in, the city's
latest upload moves forward and the online channel shows the new snapshot.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account, Crediting, JobStatus
from cities.models import City
from common import clock
from common.context import current_request_id
from common.errors import ProblemError
from persons.models import InsuredPerson
from uploads.error_codes import UploadErrorCode
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
"""


@dataclass
class UploadOutcome:
    upload_id: int
    city_code: str
    persons_uploaded: int = 0
    chunks: int = 0


def upload_open(*, city: City, trigger: str, due_on=None, by=None) -> tuple[CityUpload, bool]:
    """Record an upload to run. A scheduled upload is recorded once per day; a city without a
    public channel never uploads."""
    if not city.has_public_upload_channel:
        raise ProblemError(UploadErrorCode.NO_PUBLIC_CHANNEL)
    fields = {
        "trigger": trigger,
        "as_of": clock.now(),
        "created_by": by if getattr(by, "pk", None) else None,
        "request_id": current_request_id(),
    }
    if due_on is not None:
        return CityUpload.objects.get_or_create(city=city, due_on=due_on, defaults=fields)
    return CityUpload.objects.create(city=city, **fields), True


def upload_person_now(*, person: InsuredPerson, by=None) -> CityUpload:
    """Sandbox fast-forward: an upload carrying one person (the city's schedule is untouched)."""
    upload, _ = upload_open(city=person.city, trigger=CityUpload.Trigger.SANDBOX, by=by)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT,
            {
                "upload": upload.id,
                "as_of": upload.as_of,
                "city": person.city_id,
                "lo": person.id - 1,
                "hi": person.id,
            },
        )
    CityUpload.objects.filter(pk=upload.id).update(
        status=JobStatus.SUCCEEDED,
        persons_total=1,
        persons_done=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    return upload


def upload_execute(
    *, upload_id: int, chunk_size: int | None = None, progress: Callable[[int], None] | None = None
) -> UploadOutcome:
    """Execute (or resume) an upload. Safe to repeat and to run concurrently."""
    chunk_size = chunk_size or settings.JOB_CHUNK_SIZE
    with transaction.atomic():
        upload = CityUpload.objects.select_for_update().select_related("city").get(pk=upload_id)
        outcome = UploadOutcome(upload_id=upload.id, city_code=upload.city.code)
        if upload.status == JobStatus.SUCCEEDED:
            return outcome
        upload.status = JobStatus.RUNNING
        upload.executions += 1
        upload.started_at = upload.started_at or timezone.now()
        upload.heartbeat_at = timezone.now()
        upload.error = ""
        upload.persons_total = InsuredPerson.objects.filter(city_id=upload.city_id).count()
        upload.save(
            update_fields=[
                "status",
                "executions",
                "started_at",
                "heartbeat_at",
                "error",
                "persons_total",
            ]
        )
    lo = upload.cursor
    try:
        while True:
            with transaction.atomic():
                locked = CityUpload.objects.select_for_update().get(pk=upload.id)
                lo = max(lo, locked.cursor)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT MAX(id), COUNT(*) FROM (SELECT id FROM {PERSON} WHERE city_id = %s AND id > %s "
                        "ORDER BY id LIMIT %s) chunk",
                        [upload.city_id, lo, chunk_size],
                    )
                    hi, count = cursor.fetchone()
                    if hi is None:
                        break
                    cursor.execute(
                        _UPSERT,
                        {
                            "upload": upload.id,
                            "as_of": upload.as_of,
                            "city": upload.city_id,
                            "lo": lo,
                            "hi": hi,
                        },
                    )
                locked.cursor = hi
                locked.persons_done += count
                locked.heartbeat_at = timezone.now()
                locked.save(update_fields=["cursor", "persons_done", "heartbeat_at"])
            outcome.persons_uploaded += count
            outcome.chunks += 1
            lo = hi
            if progress:
                progress(count)
        with transaction.atomic():
            CityUpload.objects.filter(pk=upload.id).update(
                status=JobStatus.SUCCEEDED, finished_at=timezone.now()
            )
            # Only ever forward: an older upload finishing late does not hide a newer snapshot.
            City.objects.filter(pk=upload.city_id).exclude(latest_upload_id__gt=upload.id).update(
                latest_upload_id=upload.id
            )
    except Exception as exc:
        CityUpload.objects.filter(pk=upload.id).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    return outcome
