"""A city's upload of its account data to the national platform (the balance snapshot).

Preparation (not timed): a city with a generated population of N persons and accounts, the
month's contributions collected and the month credited, so the snapshot carries real balances and
real "credited" flags.

Timed, in this order:
- the floor: the bare ``INSERT ... SELECT ... ON CONFLICT`` of the same snapshot rows into a
  scratch copy of the snapshot table (``LIKE ... INCLUDING ALL``), one statement;
- the first upload through ``uploads.services`` (chunked, with its recorded progress);
- the next upload (every row already there, so every row is rewritten), against the same bare
  statement run again on the scratch table.

    .venv/bin/python bench/upload.py [--size 1000000]
"""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

FULL_SIZE = 1_000_000
TIME_TARGET = 30.0
SCRATCH = "bench_scratch_snapshot"

FLOOR_UPSERT = f"""
INSERT INTO {SCRATCH} (person_id, upload_id, has_personal_account, balance, credited, as_of)
SELECT p.id, %(upload)s, a.id IS NOT NULL, COALESCE(a.balance, 0),
       a.id IS NOT NULL AND EXISTS (SELECT 1 FROM accounts_crediting k WHERE k.account_id = a.id),
       now()
  FROM persons_insuredperson p
  LEFT JOIN accounts_account a ON a.person_id = p.id
 WHERE p.city_id = %(city)s
ON CONFLICT (person_id) DO UPDATE SET
    upload_id = excluded.upload_id,
    has_personal_account = excluded.has_personal_account,
    balance = excluded.balance,
    credited = excluded.credited,
    as_of = excluded.as_of
"""


def floor_upsert(city, upload_marker: int) -> float:
    from django.db import connection, transaction

    harness.settle_database()
    with harness.Timer() as timer, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FLOOR_UPSERT, {"upload": upload_marker, "city": city.id})
    return timer.seconds


def real_upload(city) -> tuple[float, int]:
    from cities.models import City
    from uploads.models import CityUpload
    from uploads.services import upload_execute, upload_open

    harness.settle_database()
    with harness.Timer() as timer:
        upload, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
        outcome = upload_execute(upload_id=upload.id)
    if City.objects.get(pk=city.pk).latest_upload_id != upload.id:
        raise SystemExit("the upload finished but the city's latest upload did not move")
    return timer.seconds, outcome.items_done


def main() -> None:
    args, report = harness.start(
        "upload",
        "City upload",
        "A city's upload of N persons' balances, against the bare INSERT ... SELECT ... ON "
        "CONFLICT of the same rows.",
        FULL_SIZE,
    )
    from bench.world import city_with_population
    from uploads.models import BalanceSnapshot

    city, _ = city_with_population(args.size, collect=True, credit=True)
    harness.sql(f"DROP TABLE IF EXISTS {SCRATCH}")
    harness.sql(f"CREATE TABLE {SCRATCH} (LIKE {BalanceSnapshot._meta.db_table} INCLUDING ALL)")
    try:
        with harness.step("floor: bare INSERT ... SELECT ... ON CONFLICT (new rows)"):
            floor_first = floor_upsert(city, 1)
        with harness.step("first upload"):
            first, items = real_upload(city)
        with harness.step("floor again (every row conflicts)"):
            floor_next = floor_upsert(city, 2)
        with harness.step("next upload"):
            following, _ = real_upload(city)
        floor_rows = harness.sql(f"SELECT COUNT(*) FROM {SCRATCH}")[0][0]
    finally:
        harness.sql(f"DROP TABLE IF EXISTS {SCRATCH}")
    snapshots = BalanceSnapshot.objects.filter(person__city=city).count()
    if snapshots != floor_rows:
        report.note(f"WARNING: the upload wrote {snapshots:,} snapshots, the floor {floor_rows:,}")

    full = args.size == FULL_SIZE
    report.add(
        f"first upload of {items:,} persons",
        first,
        "s",
        floor=floor_first,
        target=f"< {TIME_TARGET:.0f} s at {FULL_SIZE:,}",
        met=(first < TIME_TARGET) if full else None,
        note=f"{items / first:,.0f} persons/s; every snapshot row is new",
    )
    report.add(
        "next upload (every row rewritten)",
        following,
        "s",
        floor=floor_next,
        target="recorded (no target)",
        note="the steady state of a daily upload: every row conflicts and is updated",
    )
    if not full:
        report.note(f"time targets are judged at {FULL_SIZE:,} persons only")
    harness.finish(args, report)


if __name__ == "__main__":
    main()
