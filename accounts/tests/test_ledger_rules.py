"""The ledger's rules hold in the database itself: raw SQL and ORM calls that bypass the services
try to break each one and are refused by PostgreSQL (migration 0005), and what the services do
leaves every balance equal to the sum of its entries and the books summing to zero."""

import contextlib
import random
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.crediting import crediting_run_execute, crediting_run_open
from accounts.models import Account, Contribution, Crediting, Entry, Transfer
from accounts.services import Leg, contribution_record, transfer_post
from accounts.tests.support import (
    balances_disagreeing_with_entries,
    balances_past_their_rule,
    refused_by_database,
    set_clock,
    sql,
    total_of_all_balances,
    unbalanced_transfers,
)
from cities.tests.factories import CityFactory
from common.errors import DomainError
from institutions.models import Institution
from persons.tests.factories import PersonFactory, ResidentFactory, RetireeFactory

pytestmark = pytest.mark.django_db

BALANCED = "ledger_transfer_balanced"
HAS_ENTRIES = "ledger_transfer_has_entries"
FROM_ENTRIES = "ledger_balance_from_entries"
IMMUTABLE = "ledger_immutable"


@pytest.fixture
def city():
    set_clock(date(2026, 3, 16))
    return CityFactory()


@pytest.fixture
def books(city):
    """The city's own accounts by kind."""
    return {account.kind: account for account in Account.objects.filter(city=city)}


@pytest.fixture
def personal(city):
    return PersonFactory(city=city, enrolled_on=date(2026, 2, 1)).personal_account


def raw_transfer(key: str) -> int:
    """A transfer row inserted with SQL, as a client bypassing transfer_post would."""
    return sql(
        "INSERT INTO accounts_transfer (kind, key, memo, posted_at, created_at, request_id) "
        "VALUES ('ADJUSTMENT', %s, 'raw', now(), now(), '') RETURNING id",
        [key],
    )[0][0]


def raw_entries(*legs: tuple[int, int, str]) -> None:
    """Insert entries (transfer id, account id, amount) in one statement."""
    values = ", ".join(["(%s, %s, %s)"] * len(legs))
    sql(
        f"INSERT INTO accounts_entry (transfer_id, account_id, amount) VALUES {values}",  # noqa: S608
        [value for leg in legs for value in leg],
    )


def fund(account: Account, books, amount: str) -> Transfer:
    """Money into an account from the city's contribution source, through the service."""
    return transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key=f"fund:{account.id}:{amount}:{Transfer.objects.count()}",
        memo="funding",
        legs=[
            Leg(account.id, Decimal(amount)),
            Leg(books[Account.Kind.CONTRIBUTION_SOURCE].id, -Decimal(amount)),
        ],
    )


# --- Entries of a transfer sum to zero ----------------------------------------------------


# Each attempt inserts its transfer inside the refused block, so the refusal takes the transfer
# with it (a transfer left without entries would itself be refused when the test ends).


