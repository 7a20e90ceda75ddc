"""Helpers shared by the domain-core tests: the simulated clock, problem assertions and ledger
checks made straight against the database."""

from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from common import clock
from common.errors import DomainError
from common.models import SimulatedClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware datetime on a local (Asia/Shanghai) day."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def set_clock(when: datetime | date) -> datetime:
    """Move the simulated clock (the row the project reads) and drop its cached value."""
    if not isinstance(when, datetime):
        when = at(when)
    SimulatedClock.objects.update_or_create(pk=1, defaults={"now": when})
    clock.forget_cached_now()
    return when


@contextmanager
def refused(code):
    """The block raises a DomainError with this code."""
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code is code, excinfo.value


@contextmanager
def refused_by_database(constraint: str):
    """The block is refused by PostgreSQL, by the named constraint or ledger rule. The failing
    statement runs in a savepoint, so the test's transaction goes on."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield excinfo
    cause = excinfo.value.__cause__
    assert cause is not None and cause.diag.constraint_name == constraint, excinfo.value


def sql(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def balances_disagreeing_with_entries() -> list[tuple]:
    """Accounts whose cached balance differs from the sum of their entries (should be none)."""
    return sql(
        """
        SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0)
          FROM accounts_account a LEFT JOIN accounts_entry e ON e.account_id = a.id
         GROUP BY a.id, a.balance
        HAVING a.balance <> COALESCE(SUM(e.amount), 0)
        """
    )


def unbalanced_transfers() -> list[tuple]:
    """Transfers whose entries do not sum to zero, or that have no entries (should be none)."""
    return sql(
        """
        SELECT t.id, COALESCE(SUM(e.amount), 0), COUNT(e.id)
          FROM accounts_transfer t LEFT JOIN accounts_entry e ON e.transfer_id = t.id
         GROUP BY t.id
        HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) = 0
        """
    )


def total_of_all_balances() -> Decimal:
    return sql("SELECT COALESCE(SUM(balance), 0) FROM accounts_account")[0][0]
