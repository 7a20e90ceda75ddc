"""Monthly jobs on personal accounts, set-based and in chunks: contribution collection and
crediting ("fund transfer").

Each chunk is one transaction: an ``INSERT ... SELECT`` of the chunk's rows (contributions or
creditings) tagged with one new transfer, then that transfer's balanced entries summed from those
rows. The unique constraints on (person, period) and (account, period) make every row happen at
most once however often a job is executed, redelivered or raced; the job row is locked per chunk
so concurrent executions take turns (see common.jobs).

Crediting month P credits:
- active employees: the personal-account share of each received contribution for P or earlier not
  yet credited (so a new enrolee's first credit waits for the first contribution);
- retirees enrolled by the end of P: the city's fixed monthly amount, from the employee pool;
- residents, where resident accounts are not abolished, whose year is paid: the city's monthly
  resident credit, from the resident pool.
"""

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.error_codes import LedgerErrorCode
from accounts.events import (
    contributions_event_record,
    crediting_run_completed_record,
    creditings_event_record,
)
from accounts.models import (
    Account,
    Contribution,
    ContributionArrear,
    ContributionCollection,
    Crediting,
    CreditingRun,
    Entry,
    Transfer,
)
from accounts.services import city_account_ids
from cities.models import City
from common import clock
from common.audit import acting_user
from common.calendar import next_month
from common.context import current_request_id
from common.errors import DomainError
from common.jobs import JobKind, JobOutcome, execute_recorded_job
from common.models import JobStatus
from common.money import ZERO
from employers.models import Employer, Employment
from persons.models import InsuredPerson

ACCOUNT = Account._meta.db_table
CONTRIBUTION = Contribution._meta.db_table
CREDITING = Crediting._meta.db_table
ENTRY = Entry._meta.db_table
PERSON = InsuredPerson._meta.db_table
ARREAR = ContributionArrear._meta.db_table
EMPLOYMENT = Employment._meta.db_table
EMPLOYER = Employer._meta.db_table


def _period_end(period: date) -> date:
    return next_month(period) - timedelta(days=1)


BATCH = "ledger_batch_due"

# Every "is it done already" probe below ends in OFFSET 0, which keeps PostgreSQL from turning the
# NOT EXISTS into an anti-join: it stays a probe of the unique index per row (or a hashed
# subplan), whatever the statistics say. As an anti-join it was planned from statistics that lag
# behind the job: once another city's job had just written the same month's rows, the planner
# took them for one row and compared every candidate with every row written (a second city's
# collection of 100,000 persons ran for minutes instead of seconds).


def _post_batch(
    *, kind: str, memo: str, job, due_sql: str, insert_sql: str, legs_sql: str, params: dict
) -> int | None:
    """Put the rows ``due_sql`` finds in the temporary table ``BATCH``; when there are any, create
    one transfer and insert the rows (``insert_sql``, reading ``BATCH``) and their entries.
    Returns the transfer's id, or None when nothing was due.

    The rows due are read before anything is written: a statement that inserts into the table
    its own NOT EXISTS reads scans the rows it has just written, once per row, when the planner
    takes that table for empty (the first month of a new installation), which is quadratic."""
    # Dropped once read, so a kept connection carries no chunk's rows (a rollback drops it too).
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BATCH}")
        cursor.execute(f"CREATE TEMPORARY TABLE {BATCH} AS {due_sql}", params)
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {BATCH})")
        if not cursor.fetchone()[0]:
            cursor.execute(f"DROP TABLE {BATCH}")
            return None
        transfer = Transfer.objects.create(
            kind=kind,
            key=f"{kind.lower()}:{job._meta.model_name}:{job.pk}:{uuid.uuid4().hex[:16]}",
            memo=memo,
            posted_at=clock.now(),
            created_by_id=job.created_by_id,
            request_id=job.request_id or current_request_id(),
        )
        params = {**params, "transfer": transfer.id}
        cursor.execute(insert_sql, params)
        cursor.execute(f"DROP TABLE {BATCH}")
        cursor.execute(
            f"INSERT INTO {ENTRY} (transfer_id, account_id, amount) "
            f"SELECT %(transfer)s, account_id, amount FROM ({legs_sql}) legs WHERE amount <> 0",
            params,
        )
    return transfer.id


def _batch_totals(
    table: str, count_column: str, amount_sql: str, transfer_id: int | None
) -> tuple[int, Decimal]:
    if transfer_id is None:
        return 0, ZERO
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT({count_column}), COALESCE(SUM({amount_sql}), 0) FROM {table} WHERE transfer_id = %s",
            [transfer_id],
        )
        count, amount = cursor.fetchone()
    return count, Decimal(amount).quantize(Decimal("0.01"))