def test_raw_entries_that_do_not_sum_to_zero_are_refused(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused_by_database(BALANCED):
        transfer_id = raw_transfer("raw-unbalanced")
        raw_entries((transfer_id, pool.id, "10.00"), (transfer_id, source.id, "-9.99"))
    pool.refresh_from_db()
    assert pool.balance == 0
    assert not Entry.objects.exists()


def test_orm_bulk_create_of_unbalanced_entries_is_refused(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused_by_database(BALANCED):
        transfer_id = raw_transfer("orm-unbalanced")
        Entry.objects.bulk_create(
            [
                Entry(transfer_id=transfer_id, account=pool, amount=Decimal("50.00")),
                Entry(transfer_id=transfer_id, account=source, amount=Decimal("-49.00")),
            ]
        )
    with refused_by_database(BALANCED):
        transfer_id = raw_transfer("orm-one-leg")
        Entry.objects.create(transfer_id=transfer_id, account=pool, amount=Decimal("1.00"))


def test_a_transfer_cannot_be_balanced_over_two_statements(books):
    """Each statement must leave the transfer balanced: a one-legged insert is refused even if
    its other leg was meant to follow."""
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused_by_database(BALANCED):
        transfer_id = raw_transfer("two-statements")
        raw_entries((transfer_id, pool.id, "10.00"))
        raw_entries((transfer_id, source.id, "-10.00"))


def test_legs_balancing_across_two_transfers_do_not_balance_either(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused_by_database(BALANCED):
        first, second = raw_transfer("across-1"), raw_transfer("across-2")
        raw_entries((first, pool.id, "10.00"), (second, source.id, "-10.00"))


def test_zero_amount_entries_are_refused(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused_by_database("entry_amount_not_zero"):
        transfer_id = raw_transfer("zero")
        raw_entries(
            (transfer_id, pool.id, "0.00"),
            (transfer_id, pool.id, "5.00"),
            (transfer_id, source.id, "-5.00"),
        )


def test_balanced_raw_entries_are_accepted_and_move_the_balances(books):
    """The rules refuse what is wrong, not raw SQL as such."""
    transfer_id = raw_transfer("raw-balanced")
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    raw_entries((transfer_id, pool.id, "12.34"), (transfer_id, source.id, "-12.34"))
    pool.refresh_from_db()
    source.refresh_from_db()
    assert (pool.balance, source.balance) == (Decimal("12.34"), Decimal("-12.34"))
    assert balances_disagreeing_with_entries() == []


def test_entries_cannot_be_added_to_a_posted_transfer(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    posted = fund(pool, books, "10.00")
    with refused_by_database(IMMUTABLE):
        raw_entries((posted.id, pool.id, "5.00"), (posted.id, source.id, "-5.00"))
    assert posted.entries.count() == 2


# --- A transfer has entries by commit -----------------------------------------------------


def test_transfer_without_entries_is_refused_when_checked(books):
    """The check is deferred to commit; forcing it now shows the transfer is refused."""
    with refused_by_database(HAS_ENTRIES):
        raw_transfer("no-entries")
        sql("SET CONSTRAINTS ledger_transfer_has_entries IMMEDIATE")
    assert not Transfer.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_transfer_without_entries_is_refused_at_commit():
    now = set_clock(date(2026, 3, 16))
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Transfer.objects.create(
            kind=Transfer.Kind.ADJUSTMENT, key="empty-orm", memo="no legs", posted_at=now
        )
    assert excinfo.value.__cause__.diag.constraint_name == HAS_ENTRIES
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        raw_transfer("empty-raw")
    assert excinfo.value.__cause__.diag.constraint_name == HAS_ENTRIES
    assert not Transfer.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_transfer_with_entries_in_the_same_transaction_commits():
    set_clock(date(2026, 3, 16))
    city = CityFactory()
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    source = Account.objects.get(city=city, kind=Account.Kind.CONTRIBUTION_SOURCE)
    with transaction.atomic():
        transfer_id = raw_transfer("committed")
        raw_entries((transfer_id, pool.id, "1.00"), (transfer_id, source.id, "-1.00"))
    assert Transfer.objects.filter(pk=transfer_id).exists()
    assert Account.objects.get(pk=pool.pk).balance == Decimal("1.00")


# --- The cached balance is written only by entries ----------------------------------------


def test_balance_cannot_be_written_with_sql(books):
    pool = books[Account.Kind.EMPLOYEE_POOL]
    with refused_by_database(FROM_ENTRIES):
        sql("UPDATE accounts_account SET balance = 1000000 WHERE id = %s", [pool.id])
    with refused_by_database(FROM_ENTRIES):
        sql(
            "UPDATE accounts_account SET balance = balance + 0.01 WHERE city_id = %s",
            [pool.city_id],
        )
    pool.refresh_from_db()
    assert pool.balance == 0


def test_balance_cannot_be_written_through_the_orm(books, personal):
    fund(personal, books, "30.00")
    with refused_by_database(FROM_ENTRIES):
        Account.objects.filter(pk=personal.pk).update(row_balance=Decimal("999.00"))
    personal.refresh_from_db()
    personal.row_balance = Decimal("0.00")
    with refused_by_database(FROM_ENTRIES):
        personal.save()
    with refused_by_database(FROM_ENTRIES):
        personal.save(update_fields=["row_balance"])
    assert Account.objects.get(pk=personal.pk).balance == Decimal("30.00")


def test_saving_an_account_without_changing_its_balance_is_allowed(books, personal):
    fund(personal, books, "30.00")
    personal.refresh_from_db()
    personal.save()
    assert Account.objects.get(pk=personal.pk).balance == Decimal("30.00")


def test_an_account_opens_at_zero(city):
    institution = Institution.objects.create(
        code="RAW-1", name="Raw hospital", kind=Institution.Kind.HOSPITAL, level=2, city=city
    )
    with refused_by_database(FROM_ENTRIES):
        Account.objects.create(
            kind=Account.Kind.INSTITUTION, city=city, institution=institution, row_balance=100
        )
    with refused_by_database(FROM_ENTRIES):
        sql(
            "INSERT INTO accounts_account (kind, city_id, institution_id, balance, created_at) "
            "VALUES ('INSTITUTION', %s, %s, 0.01, now())",
            [city.id, institution.id],
        )
    opened = Account.objects.create(
        kind=Account.Kind.INSTITUTION, city=city, institution=institution
    )
    assert opened.balance == 0


def test_a_personal_account_cannot_open_with_money_or_a_debt():
    set_clock(date(2026, 3, 16))
    resident = ResidentFactory(city=CityFactory(abolished=True))
    assert not Account.objects.filter(person=resident).exists()
    for opening in (Decimal("100.00"), Decimal("-100.00")):
        with refused_by_database(FROM_ENTRIES):
            Account.objects.create(
                kind=Account.Kind.PERSONAL, city=resident.city, person=resident, row_balance=opening
            )


# --- Immutability ------------------------------------------------------------------------


@pytest.fixture
def posted_history(city, books):
    """One of each immutable row: a contribution (with its transfer and entries) and a crediting."""
    person = PersonFactory(city=city, enrolled_on=date(2026, 2, 1))
    contribution = contribution_record(person=person, period=date(2026, 2, 1))
    run, _ = crediting_run_open(city=city, period=date(2026, 2, 1))
    crediting_run_execute(run_id=run.id)
    crediting = Crediting.objects.get(account=person.personal_account)
    return {
        "accounts_entry": contribution.transfer.entries.first(),
        "accounts_transfer": contribution.transfer,
        "accounts_contribution": contribution,
        "accounts_crediting": crediting,
    }


IMMUTABLE_TABLES = [
    "accounts_entry",
    "accounts_transfer",
    "accounts_contribution",
    "accounts_crediting",
]
EDITS = {
    "accounts_entry": ("amount", "amount * 2"),
    "accounts_transfer": ("memo", "'rewritten'"),
    "accounts_contribution": ("employer_amount", "0"),
    "accounts_crediting": ("amount", "amount + 1"),
}


@pytest.mark.parametrize("table", IMMUTABLE_TABLES)
def test_rows_cannot_be_updated_with_sql(posted_history, table):
    row = posted_history[table]
    with refused_by_database(IMMUTABLE):
        column, value = EDITS[table]
        sql(f"UPDATE {table} SET {column} = {value} WHERE id = %s", [row.pk])  # noqa: S608


@pytest.mark.parametrize("table", IMMUTABLE_TABLES)
def test_rows_cannot_be_deleted_with_sql(posted_history, table):
    row = posted_history[table]
    with refused_by_database(IMMUTABLE):
        sql(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("table", IMMUTABLE_TABLES)
def test_rows_cannot_be_changed_through_the_orm(posted_history, table):
    row = posted_history[table]
    model = type(row)
    column, _ = EDITS[table]
    with refused_by_database(IMMUTABLE):
        model.objects.filter(pk=row.pk).update(**{column: getattr(row, column)})
    with refused_by_database(IMMUTABLE):
        row.save()
    with refused_by_database(IMMUTABLE):
        # _raw_delete skips Django's collector (and its PROTECT checks): only the database stops it.
        model.objects.filter(pk=row.pk)._raw_delete(using="default")
    assert model.objects.filter(pk=row.pk).exists()


def test_entries_and_balances_unchanged_after_refused_edits(posted_history):
    before = sql("SELECT id, balance FROM accounts_account ORDER BY id")
    for table in IMMUTABLE_TABLES:
        with pytest.raises(IntegrityError), transaction.atomic():
            sql(f"DELETE FROM {table}")  # noqa: S608
    assert sql("SELECT id, balance FROM accounts_account ORDER BY id") == before
    assert balances_disagreeing_with_entries() == []


# --- Accounts that may not go negative ----------------------------------------------------


def test_raw_entries_cannot_drive_a_personal_account_negative(books, personal):
    fund(personal, books, "10.00")
    pool = books[Account.Kind.EMPLOYEE_POOL]
    with refused_by_database("account_balance_not_negative"):
        transfer_id = raw_transfer("overdraw")
        raw_entries((transfer_id, personal.id, "-10.01"), (transfer_id, pool.id, "10.01"))
    personal.refresh_from_db()
    assert personal.balance == Decimal("10.00")
    # Down to exactly zero is fine.
    transfer_id = raw_transfer("down-to-zero")
    raw_entries((transfer_id, personal.id, "-10.00"), (transfer_id, pool.id, "10.00"))
    personal.refresh_from_db()
    assert personal.balance == 0


@pytest.mark.parametrize("kind", [Account.Kind.PERSONAL_ACCOUNT_CLEARING, Account.Kind.INSTITUTION])
def test_other_never_negative_accounts_refuse_overdraft(city, books, kind):
    if kind == Account.Kind.INSTITUTION:
        institution = Institution.objects.create(
            code="NN-1", name="Hospital", kind=Institution.Kind.HOSPITAL, level=1, city=city
        )
        account = Account.objects.create(kind=kind, city=city, institution=institution)
    else:
        account = books[kind]
    with refused_by_database("account_balance_not_negative"):
        transfer_id = raw_transfer(f"overdraw-{kind}")
        Entry.objects.bulk_create(
            [
                Entry(transfer_id=transfer_id, account=account, amount=Decimal("-0.01")),
                Entry(
                    transfer_id=transfer_id,
                    account=books[Account.Kind.EMPLOYEE_POOL],
                    amount=Decimal("0.01"),
                ),
            ]
        )


def test_the_contribution_source_only_gives(books):
    source, pool = books[Account.Kind.CONTRIBUTION_SOURCE], books[Account.Kind.EMPLOYEE_POOL]
    with refused_by_database("source_account_only_gives"):
        transfer_id = raw_transfer("source-receives")
        raw_entries((transfer_id, source.id, "1.00"), (transfer_id, pool.id, "-1.00"))


def test_pools_may_go_negative(books):
    """Pools can owe (a deficit is a fact to show, not to hide); only the listed kinds cannot."""
    pool, clearing = (
        books[Account.Kind.EMPLOYEE_POOL],
        books[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
    )
    fund(clearing, books, "5.00")
    transfer_id = raw_transfer("pool-deficit")
    raw_entries((transfer_id, pool.id, "-5.00"), (transfer_id, clearing.id, "5.00"))
    pool.refresh_from_db()
    assert pool.balance == Decimal("-5.00")


# --- Positive proofs ------------------------------------------------------------------------


def test_books_stay_consistent_after_a_mix_of_postings(city, books):
    """Contributions of every kind, crediting runs, adjustments and refused attempts: afterwards
    every cached balance equals the sum of its entries, every transfer balances and the books
    sum to zero."""
    rng = random.Random(20260316)
    employees = [
        PersonFactory(city=city, enrolled_on=date(2025, 11, 1), declared_wage=Decimal(wage))
        for wage in ("3000.00", "9000.55", "12345.67", "50000.00")
    ]
    RetireeFactory(city=city, enrolled_on=date(2025, 11, 1))
    resident = ResidentFactory(city=city, enrolled_on=date(2025, 11, 1))
    contribution_record(person=resident, period=date(2026, 1, 1))
    for period in (date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)):
        for person in employees:
            if rng.random() < 0.8:
                contribution_record(person=person, period=period)
        run, _ = crediting_run_open(city=city, period=period)
        crediting_run_execute(run_id=run.id, chunk_size=rng.choice([1, 2, 50]))
    pool = books[Account.Kind.EMPLOYEE_POOL]
    for index in range(30):
        target = rng.choice(employees).personal_account
        target.refresh_from_db()
        amount = Decimal(rng.randrange(1, 20000)) / 100
        with contextlib.suppress(DomainError):  # overdrafts are refused; the books must hold
            transfer_post(
                kind=Transfer.Kind.ADJUSTMENT,
                key=f"mix-{index}",
                memo="random movement",
                legs=[Leg(target.id, -amount), Leg(pool.id, amount)]
                if rng.random() < 0.5
                else [Leg(target.id, amount), Leg(pool.id, -amount)],
            )

    assert Entry.objects.count() > 20
    assert balances_disagreeing_with_entries() == []
    assert unbalanced_transfers() == []
    assert total_of_all_balances() == 0
    assert balances_past_their_rule() == []
    # The balance column agrees with the entries computed independently of the trigger.
    for account in Account.objects.filter(city=city):
        assert account.balance == sum(
            (entry.amount for entry in Entry.objects.filter(account=account)), Decimal("0.00")
        )


def test_contribution_rows_and_their_money_agree(city):
    """Every contribution's total left the city's source account through its own transfer."""
    person = PersonFactory(city=city, enrolled_on=date(2026, 1, 1))
    resident = ResidentFactory(city=city, enrolled_on=date(2026, 1, 1))
    records = [
        contribution_record(person=person, period=date(2026, 1, 1)),
        contribution_record(person=person, period=date(2026, 2, 1)),
        contribution_record(person=resident, period=date(2026, 1, 1)),
    ]
    for record in records:
        legs = dict(record.transfer.entries.values_list("account__kind", "amount"))
        assert legs[Account.Kind.CONTRIBUTION_SOURCE] == -record.total
    assert Contribution.objects.filter(person__city=city).count() == 3
    assert total_of_all_balances() == 0


@pytest.mark.django_db(transaction=True)
def test_total_of_all_balances_is_zero_across_cities_after_commit():
    set_clock(date(2026, 3, 16))
    for _ in range(2):
        city = CityFactory()
        person = PersonFactory(city=city, enrolled_on=date(2026, 2, 1))
        contribution_record(person=person, period=date(2026, 2, 1))
        run, _ = crediting_run_open(city=city, period=date(2026, 2, 1))
        crediting_run_execute(run_id=run.id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(balance), COUNT(*) FROM accounts_account")
        total, count = cursor.fetchone()
    assert count >= 12
    assert total == 0
    assert balances_disagreeing_with_entries() == []


def test_balance_tables_leave_room_for_heap_only_updates():
    """Every balance is rewritten at least monthly: the new row version must find room on its page
    (no index entry for it), or a crediting chunk rewrites every index of the accounts."""
    rows = sql(
        "SELECT relname, reloptions FROM pg_class "
        "WHERE relname IN ('accounts_account', 'accounts_accountstripe') ORDER BY relname"
    )
    assert rows == [
        ("accounts_account", ["fillfactor=50"]),
        ("accounts_accountstripe", ["fillfactor=50"]),
    ]
    # A chunk's entries are grouped by account in memory, not spilled to disk four times over.
    assert sql("SELECT proconfig FROM pg_proc WHERE proname = 'ledger_entries_inserted'") == [
        (["work_mem=64MB"],)
    ]
