"""The monthly clearing between cities (the national platform's clearing of cross-region care).

A settlement of care in another city posts only inside cities: the insured city's pool (and the
personal account) pay its clearing payable, and the care city's clearing receivable pays the
institution (settlement.services._settlement_postings). No transfer has legs in two cities, which
is what lets the ledger be partitioned by city.

The clearing of month M puts every such settlement posted before M ended, and every reversal of
one, that no clearing has put on a statement yet on its city pair's statement for M: one
``ClearingItem`` per settlement and side (settled, reversed), unique, so each is cleared exactly
once however often the run is executed, resumed or raced. A reversal after its settlement was
cleared is carried by the next clearing as a negative item. Settlements are walked in id order,
one chunk per transaction, with the cursor on the run's row (common.jobs).

Once every item is on its statement, each statement is netted: inside each of the two cities one
transfer moves the city's clearing payable and receivable against its cross-city settlement
account (what it paid to, and received from, other cities). The net between the two cities is
recorded on the statement, never posted as a leg in two cities. Netting transfers have natural
keys, so a run killed half-way through netting nets the rest when executed again.
"""

from collections.abc import Callable
from datetime import date, datetime, time

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account, Transfer
from accounts.services import Leg, city_account_ids, transfer_post
from common import clock
from common.audit import acting_user
from common.calendar import next_month
from common.context import current_request_id
from common.errors import DomainError
from common.jobs import JobKind, JobOutcome, execute_recorded_job
from common.models import JobStatus
from institutions.models import Institution
from settlement.error_codes import SettlementErrorCode
from settlement.models import ClearingItem, ClearingRun, ClearingStatement, Settlement

SETTLEMENT = Settlement._meta.db_table
INSTITUTION = Institution._meta.db_table
STATEMENT = ClearingStatement._meta.db_table
ITEM = ClearingItem._meta.db_table
DUE = "clearing_due"

# Settlements per chunk: large, since a chunk is a handful of set-based statements.
CLEARING_CHUNK_SIZE = 100_000


def clearing_period_end(period: date) -> datetime:
    """The first moment after the month, in the project's time zone."""
    return timezone.make_aware(datetime.combine(next_month(period), time.min))


def _clearable(period: date) -> QuerySet:
    """The settlements a clearing walks: cross-city ones posted before the month ended (by the
    partial index). Which of their sides are not cleared yet the chunk's SQL finds, by the
    unique index on the items, so walking the ones cleared before costs an index probe each."""
    return Settlement.objects.filter(
        through_clearing=True, settled_at__lt=clearing_period_end(period)
    )


# Table names are formatted in (never input); every value is a parameter. OFFSET 0 keeps each
# "cleared already" probe a probe of the items' unique index per settlement: as an anti-join it
# would be planned from statistics that lag behind the chunks this run has just written.
_DUE_SQL = f"""
    SELECT s.id AS settlement_id, FALSE AS is_reversal,
           s.pool_amount + s.personal_account_amount AS amount,
           s.insured_city_id AS payer_city_id, i.city_id AS care_city_id
      FROM {SETTLEMENT} s JOIN {INSTITUTION} i ON i.id = s.institution_id
     WHERE s.through_clearing AND s.id > %(lo)s AND s.id <= %(hi)s AND s.settled_at < %(end)s
       AND NOT EXISTS (SELECT 1 FROM {ITEM} c WHERE c.settlement_id = s.id AND NOT c.is_reversal
                       OFFSET 0)
    UNION ALL
    SELECT s.id, TRUE, -(s.pool_amount + s.personal_account_amount),
           s.insured_city_id, i.city_id
      FROM {SETTLEMENT} s JOIN {INSTITUTION} i ON i.id = s.institution_id
     WHERE s.through_clearing AND s.id > %(lo)s AND s.id <= %(hi)s AND s.settled_at < %(end)s
       AND s.status = 'REVERSED' AND s.reversed_at < %(end)s
       AND NOT EXISTS (SELECT 1 FROM {ITEM} c WHERE c.settlement_id = s.id AND c.is_reversal
                       OFFSET 0)
"""  # noqa: S608

_PAIR = "LEAST(d.payer_city_id, d.care_city_id), GREATEST(d.payer_city_id, d.care_city_id)"

