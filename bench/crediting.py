"""Monthly crediting of a city's personal accounts, on PostgreSQL.

Preparation (not timed): a city with a generated population of N persons, each with a personal
account (80 % active employees, 15 % retirees, 5 % residents: sandbox.population), and the
month's contributions collected by the project's own collection job.

Timed, in this order:
- the floor: the bare SQL that writes the same rows (the creditings, their ledger entries and the
  balance updates) with ``INSERT ... SELECT`` and one ``UPDATE`` into scratch copies of the tables
  (``CREATE TABLE ... (LIKE ... INCLUDING ALL)``: the same columns, indexes and checks, no
  triggers or foreign keys), in one transaction;
- the crediting run through ``accounts.crediting`` (chunked, one transfer per chunk, the ledger
  triggers checking every transfer and maintaining every balance);
- the same month run again, which must post nothing.

    .venv/bin/python bench/crediting.py [--size 1000000]
"""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

FULL_SIZE = 1_000_000
TIME_TARGET = 60.0
RATIO_TARGET = 2.0
REPEAT_TARGET = 10.0
SCRATCH_CREDITING = "bench_scratch_crediting"
SCRATCH_ENTRY = "bench_scratch_entry"
SCRATCH_ACCOUNT = "bench_scratch_account"


def floor_crediting(city, period) -> tuple[float, int]:
    """Bare SQL writing the same creditings, entries and balance updates into scratch tables."""
    from django.db import connection, transaction

    from accounts.models import Account, Crediting, Entry
    from accounts.services import city_account_ids

    for scratch, model in (
        (SCRATCH_CREDITING, Crediting),
        (SCRATCH_ENTRY, Entry),
        (SCRATCH_ACCOUNT, Account),
    ):
        harness.sql(f"DROP TABLE IF EXISTS {scratch}")
        harness.sql(f"CREATE TABLE {scratch} (LIKE {model._meta.db_table} INCLUDING ALL)")
    harness.sql(f"INSERT INTO {SCRATCH_ACCOUNT} SELECT * FROM accounts_account")
    accounts = city_account_ids(city_id=city.id)
    params = {
        "city": city.id,
        "period": period,
        "retiree_amount": city.retiree_monthly_credit,
        "clearing": accounts[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
        "employee_pool": accounts[Account.Kind.EMPLOYEE_POOL],
    }
    harness.settle_database()
    with harness.Timer() as timer, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {SCRATCH_CREDITING} (account_id, period, amount, source_id, run_id, transfer_id)
            SELECT a.id, c.period, c.account_share, %(clearing)s, 0, 0
              FROM accounts_account a
              JOIN accounts_contribution c ON c.person_id = a.person_id
             WHERE a.city_id = %(city)s AND a.kind = 'PERSONAL' AND c.period = %(period)s
               AND c.kind = 'EMPLOYEE_MONTHLY' AND c.account_share > 0
            UNION ALL
            SELECT a.id, %(period)s, %(retiree_amount)s, %(employee_pool)s, 0, 0
              FROM accounts_account a
              JOIN persons_insuredperson p ON p.id = a.person_id
             WHERE a.city_id = %(city)s AND a.kind = 'PERSONAL'
               AND p.scheme = 'EMPLOYEE' AND p.employment_status = 'RETIRED'
            """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO {SCRATCH_ENTRY} (transfer_id, account_id, amount)
            SELECT 0, account_id, amount FROM {SCRATCH_CREDITING}
            UNION ALL
            SELECT 0, source_id, -SUM(amount) FROM {SCRATCH_CREDITING} GROUP BY source_id
            """
        )
        cursor.execute(
            f"""
            UPDATE {SCRATCH_ACCOUNT} a SET balance = a.balance + d.delta
              FROM (SELECT account_id, SUM(amount) AS delta FROM {SCRATCH_ENTRY} GROUP BY account_id) d
             WHERE a.id = d.account_id
            """
        )
    rows = harness.sql(f"SELECT COUNT(*) FROM {SCRATCH_CREDITING}")[0][0]
    for scratch in (SCRATCH_CREDITING, SCRATCH_ENTRY, SCRATCH_ACCOUNT):
        harness.sql(f"DROP TABLE IF EXISTS {scratch}")
    return timer.seconds, rows


def main() -> None:
    args, report = harness.start(
        "crediting",
        "Monthly crediting",
        "A month's crediting of N personal accounts, against the bare SQL writing the same rows; "
        "then the same month again.",
        FULL_SIZE,
    )
    from accounts.crediting import crediting_run_execute, crediting_run_open
    from accounts.models import Account, Crediting, CreditingRun, Transfer
    from bench.world import city_with_population

    with harness.Timer() as collection:
        city, period = city_with_population(args.size, collect=True)
    collection_seconds = collection.seconds
    personal = Account.objects.filter(city=city, kind=Account.Kind.PERSONAL).count()

    with harness.step("floor: bare INSERT ... SELECT into scratch tables"):
        floor_seconds, floor_rows = floor_crediting(city, period)

    harness.settle_database()
    with harness.step("crediting run"), harness.Timer() as first:
        run, _ = crediting_run_open(city=city, period=period)
        outcome = crediting_run_execute(run_id=run.id)
    run = CreditingRun.objects.get(pk=run.pk)
    credited = Crediting.objects.filter(run=run).count()
    transfers = Transfer.objects.count()

    harness.settle_database()
    with harness.step("the same month again"), harness.Timer() as repeat:
        again = crediting_run_execute(run_id=run.id)
    posted_again = Crediting.objects.filter(run=run).count() - credited
    transfers_again = Transfer.objects.count() - transfers

    if credited != floor_rows:
        report.note(f"WARNING: the run credited {credited:,} accounts, the floor {floor_rows:,}")
    full = args.size == FULL_SIZE
    ratio = first.seconds / floor_seconds
    report.add(
        f"crediting {personal:,} accounts",
        first.seconds,
        "s",
        floor=floor_seconds,
        target=f"< {TIME_TARGET:.0f} s at {FULL_SIZE:,}; <= {RATIO_TARGET:.1f} x floor",
        met=(ratio <= RATIO_TARGET and (first.seconds < TIME_TARGET or not full)),
        note=f"{credited:,} credits posted ({run.credited_amount} CNY) in {outcome.chunks} "
        f"chunks, {credited / first.seconds:,.0f} credits/s; the floor wrote {floor_rows:,} "
        "creditings, their entries and balance updates into scratch tables",
    )
    report.add(
        "the same month again",
        repeat.seconds,
        "s",
        target=f"< {REPEAT_TARGET:.0f} s at {FULL_SIZE:,}; posts nothing",
        met=(posted_again == 0 and transfers_again == 0)
        and (repeat.seconds < REPEAT_TARGET or not full),
        note=f"posted {posted_again} credits and {transfers_again} transfers over "
        f"{again.chunks} chunks",
    )
    report.note(
        f"preparation (generating the population, collecting the month's contributions): "
        f"{collection_seconds:.0f} s, not part of any figure"
    )
    if not full:
        report.note(f"time targets are judged at {FULL_SIZE:,} accounts only; ratios at any size")
    harness.finish(args, report)


if __name__ == "__main__":
    main()
