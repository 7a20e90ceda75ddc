"""TRUNCATE cannot empty the ledger (accounts migration 0009), neither directly nor through a
CASCADE; the test suite's own flush between transactional tests still can."""

import pytest
from django.db import connection

from accounts.models import Entry, Transfer
from accounts.tests.support import refused_by_database, sql
from persons.tests.factories import PersonFactory
from settlement.tests.factories import fund_personal_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    """A ledger with money in it."""
    fund_personal_account(PersonFactory(), "100.00")
    assert Entry.objects.exists()
    # Run the deferred checks now: PostgreSQL refuses any TRUNCATE of a table with pending
    # trigger events before our trigger could speak.
    sql("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE accounts_entry",
        "TRUNCATE accounts_transfer CASCADE",
        "TRUNCATE accounts_contribution CASCADE",
        "TRUNCATE accounts_crediting CASCADE",
        # A table far from the ledger whose CASCADE reaches it: settlements reference transfers
        # and transfers are referenced by contributions and creditings.
        "TRUNCATE settlement_settlement, accounts_transfer CASCADE",
        "TRUNCATE accounts_account CASCADE",
    ],
)
def test_truncate_of_the_ledger_is_refused(books, statement):
    with refused_by_database("ledger_immutable"):
        sql(statement)
    assert Entry.objects.exists() and Transfer.objects.exists()


def test_only_a_transaction_that_says_so_may_truncate(books):
    with refused_by_database("ledger_immutable"):
        sql("SET LOCAL yibao.allow_truncate = 'off'")
        sql("TRUNCATE accounts_entry, accounts_transfer CASCADE")
    # What the suite's flush does (conftest.py): allowed for this transaction only.
    sql("SET LOCAL yibao.allow_truncate = 'on'")
    sql("TRUNCATE accounts_entry, accounts_transfer CASCADE")
    assert not Entry.objects.exists()


def test_the_refusal_names_the_table():
    with connection.cursor() as cursor, refused_by_database("ledger_immutable") as refusal:
        cursor.execute("TRUNCATE accounts_transfer CASCADE")
    assert "cannot be truncated" in str(refusal.value)


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_with_ledger_rows_is_still_flushed_after_it(books):
    # Its teardown empties every table with TRUNCATE: that this test ends without an error, with
    # ledger rows in the tables, is what it checks.
    assert Entry.objects.exists()