_STATEMENTS_OPEN_SQL = f"""
    INSERT INTO {STATEMENT} (run_id, period, city_a_id, city_b_id,
        a_to_b_settled_count, a_to_b_settled_amount, a_to_b_reversed_count, a_to_b_reversed_amount,
        b_to_a_settled_count, b_to_a_settled_amount, b_to_a_reversed_count, b_to_a_reversed_amount,
        net_amount, created_at)
    SELECT DISTINCT %(run)s, %(period)s, {_PAIR}, 0, 0, 0, 0, 0, 0, 0, 0, 0, %(now)s
      FROM {DUE} d
    ON CONFLICT (city_a_id, city_b_id, period) DO NOTHING
"""  # noqa: S608

# The items inserted (a side already cleared is skipped by the unique constraint), then each
# statement's totals increased by exactly those items.
_ITEMS_ADD_SQL = f"""
    WITH inserted AS (
        INSERT INTO {ITEM} (statement_id, settlement_id, is_reversal, amount)
        SELECT t.id, d.settlement_id, d.is_reversal, d.amount
          FROM {DUE} d
          JOIN {STATEMENT} t ON t.period = %(period)s
           AND t.city_a_id = LEAST(d.payer_city_id, d.care_city_id)
           AND t.city_b_id = GREATEST(d.payer_city_id, d.care_city_id)
        ON CONFLICT (settlement_id, is_reversal) DO NOTHING
        RETURNING statement_id, settlement_id, is_reversal, amount
    ), sums AS (
        SELECT i.statement_id,
               COUNT(*) FILTER (WHERE d.payer_city_id = t.city_a_id AND NOT i.is_reversal) AS a_sc,
               COALESCE(SUM(i.amount) FILTER (WHERE d.payer_city_id = t.city_a_id AND NOT i.is_reversal), 0) AS a_sa,
               COUNT(*) FILTER (WHERE d.payer_city_id = t.city_a_id AND i.is_reversal) AS a_rc,
               COALESCE(-SUM(i.amount) FILTER (WHERE d.payer_city_id = t.city_a_id AND i.is_reversal), 0) AS a_ra,
               COUNT(*) FILTER (WHERE d.payer_city_id = t.city_b_id AND NOT i.is_reversal) AS b_sc,
               COALESCE(SUM(i.amount) FILTER (WHERE d.payer_city_id = t.city_b_id AND NOT i.is_reversal), 0) AS b_sa,
               COUNT(*) FILTER (WHERE d.payer_city_id = t.city_b_id AND i.is_reversal) AS b_rc,
               COALESCE(-SUM(i.amount) FILTER (WHERE d.payer_city_id = t.city_b_id AND i.is_reversal), 0) AS b_ra
          FROM inserted i
          JOIN {DUE} d ON d.settlement_id = i.settlement_id AND d.is_reversal = i.is_reversal
          JOIN {STATEMENT} t ON t.id = i.statement_id
         GROUP BY i.statement_id
    )
    UPDATE {STATEMENT} t
       SET a_to_b_settled_count = t.a_to_b_settled_count + sums.a_sc,
           a_to_b_settled_amount = t.a_to_b_settled_amount + sums.a_sa,
           a_to_b_reversed_count = t.a_to_b_reversed_count + sums.a_rc,
           a_to_b_reversed_amount = t.a_to_b_reversed_amount + sums.a_ra,
           b_to_a_settled_count = t.b_to_a_settled_count + sums.b_sc,
           b_to_a_settled_amount = t.b_to_a_settled_amount + sums.b_sa,
           b_to_a_reversed_count = t.b_to_a_reversed_count + sums.b_rc,
           b_to_a_reversed_amount = t.b_to_a_reversed_amount + sums.b_ra
      FROM sums
     WHERE t.id = sums.statement_id
    RETURNING sums.a_sc + sums.b_sc, sums.a_rc + sums.b_rc
"""  # noqa: S608