# --- Contribution collection ---------------------------------------------------------------


_COLLECTION_WHERE = f"""
       p.city_id = %(city)s AND p.id > %(lo)s AND p.id <= %(hi)s
   AND p.scheme = 'EMPLOYEE' AND p.employment_status = 'ACTIVE'
   AND p.declared_wage IS NOT NULL AND p.enrolled_on <= %(period_end)s
   AND NOT EXISTS (SELECT 1 FROM {CONTRIBUTION} c WHERE c.person_id = p.id AND c.period = %(period)s OFFSET 0)
   AND NOT EXISTS (SELECT 1 FROM {ARREAR} r WHERE r.person_id = p.id AND r.period = %(period)s OFFSET 0)
"""
# The person's employer, if any, and how it pays (a person without one pays as before).
_COLLECTION_FROM = f"""
  FROM {PERSON} p
  LEFT OUTER JOIN {EMPLOYMENT} m ON m.person_id = p.id
  LEFT OUTER JOIN {EMPLOYER} er ON er.id = m.employer_id
"""
_CLAMPED = "LEAST(GREATEST({}, %(base_min)s), %(base_max)s)"
_BASE_DUE = _CLAMPED.format("p.declared_wage")
_BASE_USED = (
    "CASE WHEN er.payment_mode = 'UNDERPAYING' "
    f"THEN {_CLAMPED.format('ROUND(p.declared_wage * er.paid_base_ratio, 2)')} "
    f"ELSE {_BASE_DUE} END"
)


def _record_chunk_arrears(params: dict) -> int:
    """The chunk's employees whose employer does not pay: each month recorded as an arrear,
    with what was due (no money moves, nothing is credited)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ARREAR} (person_id, period, employer_id, base_due, employer_amount,
                                  individual_amount, account_share, recorded_at)
            SELECT p.id, %(period)s, er.id, {_BASE_DUE},
                   ROUND({_BASE_DUE} * %(employer_rate)s, 2), ROUND({_BASE_DUE} * %(individual_rate)s, 2),
                   ROUND({_BASE_DUE} * %(individual_rate)s, 2), %(received_at)s
            {_COLLECTION_FROM}
            WHERE {_COLLECTION_WHERE} AND er.payment_mode = 'NOT_PAYING'
            ON CONFLICT (person_id, period) DO NOTHING
            """,
            params,
        )
        return cursor.rowcount


