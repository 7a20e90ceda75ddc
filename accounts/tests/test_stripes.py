"""Striped accounts: a city's accounts and an institution's hold their balance on their own row and
their stripes, so concurrent postings to one of them do not queue on one row, and the ledger's
rules hold as before, enforced by the database (migration 0014)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.error_codes import LedgerErrorCode
from accounts.models import STRIPES, Account, AccountStripe, Transfer
from accounts.services import Leg, institution_account_open, transfer_post
from accounts.tests.support import (
    balances_disagreeing_with_entries,
    balances_past_their_rule,
    refused,
    refused_by_database,
    set_clock,
    sql,
    total_of_all_balances,
    unbalanced_transfers,
)
from cities.tests.factories import CityFactory
from institutions.models import Institution
from persons.tests.factories import PersonFactory, ResidentFactory

pytestmark = pytest.mark.django_db

FROM_ENTRIES = "ledger_balance_from_entries"
NOT_NEGATIVE = "account_balance_not_negative"


@pytest.fixture
def city():
    set_clock(date(2026, 3, 16))
    return CityFactory()


@pytest.fixture
def books(city):
    accounts = {account.kind: account for account in Account.objects.filter(city=city)}
    institution = Institution.objects.create(
        code="STRIPE-1", name="Striped hospital", kind=Institution.Kind.HOSPITAL, level=3, city=city
    )
    accounts[Account.Kind.INSTITUTION] = institution_account_open(institution=institution)
    return accounts


def post(books, key: str, *legs: tuple[str, str]) -> Transfer:
    return transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key=key,
        memo="test",
        legs=[Leg(books[kind].id, Decimal(amount)) for kind, amount in legs],
    )


def stripe_balances(account: Account) -> list[Decimal]:
    return list(
        AccountStripe.objects.filter(account=account)
        .order_by("stripe")
        .values_list("balance", flat=True)
    )


def entries_total(account: Account) -> Decimal:
    return sql(
        "SELECT COALESCE(SUM(amount), 0) FROM accounts_entry WHERE account_id = %s", [account.id]
    )[0][0]


def raw_posting(*legs: tuple[int, str]) -> None:
    """A transfer and its entries inserted with SQL, as a client bypassing transfer_post would."""
    transfer_id = sql(
        "INSERT INTO accounts_transfer (kind, key, memo, posted_at, created_at, request_id) "
        "VALUES ('ADJUSTMENT', %s, 'raw', now(), now(), '') RETURNING id",
        [f"raw:{Transfer.objects.count()}:{legs}"],
    )[0][0]
    values = ", ".join(["(%s, %s, %s)"] * len(legs))
    sql(
        f"INSERT INTO accounts_entry (transfer_id, account_id, amount) VALUES {values}",  # noqa: S608
        [value for account_id, amount in legs for value in (transfer_id, account_id, amount)],
    )


def test_city_and_institution_accounts_open_striped_and_personal_accounts_do_not(city, books):
    for kind in (*Account.CITY_KINDS, Account.Kind.INSTITUTION):
        account = books[kind]
        assert account.stripes == STRIPES
        assert stripe_balances(account) == [Decimal("0.00")] * (STRIPES - 1)
    personal = PersonFactory(city=city, enrolled_on=date(2026, 2, 1)).personal_account
    assert personal.stripes == 1
    assert not AccountStripe.objects.filter(account=personal).exists()


def test_a_striped_account_is_credited_on_a_stripe_and_its_balance_is_the_sum(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    post(
        books,
        "a",
        (Account.Kind.EMPLOYEE_POOL, "70.00"),
        (Account.Kind.CONTRIBUTION_SOURCE, "-70.00"),
    )
    post(
        books,
        "b",
        (Account.Kind.EMPLOYEE_POOL, "30.50"),
        (Account.Kind.CONTRIBUTION_SOURCE, "-30.50"),
    )
    pool = Account.objects.get(pk=pool.pk)
    # Not on the pool's own row: on its stripes, which no other transaction held.
    assert pool.row_balance == 0
    assert sum(stripe_balances(pool)) == Decimal("100.50")
    assert pool.balance == Decimal("100.50") == entries_total(pool)
    assert Account.objects.get(pk=source.pk).balance == Decimal("-100.50") == entries_total(source)
    listed = Account.objects.with_balance_total().get(pk=pool.pk)
    assert listed.balance_total == Decimal("100.50")
    assert balances_disagreeing_with_entries() == []
    assert total_of_all_balances() == 0


def test_an_institution_pays_out_of_its_whole_balance_and_never_below_zero(books):
    hospital = books[Account.Kind.INSTITUTION]
    post(books, "in", (Account.Kind.INSTITUTION, "50.00"), (Account.Kind.EMPLOYEE_POOL, "-50.00"))
    # The credit is on a stripe; paying out 20 goes to the institution's own row, below zero
    # there, and is allowed: its whole balance is 30.
    post(books, "out", (Account.Kind.INSTITUTION, "-20.00"), (Account.Kind.EMPLOYEE_POOL, "20.00"))
    hospital = Account.objects.get(pk=hospital.pk)
    assert hospital.row_balance == Decimal("-20.00")
    assert hospital.balance == Decimal("30.00") == entries_total(hospital)
    # Paying out more than the whole balance is refused, by the database when asked by SQL.
    with refused_by_database(NOT_NEGATIVE):
        raw_posting((hospital.id, "-30.01"), (books[Account.Kind.EMPLOYEE_POOL].id, "30.01"))
    with refused(LedgerErrorCode.INSUFFICIENT_FUNDS):
        post(
            books,
            "too-much",
            (Account.Kind.INSTITUTION, "-30.01"),
            (Account.Kind.EMPLOYEE_POOL, "30.01"),
        )
    assert Account.objects.get(pk=hospital.pk).balance == Decimal("30.00")
    # Exactly the whole balance is fine.
    raw_posting((hospital.id, "-30.00"), (books[Account.Kind.EMPLOYEE_POOL].id, "30.00"))
    assert Account.objects.get(pk=hospital.pk).balance == 0
    assert balances_past_their_rule() == []


def test_the_source_never_takes_in_more_than_it_gave(books):
    source = books[Account.Kind.CONTRIBUTION_SOURCE]
    post(
        books,
        "give",
        (Account.Kind.EMPLOYEE_POOL, "10.00"),
        (Account.Kind.CONTRIBUTION_SOURCE, "-10.00"),
    )
    with refused_by_database("source_account_only_gives"):
        raw_posting((source.id, "10.01"), (books[Account.Kind.EMPLOYEE_POOL].id, "-10.01"))
    raw_posting((source.id, "10.00"), (books[Account.Kind.EMPLOYEE_POOL].id, "-10.00"))
    assert Account.objects.get(pk=source.pk).balance == 0


def test_unbalanced_entries_and_a_negative_personal_balance_are_still_refused(city, books):
    pool = books[Account.Kind.EMPLOYEE_POOL]
    with refused_by_database("ledger_transfer_balanced"):
        raw_posting((pool.id, "5.00"), (books[Account.Kind.INSTITUTION].id, "4.99"))
    personal = PersonFactory(city=city, enrolled_on=date(2026, 2, 1)).personal_account
    with refused_by_database(NOT_NEGATIVE):
        raw_posting((personal.id, "-0.01"), (pool.id, "0.01"))
    assert unbalanced_transfers() == []


def test_stripes_change_only_through_entries(books):
    pool = books[Account.Kind.EMPLOYEE_POOL]
    stripe = AccountStripe.objects.filter(account=pool).first()
    with refused_by_database(FROM_ENTRIES):
        AccountStripe.objects.filter(pk=stripe.pk).update(balance=Decimal("1.00"))
    with refused_by_database(FROM_ENTRIES):
        sql(
            "INSERT INTO accounts_accountstripe (account_id, stripe, balance) VALUES (%s, 99, 5)",
            [pool.id],
        )
    post(
        books,
        "in",
        (Account.Kind.EMPLOYEE_POOL, "5.00"),
        (Account.Kind.CONTRIBUTION_SOURCE, "-5.00"),
    )
    holding = AccountStripe.objects.filter(account=pool).exclude(balance=0).get()
    with refused_by_database(FROM_ENTRIES):
        sql("DELETE FROM accounts_accountstripe WHERE id = %s", [holding.id])
    with refused_by_database(FROM_ENTRIES):
        Account.objects.filter(pk=pool.pk).update(stripes=2)
    resident = ResidentFactory(city=CityFactory(abolished=True))  # a person without an account
    with refused_by_database("account_stripes_valid"):
        Account.objects.create(
            kind=Account.Kind.PERSONAL, city=resident.city, person=resident, stripes=4
        )


def test_with_striping_off_a_posting_writes_the_accounts_own_rows(books):
    pool = books[Account.Kind.EMPLOYEE_POOL]
    with transaction.atomic():
        sql("SET LOCAL yibao.ledger_striping = 'off'")
        post(
            books,
            "off",
            (Account.Kind.EMPLOYEE_POOL, "8.00"),
            (Account.Kind.CONTRIBUTION_SOURCE, "-8.00"),
        )
    pool = Account.objects.get(pk=pool.pk)
    assert pool.row_balance == Decimal("8.00") == pool.balance
    assert sum(stripe_balances(pool)) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_to_one_account_hold_no_row_for_one_another():
    """Eight threads, each its own connection, post to the same pool and institution and keep
    their transactions open until all eight have posted: none waits for another's row (with one
    balance row the second would wait for the first's commit and the barrier would time out).
    Then each posts its key again, concurrently: nothing is posted twice. Totals to the cent."""
    set_clock(date(2026, 3, 16))
    city = CityFactory()
    books = {account.kind: account for account in Account.objects.filter(city=city)}
    institution = Institution.objects.create(
        code="STRIPE-2", name="Busy hospital", kind=Institution.Kind.HOSPITAL, level=3, city=city
    )
    books[Account.Kind.INSTITUTION] = institution_account_open(institution=institution)
    post(
        books,
        "funding",
        (Account.Kind.EMPLOYEE_POOL, "1000.00"),
        (Account.Kind.CONTRIBUTION_SOURCE, "-1000.00"),
    )
    threads_count = 8
    all_posted = threading.Barrier(threads_count)
    again = threading.Barrier(threads_count)
    outcomes: dict[int, list] = {n: [] for n in range(threads_count)}

    def settle(n: int) -> None:
        amount = f"{n + 1}.25"
        legs = ((Account.Kind.INSTITUTION, amount), (Account.Kind.EMPLOYEE_POOL, f"-{amount}"))
        try:
            with transaction.atomic():
                outcomes[n].append(post(books, f"settle:{n}", *legs).pk)
                all_posted.wait(timeout=20)  # every thread holds its posting uncommitted
            again.wait(timeout=20)
            outcomes[n].append(post(books, f"settle:{n}", *legs).pk)
        except Exception as exc:
            outcomes[n].append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for n, outcome in outcomes.items():
        assert len(outcome) == 2 and outcome[0] == outcome[1], (n, outcome)
    assert Transfer.objects.filter(key__startswith="settle:").count() == threads_count
    paid = sum(Decimal(f"{n + 1}.25") for n in range(threads_count))
    hospital = Account.objects.get(pk=books[Account.Kind.INSTITUTION].pk)
    pool = Account.objects.get(pk=books[Account.Kind.EMPLOYEE_POOL].pk)
    assert hospital.balance == paid == entries_total(hospital)
    assert pool.balance == Decimal("1000.00") - paid == entries_total(pool)
    # They were held at once, so they went to different stripes.
    assert sum(1 for value in stripe_balances(hospital) if value) >= threads_count
    assert balances_disagreeing_with_entries() == []
    assert balances_past_their_rule() == []
    assert total_of_all_balances() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_payouts_of_one_institution_never_take_it_below_zero():
    """Payouts of a striped account that may not go negative take turns on its own row, and its
    whole balance is checked there: of eight concurrent payouts of 30 from 100, three succeed."""
    set_clock(date(2026, 3, 16))
    city = CityFactory()
    books = {account.kind: account for account in Account.objects.filter(city=city)}
    institution = Institution.objects.create(
        code="STRIPE-3", name="Paying hospital", kind=Institution.Kind.HOSPITAL, level=3, city=city
    )
    books[Account.Kind.INSTITUTION] = institution_account_open(institution=institution)
    for n in range(4):
        post(
            books,
            f"in:{n}",
            (Account.Kind.INSTITUTION, "25.00"),
            (Account.Kind.EMPLOYEE_POOL, "-25.00"),
        )
    start = threading.Barrier(8)
    outcomes: list = []

    def pay_out(n: int) -> None:
        try:
            start.wait(timeout=20)
            post(
                books,
                f"out:{n}",
                (Account.Kind.INSTITUTION, "-30.00"),
                (Account.Kind.EMPLOYEE_POOL, "30.00"),
            )
            outcomes.append("paid")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay_out, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("paid") == 3, outcomes
    assert Account.objects.get(pk=books[Account.Kind.INSTITUTION].pk).balance == Decimal("10.00")
    assert balances_past_their_rule() == []
    assert balances_disagreeing_with_entries() == []


def test_every_reader_of_a_striped_balance_sees_the_whole_of_it(books):
    """The API's account, the console's account list and the institution's page all show the
    whole balance of an institution whose money sits on its stripes."""
    from django.contrib.admin.sites import site

    from accounts.admin import AccountAdmin
    from api.accounts.apis import AccountOutputSerializer
    from institutions.admin import InstitutionAdmin

    post(books, "in", (Account.Kind.INSTITUTION, "12.34"), (Account.Kind.EMPLOYEE_POOL, "-12.34"))
    hospital = Account.objects.get(pk=books[Account.Kind.INSTITUTION].pk)
    assert hospital.row_balance == 0 and hospital.balance == Decimal("12.34")
    assert AccountOutputSerializer(hospital).data["balance"] == "12.34"
    listed = Account.objects.with_balance_total().get(pk=hospital.pk)
    assert AccountAdmin(Account, site).balance_shown(listed) == Decimal("12.34")
    page = InstitutionAdmin(Institution, site).account_link(hospital.institution)
    assert "12.34 CNY" in page
