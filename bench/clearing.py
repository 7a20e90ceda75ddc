"""Monthly clearing between cities of N cross-city settlements, on PostgreSQL.

Preparation (not timed): six cities, each with a few insured persons and a hospital; N cross-city
settlements of last month built set-based with SQL (1 % of them reversed the same month) rather
than through the settlement service, every pair of cities in both directions, and the ledger
transfers they add up to posted inside each city (the pools and the care cities' clearing
receivables, by pair), so the books are as the service would have left them.

Timed, in this order:
- the floor: the bare SQL that reads the same settlements and writes one row per settlement side
  into a scratch copy of the clearing items (``CREATE TABLE ... (LIKE ... INCLUDING ALL)``: the
  same columns, indexes and checks, no foreign keys), with the per-pair totals, in one transaction;
- the month's clearing run through ``settlement.clearing`` (chunked, the unique constraints
  checking every item, the statements and each city's netting transfers);
- the same month run again, which must change nothing;
- a second month of N/4 settlements cleared by a worker process killed (SIGKILL) half-way through,
  then resumed: every settlement cleared exactly once.

    .venv/bin/python bench/clearing.py [--size 1000000]
"""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

FULL_SIZE = 1_000_000
TIME_TARGET = 60.0
RATIO_TARGET = 3.0
REPEAT_TARGET = 10.0
CITY_CODES = ("330100", "350700", "310100", "320100", "440100", "510100")
PERSONS_PER_CITY = 4
SCRATCH_ITEM = "bench_scratch_clearing_item"


def cities_with_hospitals():
    """Six cities, each with a few persons (with personal accounts) and a level-3 hospital."""
    from accounts.models import Account
    from common import clock
    from institutions.models import Institution
    from persons.models import InsuredPerson
    from persons.resident_id import make_resident_id
    from provisioning.services import city_provision, institution_register, person_enrol

    world = []
    for number, code in enumerate(CITY_CODES):
        city = city_provision(code=code, name=f"Clearing city {number + 1}")
        for sequence in range(PERSONS_PER_CITY):
            person_enrol(
                city=city,
                resident_id=make_resident_id(code, date(1980, 1, 1 + sequence), 10 + sequence),
                name=f"Clearing person {number + 1}-{sequence + 1}",
                scheme=InsuredPerson.Scheme.EMPLOYEE,
                employment_status=InsuredPerson.EmploymentStatus.ACTIVE,
                declared_wage=Decimal("8000.00"),
                enrolled_on=clock.today().replace(month=1, day=1),
            )
        hospital = institution_register(
            code=f"BENCH-H{number + 1}",
            name=f"Clearing hospital {number + 1}",
            kind=Institution.Kind.HOSPITAL,
            city=city,
            level=3,
        )
        persons = list(InsuredPerson.objects.filter(city=city).values_list("id", flat=True))
        pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
        world.append({"city": city, "hospital": hospital, "persons": persons, "pool": pool})
    return world