def _collect_chunk(job: ContributionCollection, lo: int, hi: int, execution: int) -> dict:
    city = job.city
    accounts = city_account_ids(city_id=city.id)
    params = {
        "city": city.id,
        "lo": lo,
        "hi": hi,
        "period": job.period,
        "period_end": _period_end(job.period),
        "base_min": city.payment_base_min,
        "base_max": city.payment_base_max,
        "employer_rate": city.employer_rate,
        "individual_rate": city.individual_rate,
        "received_at": clock.now(),
        "by": job.created_by_id,
        "pool": accounts[Account.Kind.EMPLOYEE_POOL],
        "clearing": accounts[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
        "source": accounts[Account.Kind.CONTRIBUTION_SOURCE],
    }
    unpaid = _record_chunk_arrears(params)
    due = (
        f"SELECT p.id AS person_id, {_BASE_USED} AS payment_base, {_BASE_DUE} AS base_due, "
        f"er.id AS employer_id {_COLLECTION_FROM} "
        f"WHERE {_COLLECTION_WHERE} AND er.payment_mode IS DISTINCT FROM 'NOT_PAYING'"
    )
    insert = f"""
        INSERT INTO {CONTRIBUTION} (person_id, kind, period, payment_base, employer_amount, individual_amount,
                                    subsidy_amount, account_share, base_due, employer_id, received_at,
                                    transfer_id, created_by_id)
        SELECT person_id, 'EMPLOYEE_MONTHLY', %(period)s, payment_base,
               ROUND(payment_base * %(employer_rate)s, 2), ROUND(payment_base * %(individual_rate)s, 2), 0,
               ROUND(payment_base * %(individual_rate)s, 2), base_due, employer_id, %(received_at)s,
               %(transfer)s, %(by)s
          FROM {BATCH}
    """
    legs = f"""
        SELECT %(pool)s AS account_id, SUM(employer_amount + individual_amount - account_share) AS amount
          FROM {CONTRIBUTION} WHERE transfer_id = %(transfer)s
        UNION ALL
        SELECT %(clearing)s, SUM(account_share) FROM {CONTRIBUTION} WHERE transfer_id = %(transfer)s
        UNION ALL
        SELECT %(source)s, -SUM(employer_amount + individual_amount + subsidy_amount)
          FROM {CONTRIBUTION} WHERE transfer_id = %(transfer)s
    """
    transfer_id = _post_batch(
        kind=Transfer.Kind.CONTRIBUTION,
        memo=f"Contributions {job.period:%Y-%m}, {city.name}, persons {lo + 1}-{hi}",
        job=job,
        due_sql=due,
        insert_sql=insert,
        legs_sql=legs,
        params=params,
    )
    count, amount = _batch_totals(
        CONTRIBUTION, "id", "employer_amount + individual_amount + subsidy_amount", transfer_id
    )
    if transfer_id is not None:
        contributions_event_record(
            transfer_id=transfer_id, city_id=city.id, now=params["received_at"]
        )
    return {"collected_count": count, "collected_amount": amount, "unpaid_count": unpaid}


COLLECTION = JobKind(
    model=ContributionCollection,
    rows=lambda job: InsuredPerson.objects.filter(city_id=job.city_id),
    process_chunk=_collect_chunk,
)


def _monthly_job_open(model, *, city: City, period: date, by=None, today: date | None = None):
    """The job of a city and month: created once, for a month that has begun on ``today`` (the
    caller's clock.today(), read here when not given); asking again returns the same job."""
    today = clock.today() if today is None else today
    period = period.replace(day=1)
    if period > today.replace(day=1):
        raise DomainError(
            LedgerErrorCode.CREDITING_PERIOD_NOT_DUE,
            _("%(period)s has not begun.") % {"period": format(period, "%Y-%m")},
        )
    return model.objects.get_or_create(
        city=city,
        period=period,
        defaults={
            "created_by": acting_user(by),
            "request_id": current_request_id(),
        },
    )


def contribution_collection_open(
    *, city: City, period: date, by=None, today: date | None = None
) -> tuple[ContributionCollection, bool]:
    return _monthly_job_open(ContributionCollection, city=city, period=period, by=by, today=today)


def contribution_collection_execute(
    *,
    collection_id: int,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> JobOutcome:
    return execute_recorded_job(
        COLLECTION,
        job_id=collection_id,
        chunk_size=chunk_size or settings.JOB_CHUNK_SIZE,
        progress=progress,
    )


# --- Crediting -----------------------------------------------------------------------------


def _candidates_sql(*, include_retirees: bool, include_residents: bool) -> str:
    """Every credit due in a chunk of accounts, as (account_id, period, amount, source_id)."""
    parts = [
        f"""
        SELECT a.id AS account_id, c.period AS period, c.account_share AS amount, %(clearing)s AS source_id
          FROM {ACCOUNT} a
          JOIN {CONTRIBUTION} c ON c.person_id = a.person_id
         WHERE a.city_id = %(city)s AND a.kind = 'PERSONAL' AND a.id > %(lo)s AND a.id <= %(hi)s
           AND c.kind = 'EMPLOYEE_MONTHLY' AND c.account_share > 0 AND c.period <= %(period)s
           AND NOT EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id AND k.period = c.period OFFSET 0)
        """
    ]
    if include_retirees:
        parts.append(
            f"""
        SELECT a.id, %(period)s, %(retiree_amount)s, %(employee_pool)s
          FROM {ACCOUNT} a
          JOIN {PERSON} p ON p.id = a.person_id
         WHERE a.city_id = %(city)s AND a.kind = 'PERSONAL' AND a.id > %(lo)s AND a.id <= %(hi)s
           AND p.scheme = 'EMPLOYEE' AND p.employment_status = 'RETIRED' AND p.enrolled_on <= %(period_end)s
           AND NOT EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id AND k.period = %(period)s OFFSET 0)
           -- A month with a contribution share to credit is credited from it (first part), once.
           AND NOT EXISTS (
               SELECT 1 FROM {CONTRIBUTION} s
                WHERE s.person_id = a.person_id AND s.kind = 'EMPLOYEE_MONTHLY'
                  AND s.period = %(period)s AND s.account_share > 0 OFFSET 0
           )
        """
        )
    if include_residents:
        parts.append(
            f"""
        SELECT a.id, %(period)s, %(resident_amount)s, %(resident_pool)s
          FROM {ACCOUNT} a
          JOIN {PERSON} p ON p.id = a.person_id
          JOIN {CONTRIBUTION} c ON c.person_id = p.id AND c.period = %(year_start)s
         WHERE a.city_id = %(city)s AND a.kind = 'PERSONAL' AND a.id > %(lo)s AND a.id <= %(hi)s
           AND p.scheme = 'RESIDENT' AND p.enrolled_on <= %(period_end)s
           AND NOT EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id AND k.period = %(period)s OFFSET 0)
           -- A month with a contribution share to credit is credited from it (first part), once.
           AND NOT EXISTS (
               SELECT 1 FROM {CONTRIBUTION} s
                WHERE s.person_id = a.person_id AND s.kind = 'EMPLOYEE_MONTHLY'
                  AND s.period = %(period)s AND s.account_share > 0 OFFSET 0
           )
        """
        )
    return " UNION ALL ".join(parts)


def _credit_chunk(run: CreditingRun, lo: int, hi: int, execution: int) -> dict:
    city = run.city
    period_end = _period_end(run.period)
    accounts = city_account_ids(city_id=city.id)
    residents_have_accounts = not city.resident_accounts_abolished_by(period_end)
    candidates = _candidates_sql(
        include_retirees=city.retiree_monthly_credit > 0,
        include_residents=residents_have_accounts and city.resident_monthly_account_credit > 0,
    )
    params = {
        "city": city.id,
        "lo": lo,
        "hi": hi,
        "period": run.period,
        "period_end": period_end,
        "year_start": run.period.replace(month=1),
        "retiree_amount": city.retiree_monthly_credit,
        "resident_amount": city.resident_monthly_account_credit,
        "clearing": accounts[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
        "employee_pool": accounts[Account.Kind.EMPLOYEE_POOL],
        "resident_pool": accounts[Account.Kind.RESIDENT_POOL],
        "run": run.id,
    }
    transfer_id = _post_batch(
        kind=Transfer.Kind.CREDITING,
        memo=f"Crediting {run.period:%Y-%m}, {city.name}, accounts {lo + 1}-{hi}",
        job=run,
        due_sql=candidates,
        insert_sql=f"INSERT INTO {CREDITING} (account_id, period, amount, source_id, run_id, transfer_id) "
        f"SELECT account_id, period, amount, source_id, %(run)s, %(transfer)s FROM {BATCH}",
        legs_sql=f"SELECT account_id, amount FROM {CREDITING} WHERE transfer_id = %(transfer)s "
        f"UNION ALL SELECT source_id, -SUM(amount) FROM {CREDITING} WHERE transfer_id = %(transfer)s GROUP BY source_id",
        params=params,
    )
    count, amount = _batch_totals(CREDITING, "id", "amount", transfer_id)
    if transfer_id is not None:
        creditings_event_record(transfer_id=transfer_id, city_id=city.id, now=clock.now())
    return {"credited_count": count, "credited_amount": amount}


CREDITING_KIND = JobKind(
    model=CreditingRun,
    rows=lambda run: Account.objects.filter(city_id=run.city_id, kind=Account.Kind.PERSONAL),
    process_chunk=_credit_chunk,
    on_success=crediting_run_completed_record,
)


def crediting_run_open(
    *, city: City, period: date, by=None, today: date | None = None
) -> tuple[CreditingRun, bool]:
    """The run for a city and month (created once; asking again returns the same run)."""
    return _monthly_job_open(CreditingRun, city=city, period=period, by=by, today=today)


def crediting_run_execute(
    *, run_id: int, chunk_size: int | None = None, progress: Callable[[int], None] | None = None
) -> JobOutcome:
    """Execute (or resume, or repeat) a run. Safe to call any number of times, concurrently."""
    return execute_recorded_job(
        CREDITING_KIND,
        job_id=run_id,
        chunk_size=chunk_size or settings.JOB_CHUNK_SIZE,
        progress=progress,
    )


def crediting_credit_account(*, run: CreditingRun, account: Account) -> int:
    """Sandbox fast-forward: the run goes through one account (a past month's run, whose day the
    clock has already passed). The run's record says so as an execution's would: the account
    counts as an item done, and a run nothing else has started is succeeded, so it neither shows
    as pending beside its credits nor waits for the sweep. Returns how many credits were posted."""
    with transaction.atomic():
        locked = (
            CreditingRun.objects.select_for_update(of=("self",), no_key=True)
            .select_related("city")
            .get(pk=run.pk)
        )
        increments = _credit_chunk(locked, account.id - 1, account.id, locked.executions)
        locked.credited_count += increments["credited_count"]
        locked.credited_amount += increments["credited_amount"]
        fields = ["credited_count", "credited_amount"]
        # A running or failed execution keeps its own progress; it reaches this account itself.
        if locked.status in (JobStatus.PENDING, JobStatus.SUCCEEDED):
            now = timezone.now()
            locked.items_total += 1
            locked.items_done += 1
            locked.status = JobStatus.SUCCEEDED
            locked.started_at = locked.started_at or now
            locked.finished_at = now
            fields += ["items_total", "items_done", "status", "started_at", "finished_at"]
        locked.save(update_fields=fields)
    return increments["credited_count"]
