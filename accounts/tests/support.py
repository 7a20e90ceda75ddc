"""Helpers shared by the domain-core tests: the simulated clock, problem assertions and ledger
checks made straight against the database."""

# ruff: noqa: S608 (the SQL is built from constants, never input)

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


# Each account's whole balance: its own row's and its stripes'.
ACCOUNT_BALANCES = """
    SELECT a.id, a.kind, a.balance + COALESCE(
               (SELECT SUM(s.balance) FROM accounts_accountstripe s WHERE s.account_id = a.id), 0
           ) AS balance
      FROM accounts_account a
"""


def balances_disagreeing_with_entries() -> list[tuple]:
    """Accounts whose balance (own row and stripes) differs from the sum of their entries (should
    be none)."""
    return sql(
        f"""
        SELECT b.id, b.balance, COALESCE(SUM(e.amount), 0)
          FROM ({ACCOUNT_BALANCES}) b LEFT JOIN accounts_entry e ON e.account_id = b.id
         GROUP BY b.id, b.balance
        HAVING b.balance <> COALESCE(SUM(e.amount), 0)
        """
    )


def balances_past_their_rule() -> list[tuple]:
    """Accounts that may not go negative below zero, or a source above zero (should be none)."""
    return sql(
        f"""
        SELECT b.id, b.kind, b.balance FROM ({ACCOUNT_BALANCES}) b
         WHERE (b.kind IN ('PERSONAL', 'PA_CLEARING', 'INSTITUTION') AND b.balance < 0)
            OR (b.kind = 'SOURCE' AND b.balance > 0)
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
    return sql(f"SELECT COALESCE(SUM(balance), 0) FROM ({ACCOUNT_BALANCES}) b")[0][0]