def settlement_columns(model) -> dict[str, str]:
    """SQL for every column of a generated settlement, from ``g.n`` (its number), ``w.*`` (its
    insured city's and care city's row of the world table) and the parameters."""
    values = {
        "institution_id": "w.hospital_id",
        "person_id": "w.person_ids[1 + g.n %% array_length(w.person_ids, 1)]",
        "insured_city_id": "w.insured_city_id",
        "scheme": "'EMPLOYEE'",
        "visit_type": "'INPATIENT'",
        "visit_reference": "''",
        "credential_kind": "'CARD'",
        "year": "%(year)s",
        "settled_at": "%(start)s::timestamptz + (g.n %% 2000000) * interval '1 second'",
        "filing_id": "NULL",
        "family_authorization_id": "NULL",
        "use_personal_account": "FALSE",
        "pool_account_id": "w.pool_id",
        "paying_account_id": "NULL",
        "class_b_self_pay_ratio": "0.1",
        "annual_deductible": "0",
        "deductible_paid_before": "0",
        "reimbursement_ratio": "0.8",
        "annual_cap": "1000000",
        "pool_paid_before": "0",
        "outpatient_quota": "NULL",
        "outpatient_pool_paid_before": "NULL",
        "total_amount": "100 + g.n %% 100",
        "class_c_amount": "0",
        "class_b_self_pay_amount": "0",
        "eligible_amount": "100 + g.n %% 100",
        "deductible_amount": "0",
        "copay_amount": "20",
        "over_cap_amount": "0",
        "pool_amount": "80 + g.n %% 100",
        "personal_account_amount": "0",
        "cash_amount": "20",
        "personal_account_balance_after": "NULL",
        "status": "CASE WHEN g.n %% 100 = 7 THEN 'REVERSED' ELSE 'SETTLED' END",
        "transfer_id": "NULL",
        "created_by_id": "%(user)s",
        "request_id": "''",
        "created_at": "now()",
        "reversed_at": "CASE WHEN g.n %% 100 = 7 THEN %(start)s::timestamptz "
        "+ (g.n %% 2000000 + 60) * interval '1 second' END",
        "reversed_by_id": "CASE WHEN g.n %% 100 = 7 THEN %(user)s END",
        "reversal_reason": "CASE WHEN g.n %% 100 = 7 THEN 'Refund' ELSE '' END",
        "reversal_transfer_id": "NULL",
        "reversal_request_id": "''",
        "through_clearing": "TRUE",
        "care_transfer_id": "NULL",
        "care_reversal_transfer_id": "NULL",
    }
    columns = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in values:
            columns[field.column] = values[field.attname]
        elif field.null:
            columns[field.column] = "NULL"
        elif field.has_db_default():
            continue
        elif field.has_default() and isinstance(field.default, bool):
            columns[field.column] = "TRUE" if field.default else "FALSE"
        elif field.has_default() and isinstance(field.default, int | float):
            columns[field.column] = str(field.default)
        elif field.has_default() and isinstance(field.default, str):
            columns[field.column] = "'" + field.default.replace("'", "''") + "'"
        else:
            raise SystemExit(f"bench/clearing.py: no value for settlement column {field.attname}")
    return columns


