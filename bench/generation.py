"""Demo-world generation: ``manage.py seed_demo --persons N`` (time and peak memory).

The command runs as a child process on a freshly migrated database, with the production
settings; its wall time and its peak resident memory (``ru_maxrss`` of the children) are the
figures. The floor is the bare SQL that writes the same rows (persons with valid resident ID
numbers, their personal accounts and e-vouchers) with ``generate_series`` into scratch copies of
the tables, in the same run.

    .venv/bin/python bench/generation.py [--size 1000000]
"""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

FULL_SIZE = 1_000_000
TIME_TARGET = 180.0
MEMORY_TARGET_MIB = 1024.0
CITY_CODE = "330100"
SCRATCH = ("bench_scratch_person", "bench_scratch_account", "bench_scratch_evoucher")
# ISO 7064 MOD 11-2, as persons.resident_id computes it.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def run_seed_demo(persons: int) -> tuple[float, float, str]:
    """(seconds, peak MiB, output tail) of the real command."""
    command = [
        harness.PYTHON,
        str(harness.ROOT / "manage.py"),
        "seed_demo",
        "--persons",
        str(persons),
        "--city",
        CITY_CODE,
        "--quiet-table",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with harness.Timer() as timer:
        done = subprocess.run(  # noqa: S603
            command,
            cwd=harness.ROOT,
            # The demo world is a sandbox's: seed_demo refuses production settings, so it runs
            # as a person runs it, in demo mode, on the benchmark's database.
            env={**os.environ, "DJANGO_ENV": "demo", "SANDBOX_MODE": "true"},
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"seed_demo failed with exit code {done.returncode}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kib <= before:
        harness.log("note: an earlier child process used more memory than seed_demo")
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return timer.seconds, peak_kib / 1024, tail


def floor_generate(persons: int, city_id: int, prefix: str, residents_have_accounts: bool) -> float:
    """The same rows as sandbox.population, written by bare SQL into scratch tables."""
    from django.db import connection, transaction

    from accounts.models import Account
    from cards.models import EVoucher
    from persons.models import InsuredPerson

    person, account, evoucher = SCRATCH
    for scratch, model in zip(SCRATCH, (InsuredPerson, Account, EVoucher), strict=True):
        harness.sql(f"DROP TABLE IF EXISTS {scratch}")
        harness.sql(f"CREATE TABLE {scratch} (LIKE {model._meta.db_table} INCLUDING ALL)")
    checksum = " + ".join(
        f"substr(rid17, {index + 1}, 1)::int * {weight}" for index, weight in enumerate(_WEIGHTS)
    )
    wages = "ARRAY[4800.00, 6500.00, 8200.00, 9800.00, 12500.00, 18000.00, 32000.00]::numeric[]"
    harness.settle_database()
    with harness.Timer() as timer, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {person} (resident_id, name, sex, birth_date, scheme, employment_status,
                                  subsidy_category, declared_wage, enrolled_on, created_at, city_id)
            SELECT rid17 || substr('10X98765432', mod({checksum}, 11) + 1, 1),
                   'Resident ' || lpad(i::text, 7, '0'),
                   CASE WHEN mod(mod(i, 999) + 1, 2) = 1 THEN 'M' ELSE 'F' END,
                   birth,
                   CASE WHEN roll < 9500 THEN 'EMPLOYEE' ELSE 'RESIDENT' END,
                   CASE WHEN roll < 8000 THEN 'ACTIVE' WHEN roll < 9500 THEN 'RETIRED' ELSE '' END,
                   'NONE',
                   CASE WHEN roll < 8000 THEN ({wages})[1 + mod(abs(hashint4(i + 7)), 7)] END,
                   CURRENT_DATE, now(), %(city)s
              FROM (SELECT i, birth, mod(abs(hashint4(i)), 10000) AS roll,
                           %(prefix)s || to_char(birth, 'YYYYMMDD') || lpad((mod(i, 999) + 1)::text, 3, '0') AS rid17
                      FROM (SELECT i, DATE '1950-01-01' + i / 999 AS birth
                              FROM generate_series(0, %(n)s - 1) i) numbered) g
            """,
            {"city": city_id, "prefix": prefix, "n": persons},
        )
        cursor.execute(
            f"INSERT INTO {account} (kind, city_id, person_id, balance, created_at) "
            f"SELECT 'PERSONAL', city_id, id, 0, now() FROM {person} "
            "WHERE scheme = 'EMPLOYEE' OR %s",
            [residents_have_accounts],
        )
        cursor.execute(
            f"INSERT INTO {evoucher} (person_id, status, platform, consecutive_failures) "
            f"SELECT id, 'NOT_ACTIVATED', '', 0 FROM {person}"
        )
    counts = [harness.sql(f"SELECT COUNT(*) FROM {table}")[0][0] for table in SCRATCH]
    harness.log(f"floor wrote persons/accounts/e-vouchers: {counts}")
    for scratch in SCRATCH:
        harness.sql(f"DROP TABLE IF EXISTS {scratch}")
    return timer.seconds


def main() -> None:
    args, report = harness.start(
        "generation",
        "Demo-world generation",
        "seed_demo --persons N: wall time and peak memory, against bare SQL writing the same rows.",
        FULL_SIZE,
    )
    from django.db import connections

    connections.close_all()
    with harness.step(f"seed_demo --persons {args.size:,}"):
        seconds, peak_mib, tail = run_seed_demo(args.size)
    harness.log(tail)

    from accounts.models import Account
    from cards.models import EVoucher
    from cities.models import City
    from common import clock
    from persons.models import InsuredPerson
    from sandbox.population import population_count, population_prefix

    city = City.objects.get(code=CITY_CODE)
    prefix = population_prefix(city)
    generated = population_count(city)
    accounts = Account.objects.filter(
        person__resident_id__startswith=prefix, person__city=city
    ).count()
    vouchers = EVoucher.objects.filter(
        person__resident_id__startswith=prefix, person__city=city
    ).count()
    harness.log(f"seed_demo wrote persons/accounts/e-vouchers: {[generated, accounts, vouchers]}")
    if generated != args.size:
        raise SystemExit(f"expected {args.size} generated persons, found {generated}")
    residents_have_accounts = not city.resident_accounts_abolished_by(clock.today())
    with harness.step("floor: bare INSERT ... SELECT generate_series"):
        floor = floor_generate(args.size, city.id, prefix, residents_have_accounts)

    full = args.size == FULL_SIZE
    report.add(
        "generation: wall time (whole command)",
        seconds,
        "s",
        floor=floor,
        target=f"< {TIME_TARGET:.0f} s at {FULL_SIZE:,}",
        met=(seconds < TIME_TARGET) if full else None,
        note=f"{args.size / seconds:,.0f} persons/s; the floor writes the same rows with "
        "generate_series (no Django, no demo world, no foreign-key or trigger checks)",
    )
    report.add(
        "generation: peak memory (ru_maxrss)",
        peak_mib,
        "MiB",
        target=f"< {MEMORY_TARGET_MIB:.0f} MiB",
        met=peak_mib < MEMORY_TARGET_MIB,
    )
    report.note(
        f"{InsuredPerson.objects.count():,} persons in the database afterwards "
        f"({generated:,} generated, the rest the demo world's scenario persons)"
    )
    if not full:
        report.note(f"time targets are judged at {FULL_SIZE:,} persons only")
    harness.finish(args, report)


if __name__ == "__main__":
    main()