def _clear_chunk(run: ClearingRun, lo: int, hi: int, execution: int) -> dict:
    if run.status == JobStatus.SUCCEEDED:
        # Netted already: a late execution adds nothing to statements whose money has moved;
        # what it would have found is carried by the next month's clearing.
        return {}
    params = {
        "run": run.id,
        "period": run.period,
        "end": clearing_period_end(run.period),
        "lo": lo,
        "hi": hi,
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        # A chunk moves no money (items and statement totals only, with the cursor): one lost in
        # a crash is redone from the cursor, so its commit need not wait for the disk. Netting,
        # which posts transfers, commits as every other transaction does.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(f"DROP TABLE IF EXISTS {DUE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {DUE} AS {_DUE_SQL}", params)
        cursor.execute(_STATEMENTS_OPEN_SQL, params)
        cursor.execute(_ITEMS_ADD_SQL, params)
        rows = cursor.fetchall()
        cursor.execute(f"DROP TABLE {DUE}")
    return {
        "settlements_count": sum(row[0] for row in rows),
        "reversals_count": sum(row[1] for row in rows),
    }


def _netting_legs(*, accounts: dict[str, int], owes, owed) -> list[Leg]:
    """Inside one city: its clearing payable gives up what it owes the other city, its clearing
    receivable gets back what the other city owes it, and its cross-city settlement account takes
    the difference (the net paid to, or received from, the other city)."""
    legs = [
        Leg(accounts[Account.Kind.CLEARING_PAYABLE], -owes),
        Leg(accounts[Account.Kind.CLEARING_RECEIVABLE], owed),
        Leg(accounts[Account.Kind.INTERCITY_SETTLEMENT], owes - owed),
    ]
    return [leg for leg in legs if leg.amount != 0]


def _statement_net(statement: ClearingStatement, *, by, now: datetime) -> None:
    """Post the statement's two netting transfers (each inside its city), once."""
    sides = (
        ("transfer_a", statement.city_a_id, statement.a_owes, statement.b_owes),
        ("transfer_b", statement.city_b_id, statement.b_owes, statement.a_owes),
    )
    for field, city_id, owes, owed in sides:
        legs = _netting_legs(accounts=city_account_ids(city_id=city_id), owes=owes, owed=owed)
        if not legs:
            continue
        transfer = transfer_post(
            kind=Transfer.Kind.CLEARING,
            key=f"clearing:{statement.period:%Y-%m}:{statement.city_a_id}-"
            f"{statement.city_b_id}:{city_id}",
            memo=f"Cross-city clearing {statement.period:%Y-%m}, cities {statement.city_a_id} "
            f"and {statement.city_b_id}: city {city_id} owes {owes:.2f}, is owed {owed:.2f}",
            legs=legs,
            by=by,
            posted_at=now,
        )
        setattr(statement, field, transfer)
    statement.net_amount = statement.a_owes - statement.b_owes
    statement.netted_at = now
    statement.save(update_fields=["transfer_a", "transfer_b", "net_amount", "netted_at"])


def _clearing_net(run: ClearingRun) -> None:
    """Every statement of the run not netted yet (inside the transaction that marks it done)."""
    now = clock.now()
    statements = ClearingStatement.objects.select_for_update(no_key=True).filter(
        run=run, netted_at__isnull=True
    )
    for statement in statements.order_by("id"):
        _statement_net(statement, by=run.created_by, now=now)
    run.statements_count = run.statements.count()
    run.save(update_fields=["statements_count"])


CLEARING = JobKind(
    model=ClearingRun,
    rows=lambda run: _clearable(run.period),
    process_chunk=_clear_chunk,
    # A run once netted is final: what it did not find goes to the next month's clearing.
    rescan_when_done=False,
    on_success=_clearing_net,
)


def clearing_run_open(
    *, period: date, by=None, today: date | None = None
) -> tuple[ClearingRun, bool]:
    """The clearing of a month that has ended on ``today`` (the caller's clock.today(), read
    here when not given): created once; asking again returns the same run."""
    today = clock.today() if today is None else today
    period = period.replace(day=1)
    if period >= today.replace(day=1):
        raise DomainError(
            SettlementErrorCode.CLEARING_PERIOD_NOT_ENDED,
            f"{period:%Y-%m} is cleared from {next_month(period):%Y-%m-%d} on.",
        )
    return ClearingRun.objects.get_or_create(
        period=period,
        defaults={"created_by": acting_user(by), "request_id": current_request_id()},
    )


def clearing_run_execute(
    *, run_id: int, chunk_size: int | None = None, progress: Callable[[int], None] | None = None
) -> JobOutcome:
    """Execute (or resume) a clearing run. Safe to call any number of times, concurrently."""
    return execute_recorded_job(
        CLEARING,
        job_id=run_id,
        chunk_size=chunk_size or max(settings.JOB_CHUNK_SIZE, CLEARING_CHUNK_SIZE),
        progress=progress,
    )