def settlements_generate(world, *, count: int, period: date, user_id: int, offset: int) -> None:
    """``count`` settlements of ``period``, set-based, cycling over every ordered pair of cities,
    and the transfers they add up to posted inside each city, by pair."""
    from django.db import connection, transaction
    from django.utils import timezone

    from settlement.models import Settlement

    pairs = [(a, b) for a in world for b in world if a is not b]
    harness.sql("DROP TABLE IF EXISTS bench_clearing_world")
    harness.sql(
        "CREATE TABLE bench_clearing_world (slot int, insured_city_id bigint, pool_id bigint, "
        "person_ids bigint[], hospital_id bigint)"
    )
    for slot, (insured, care) in enumerate(pairs):
        harness.sql(
            "INSERT INTO bench_clearing_world VALUES (%s, %s, %s, %s, %s)",
            [slot, insured["city"].id, insured["pool"].id, insured["persons"], care["hospital"].id],
        )
    columns = settlement_columns(Settlement)
    start = timezone.make_aware(datetime.combine(period, datetime.min.time()))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Settlement._meta.db_table} ({", ".join(columns)})
            SELECT {", ".join(columns.values())}
              FROM generate_series(%(first)s, %(last)s) AS g(n)
              JOIN bench_clearing_world w ON w.slot = g.n %% %(pairs)s
            """,
            {
                "first": offset,
                "last": offset + count - 1,
                "pairs": len(pairs),
                "year": period.year,
                "start": start,
                "user": user_id,
            },
        )
    harness.sql("DROP TABLE bench_clearing_world")
    ledger_post(period=period, start=start)


def ledger_post(*, period: date, start: datetime) -> None:
    """The month's settlements as the service would have posted them, summed by pair: inside the
    insured city the pool pays its clearing payable, inside the care city its clearing receivable
    pays the hospital (reversed settlements net out)."""
    from accounts.models import Account, Transfer
    from accounts.services import Leg, city_account_ids, transfer_post
    from institutions.models import Institution
    from settlement.models import Settlement

    end = start + timedelta(days=40)
    sums = harness.sql(
        f"""
        SELECT s.insured_city_id, i.city_id, s.pool_account_id, s.institution_id,
               SUM(s.pool_amount) FILTER (WHERE s.status = 'SETTLED')
          FROM {Settlement._meta.db_table} s JOIN {Institution._meta.db_table} i ON i.id = s.institution_id
         WHERE s.settled_at >= %s AND s.settled_at < %s
         GROUP BY 1, 2, 3, 4
        """,
        [start, end],
    )
    for insured_city_id, care_city_id, pool_id, institution_id, amount in sums:
        if not amount:
            continue
        insured = city_account_ids(city_id=insured_city_id)
        care = city_account_ids(city_id=care_city_id)
        hospital = Account.objects.get(institution_id=institution_id)
        tag = f"{period:%Y-%m}:{insured_city_id}-{care_city_id}"
        transfer_post(
            kind=Transfer.Kind.SETTLEMENT,
            key=f"bench-settlements:{tag}",
            memo=f"Benchmark settlements {tag}",
            legs=[Leg(pool_id, -amount), Leg(insured[Account.Kind.CLEARING_PAYABLE], amount)],
        )
        transfer_post(
            kind=Transfer.Kind.SETTLEMENT,
            key=f"bench-settlements:{tag}:care",
            memo=f"Benchmark settlements {tag}, care city",
            legs=[Leg(care[Account.Kind.CLEARING_RECEIVABLE], -amount), Leg(hospital.id, amount)],
        )


def floor_clearing(period: date) -> tuple[float, int]:
    """Bare SQL reading the month's settlements and writing their items into a scratch table."""
    from django.db import connection, transaction

    from institutions.models import Institution
    from settlement.clearing import clearing_period_end
    from settlement.models import ClearingItem, Settlement

    harness.sql(f"DROP TABLE IF EXISTS {SCRATCH_ITEM}")
    harness.sql(f"CREATE TABLE {SCRATCH_ITEM} (LIKE {ClearingItem._meta.db_table} INCLUDING ALL)")
    harness.settle_database()
    with harness.Timer() as timer, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {SCRATCH_ITEM} (statement_id, settlement_id, is_reversal, amount)
            SELECT LEAST(s.insured_city_id, i.city_id) * 100000 + GREATEST(s.insured_city_id, i.city_id),
                   s.id, FALSE, s.pool_amount + s.personal_account_amount
              FROM {Settlement._meta.db_table} s JOIN {Institution._meta.db_table} i ON i.id = s.institution_id
             WHERE s.through_clearing AND s.settled_at < %(end)s
            UNION ALL
            SELECT LEAST(s.insured_city_id, i.city_id) * 100000 + GREATEST(s.insured_city_id, i.city_id),
                   s.id, TRUE, -(s.pool_amount + s.personal_account_amount)
              FROM {Settlement._meta.db_table} s JOIN {Institution._meta.db_table} i ON i.id = s.institution_id
             WHERE s.through_clearing AND s.status = 'REVERSED' AND s.reversed_at < %(end)s
            """,
            {"end": clearing_period_end(period)},
        )
        cursor.execute(
            f"SELECT statement_id, is_reversal, COUNT(*), SUM(amount) FROM {SCRATCH_ITEM} "
            "GROUP BY 1, 2"
        )
        cursor.fetchall()
    rows = harness.sql(f"SELECT COUNT(*) FROM {SCRATCH_ITEM}")[0][0]
    harness.sql(f"DROP TABLE IF EXISTS {SCRATCH_ITEM}")
    return timer.seconds, rows


def books_state() -> tuple:
    """What a repeated clearing must not change."""
    from accounts.models import Account, Transfer
    from settlement.models import ClearingItem, ClearingStatement

    return (
        ClearingItem.objects.count(),
        Transfer.objects.count(),
        sorted(
            (account.pk, account.balance) for account in Account.objects.exclude(kind="PERSONAL")
        ),
        sorted(ClearingStatement.objects.values_list("id", "net_amount", "netted_at")),
    )


def books_check(periods: list[date]) -> list[str]:
    """Every settlement side cleared exactly once, statements equal to the settlements they
    clear, every clearing position settled and no transfer across cities."""
    from accounts.models import Account, Entry
    from settlement.models import ClearingItem, ClearingStatement, Settlement

    problems = []
    sides = (
        Settlement.objects.filter(through_clearing=True).count()
        + Settlement.objects.filter(through_clearing=True, status="REVERSED").count()
    )
    items = ClearingItem.objects.count()
    if items != sides:
        problems.append(f"{items:,} items for {sides:,} settlement sides")
    statement_total = sum(
        s.a_to_b_settled_count
        + s.b_to_a_settled_count
        + s.a_to_b_reversed_count
        + s.b_to_a_reversed_count
        for s in ClearingStatement.objects.filter(period__in=periods)
    )
    if statement_total != items:
        problems.append(f"statements count {statement_total:,} items, the table {items:,}")
    mismatched = harness.sql(
        f"""
        SELECT t.id FROM {ClearingStatement._meta.db_table} t
          JOIN (SELECT statement_id, SUM(amount) AS total FROM {ClearingItem._meta.db_table}
                GROUP BY statement_id) i ON i.statement_id = t.id
         WHERE i.total <> t.a_to_b_settled_amount - t.a_to_b_reversed_amount
                          + t.b_to_a_settled_amount - t.b_to_a_reversed_amount
        """
    )
    if mismatched:
        problems.append(f"statements whose totals differ from their items: {mismatched[:5]}")
    for account in Account.objects.filter(kind__in=["XC_PAYABLE", "XC_RECEIVABLE"]):
        if account.balance != 0:
            problems.append(f"{account} holds {account.balance} after the clearing")
    crossing = harness.sql(
        f"SELECT e.transfer_id FROM {Entry._meta.db_table} e JOIN {Account._meta.db_table} a "
        "ON a.id = e.account_id GROUP BY e.transfer_id HAVING COUNT(DISTINCT a.city_id) > 1 LIMIT 5"
    )
    if crossing:
        problems.append(f"transfers across cities: {crossing}")
    return problems


KILLED_WORKER = """
import sys
import django
django.setup()
from settlement.clearing import clearing_run_execute
clearing_run_execute(run_id=int(sys.argv[1]), chunk_size=int(sys.argv[2]))
"""


def killed_half_way(run_id: int, total: int) -> tuple[int, float]:
    """Run the clearing in a worker process and SIGKILL it once half the settlements are done.
    Returns (the items it had done, seconds it ran)."""
    from settlement.models import ClearingRun

    started = time.perf_counter()
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", KILLED_WORKER, str(run_id), str(max(total // 10, 1))],
        env=os.environ.copy(),
    )
    done = 0
    while worker.poll() is None:
        done = (
            ClearingRun.objects.filter(pk=run_id)
            .values_list("settlements_count", flat=True)
            .first()
        )
        if done and done >= total // 2:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            break
        time.sleep(0.05)
    return done or 0, time.perf_counter() - started


def main() -> None:
    args, report = harness.start(
        "clearing",
        "Monthly cross-city clearing",
        "A month's clearing of N cross-city settlements between six cities, against the bare SQL "
        "reading them and writing their items; then the same month again, and a second month "
        "killed half-way and resumed.",
        FULL_SIZE,
    )
    from common import clock
    from common.calendar import next_month
    from settlement.clearing import clearing_run_execute, clearing_run_open
    from settlement.models import ClearingItem, ClearingRun
    from users.models import User

    today = clock.today()
    first_month = (today.replace(day=1) - timedelta(days=40)).replace(day=1)
    second_month = next_month(first_month)
    with harness.Timer() as preparation:
        with harness.step("six cities, their persons and hospitals"):
            world = cities_with_hospitals()
            user = User.objects.create_user(username="bench-clearing", role=User.Role.OPERATOR)
        with harness.step(f"{args.size:,} cross-city settlements of {first_month:%Y-%m}, by SQL"):
            settlements_generate(
                world, count=args.size, period=first_month, user_id=user.id, offset=0
            )
    reversed_first = args.size // 100

    with harness.step("floor: bare INSERT ... SELECT into a scratch table"):
        floor_seconds, floor_rows = floor_clearing(first_month)

    harness.settle_database()
    with harness.step(f"clearing {first_month:%Y-%m}"), harness.Timer() as first:
        run, _ = clearing_run_open(period=first_month, today=today)
        outcome = clearing_run_execute(run_id=run.id)
    run = ClearingRun.objects.get(pk=run.pk)
    items = ClearingItem.objects.count()
    state = books_state()

    harness.settle_database()
    with harness.step("the same month again"), harness.Timer() as repeat:
        clearing_run_execute(run_id=run.id)
        ClearingRun.objects.filter(pk=run.pk).update(status="RUNNING")
        clearing_run_execute(run_id=run.id)
    unchanged = books_state() == state

    killed_size = max(args.size // 4, 100)
    with harness.step(f"{killed_size:,} settlements of {second_month:%Y-%m}, by SQL"):
        settlements_generate(
            world, count=killed_size, period=second_month, user_id=user.id, offset=args.size
        )
    second, _ = clearing_run_open(period=second_month, today=today)
    with harness.step(f"clearing {second_month:%Y-%m}: a worker killed half-way"):
        done_when_killed, killed_seconds = killed_half_way(second.id, killed_size)
    killed_items = ClearingItem.objects.count() - items
    with harness.step("resumed"), harness.Timer() as resumed:
        clearing_run_execute(run_id=second.id)
    second = ClearingRun.objects.get(pk=second.pk)
    problems = books_check([first_month, second_month])

    full = args.size == FULL_SIZE
    ratio = first.seconds / floor_seconds
    if items != floor_rows:
        problems.append(f"the run cleared {items:,} items, the floor wrote {floor_rows:,}")
    report.add(
        f"clearing {args.size:,} settlements",
        first.seconds,
        "s",
        floor=floor_seconds,
        target=f"< {TIME_TARGET:.0f} s at {FULL_SIZE:,}; <= {RATIO_TARGET:.1f} x floor",
        met=(ratio <= RATIO_TARGET and (first.seconds < TIME_TARGET or not full)),
        note=f"{run.settlements_count:,} settlements and {run.reversals_count:,} reversals "
        f"({reversed_first:,} generated) on {run.statements_count} statements in "
        f"{outcome.chunks} chunks, {items / first.seconds:,.0f} items/s; the floor wrote "
        f"{floor_rows:,} items into a scratch table",
    )
    report.add(
        "the same month again (finished, then marked unfinished)",
        repeat.seconds,
        "s",
        target=f"< {REPEAT_TARGET:.0f} s at {FULL_SIZE:,}; changes nothing",
        met=unchanged and (repeat.seconds < REPEAT_TARGET or not full),
        note="items, transfers, balances and statements unchanged"
        if unchanged
        else "CHANGED the books",
    )
    report.add(
        f"a month of {killed_size:,} killed half-way, then resumed",
        resumed.seconds,
        "s",
        target="each settlement cleared once",
        met=not problems and second.status == "SUCCEEDED",
        note=f"the worker was killed (SIGKILL) after {killed_seconds:.1f} s with "
        f"{done_when_killed:,} settlements done ({killed_items:,} items committed); the resumed "
        f"run finished with {second.settlements_count:,} settlements and "
        f"{second.reversals_count:,} reversals; books check: "
        + (
            "every side once, statements equal to their items, positions settled, no transfer "
            "across cities"
            if not problems
            else "; ".join(problems)
        ),
    )
    report.note(
        f"preparation (cities, {args.size:,} settlements by SQL and their transfers): "
        f"{preparation.seconds:.0f} s, not part of any figure"
    )
    if not full:
        report.note(
            f"time targets are judged at {FULL_SIZE:,} settlements only; ratios at any size"
        )
    harness.finish(args, report)


if __name__ == "__main__":
    main()
