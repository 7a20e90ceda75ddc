"""Monthly crediting ("fund transfer") into personal accounts, set-based and in chunks.

One run covers one city and month. Each chunk of personal accounts is one transaction that
inserts the month's Crediting rows with ``INSERT ... SELECT`` and their balanced ledger entries
(one transfer per chunk: a credit per account, a debit per source account). The unique constraint
on (account, period) makes every credit happen at most once, however often the run is executed,
redelivered or raced; the run row is locked per chunk so concurrent executions take turns.

Who is credited for month P:
- active employees: the personal-account share of each received contribution for P or earlier
  not yet credited (a new enrolee's first credit waits for the first contribution);
- retirees enrolled by the end of P: the city's fixed monthly amount, from the employee pool;
- residents, where resident accounts are not abolished, whose year is paid: the city's monthly
  resident credit, from the resident pool.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.error_codes import LedgerErrorCode
from accounts.models import Account, Crediting, CreditingRun, Entry, JobStatus, Transfer
from cities.models import City
from common import clock
from common.calendar import next_month
from common.context import current_request_id
from common.errors import ProblemError
from common.money import ZERO
from persons.models import InsuredPerson

ACCOUNT = Account._meta.db_table
CREDITING = Crediting._meta.db_table
ENTRY = Entry._meta.db_table
CONTRIBUTION = "accounts_contribution"
PERSON = InsuredPerson._meta.db_table


@dataclass
class CreditingOutcome:
    run_id: int
    city_code: str
    period: date
    credited_count: int = 0
    credited_amount: Decimal = ZERO
    accounts_scanned: int = 0
    chunks: int = 0


def _candidates_sql(*, include_retirees: bool, include_residents: bool) -> str:
    """Every credit due in a chunk, as (account_id, period, amount, source_id)."""
    parts = [
        f"""
        SELECT a.id AS account_id, c.period AS period, c.account_share AS amount, %(clearing)s AS source_id
          FROM {ACCOUNT} a
          JOIN {CONTRIBUTION} c ON c.person_id = a.person_id
         WHERE a.city_id = %(city)s AND a.kind = 'PERSONAL' AND a.id > %(lo)s AND a.id <= %(hi)s
           AND c.kind = 'EMPLOYEE_MONTHLY' AND c.account_share > 0 AND c.period <= %(period)s
           AND NOT EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id AND k.period = c.period)
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
           AND NOT EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id AND k.period = %(period)s)
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
           AND NOT EXISTS (SELECT 1 FROM {CREDITING} k WHERE k.account_id = a.id AND k.period = %(period)s)
        """
        )
    return " UNION ALL ".join(parts)


def crediting_run_open(*, city: City, period: date, by=None) -> tuple[CreditingRun, bool]:
    """The run for a city and month (created once; asking again returns the same run)."""
    period = period.replace(day=1)
    if period > clock.today().replace(day=1):
        raise ProblemError(
            LedgerErrorCode.CREDITING_PERIOD_NOT_DUE, f"{period:%Y-%m} has not begun."
        )
    run, created = CreditingRun.objects.get_or_create(
        city=city,
        period=period,
        defaults={
            "created_by": by if getattr(by, "pk", None) else None,
            "request_id": current_request_id(),
        },
    )
    return run, created


def _run_parameters(run: CreditingRun) -> tuple[str, dict]:
    city = run.city
    period_end = next_month(run.period) - timedelta(days=1)
    sources = {
        account.kind: account.id
        for account in Account.objects.filter(city=city, kind__in=Account.CITY_KINDS)
    }
    residents_have_accounts = (
        city.resident_accounts_abolished_on is None
        or city.resident_accounts_abolished_on > period_end
    )
    candidates = _candidates_sql(
        include_retirees=city.retiree_monthly_credit > 0,
        include_residents=residents_have_accounts and city.resident_monthly_account_credit > 0,
    )
    params = {
        "city": city.id,
        "period": run.period,
        "period_end": period_end,
        "year_start": run.period.replace(month=1),
        "retiree_amount": city.retiree_monthly_credit,
        "resident_amount": city.resident_monthly_account_credit,
        "clearing": sources[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
        "employee_pool": sources[Account.Kind.EMPLOYEE_POOL],
        "resident_pool": sources[Account.Kind.RESIDENT_POOL],
    }
    return candidates, params


def crediting_credit_account(*, run: CreditingRun, account: Account) -> int:
    """Sandbox fast-forward: credit what is due to one account under a run (the run itself is
    left to its schedule). Returns how many credits were posted."""
    candidates, params = _run_parameters(run)
    with transaction.atomic():
        locked = CreditingRun.objects.select_for_update().select_related("city").get(pk=run.pk)
        count, amount, _ = _credit_chunk(
            run=locked,
            execution=locked.executions,
            lo=account.id - 1,
            hi=account.id,
            candidates=candidates,
            params=params,
        )
        if count:
            locked.credited_count += count
            locked.credited_amount += amount
            locked.save(update_fields=["credited_count", "credited_amount"])
    return count


def crediting_run_execute(
    *, run_id: int, chunk_size: int | None = None, progress: Callable[[int], None] | None = None
) -> CreditingOutcome:
    """Execute (or resume, or repeat) a run. Safe to call any number of times, concurrently."""
    chunk_size = chunk_size or settings.JOB_CHUNK_SIZE
    with transaction.atomic():
        run = CreditingRun.objects.select_for_update().select_related("city").get(pk=run_id)
        start_after = run.cursor if run.status in (JobStatus.RUNNING, JobStatus.FAILED) else 0
        run.status = JobStatus.RUNNING
        run.executions += 1
        run.started_at = run.started_at or timezone.now()
        run.heartbeat_at = timezone.now()
        run.error = ""
        run.accounts_total = Account.objects.filter(
            city_id=run.city_id, kind=Account.Kind.PERSONAL
        ).count()
        run.save(
            update_fields=[
                "status",
                "executions",
                "started_at",
                "heartbeat_at",
                "error",
                "accounts_total",
            ]
        )
        execution = run.executions
    city = run.city
    outcome = CreditingOutcome(run_id=run.id, city_code=city.code, period=run.period)
    candidates, params = _run_parameters(run)

    lo = start_after
    scanned = (
        Account.objects.filter(city=city, kind=Account.Kind.PERSONAL, id__lte=lo).count()
        if lo
        else 0
    )
    try:
        while True:
            with transaction.atomic():
                locked = CreditingRun.objects.select_for_update().get(pk=run.id)
                hi = _chunk_upper_bound(city_id=city.id, after=lo, size=chunk_size)
                if hi is None:
                    break
                count, amount, in_chunk = _credit_chunk(
                    run=locked,
                    execution=execution,
                    lo=lo,
                    hi=hi,
                    candidates=candidates,
                    params=params,
                )
                scanned += in_chunk
                locked.cursor = hi
                locked.accounts_scanned = scanned
                locked.credited_count += count
                locked.credited_amount += amount
                locked.heartbeat_at = timezone.now()
                locked.save(
                    update_fields=[
                        "cursor",
                        "accounts_scanned",
                        "credited_count",
                        "credited_amount",
                        "heartbeat_at",
                    ]
                )
            outcome.credited_count += count
            outcome.credited_amount += amount
            outcome.chunks += 1
            lo = hi
            if progress:
                progress(in_chunk)
    except Exception as exc:
        CreditingRun.objects.filter(pk=run.id).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    outcome.accounts_scanned = scanned
    CreditingRun.objects.filter(pk=run.id).update(
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(), cursor=0, accounts_scanned=scanned
    )
    return outcome


def _chunk_upper_bound(*, city_id: int, after: int, size: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX(id) FROM (SELECT id FROM {ACCOUNT} WHERE city_id = %s AND kind = 'PERSONAL' AND id > %s "
            "ORDER BY id LIMIT %s) chunk",
            [city_id, after, size],
        )
        (upper,) = cursor.fetchone()
    return upper


def _credit_chunk(
    *, run: CreditingRun, execution: int, lo: int, hi: int, candidates: str, params: dict
):
    chunk = {**params, "lo": lo, "hi": hi}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {ACCOUNT} WHERE city_id = %(city)s AND kind = 'PERSONAL' AND id > %(lo)s AND id <= %(hi)s",
            chunk,
        )
        (in_chunk,) = cursor.fetchone()
        cursor.execute(f"SELECT EXISTS ({candidates})", chunk)
        (due,) = cursor.fetchone()
        if not due:
            return 0, ZERO, in_chunk
        transfer = Transfer.objects.create(
            kind=Transfer.Kind.CREDITING,
            key=f"crediting:{run.id}:{execution}:{lo}-{hi}:{uuid.uuid4().hex[:12]}",
            memo=f"Crediting {run.period:%Y-%m}, city {run.city.code}, accounts {lo + 1}-{hi}",
            posted_at=clock.now(),
            created_by_id=run.created_by_id,
            request_id=run.request_id,
        )
        chunk["run"] = run.id
        chunk["transfer"] = transfer.id
        cursor.execute(
            f"INSERT INTO {CREDITING} (account_id, period, amount, source_id, run_id, transfer_id) "
            f"SELECT account_id, period, amount, source_id, %(run)s, %(transfer)s FROM ({candidates}) due",
            chunk,
        )
        cursor.execute(
            f"INSERT INTO {ENTRY} (transfer_id, account_id, amount) "
            f"SELECT transfer_id, account_id, amount FROM {CREDITING} WHERE transfer_id = %(transfer)s "
            f"UNION ALL "
            f"SELECT transfer_id, source_id, -SUM(amount) FROM {CREDITING} WHERE transfer_id = %(transfer)s "
            f"GROUP BY transfer_id, source_id",
            chunk,
        )
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM {CREDITING} WHERE transfer_id = %(transfer)s",
            chunk,
        )
        count, amount = cursor.fetchone()
    return count, Decimal(amount).quantize(Decimal("0.01")), in_chunk
