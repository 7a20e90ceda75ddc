"""The ledger services: posting transfers and recording contributions."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from accounts.error_codes import LedgerErrorCode
from accounts.models import Account, Contribution, Entry, Transfer
from accounts.services import (
    Leg,
    accounts_find_and_lock,
    contribution_record,
    ledger_refusal,
    transfer_post,
    transfer_rows,
)
from accounts.tests.support import (
    at,
    balances_disagreeing_with_entries,
    refused,
    set_clock,
    total_of_all_balances,
)
from cities.tests.factories import CityFactory
from common.errors import DomainError
from common.statements import rows_insert, writes_execute
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory, ResidentFactory, RetireeFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
D = Decimal

# A city with round figures, so each expected amount below can be worked out by hand.
FIGURES = {
    "payment_base_min": Decimal("6000.00"),
    "payment_base_max": Decimal("30000.00"),
    "employer_rate": Decimal("0.0800"),
    "individual_rate": Decimal("0.0200"),
    "resident_individual_contribution": Decimal("400.00"),
    "resident_government_subsidy": Decimal("700.00"),
    "subsidized_individual_contribution": Decimal("100.00"),
    "resident_outpatient_pool_share": Decimal("0.2000"),
}


@pytest.fixture
def now():
    return set_clock(TODAY)


@pytest.fixture
def city(now):
    return CityFactory(**FIGURES)


@pytest.fixture
def books(city):
    return {account.kind: account for account in Account.objects.filter(city=city)}


def balances(*accounts: Account) -> list[Decimal]:
    return [Account.objects.get(pk=account.pk).balance for account in accounts]


def legs_by_kind(transfer: Transfer) -> dict[str, Decimal]:
    legs: dict[str, Decimal] = {}
    for kind, amount in transfer.entries.values_list("account__kind", "amount"):
        legs[kind] = legs.get(kind, Decimal("0.00")) + amount
    return legs


def move(books, amount: str, *, key: str = "move-1", to=Account.Kind.EMPLOYEE_POOL, **kwargs):
    return transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key=key,
        memo="test movement",
        legs=[
            Leg(books[to].id, Decimal(amount)),
            Leg(books[Account.Kind.CONTRIBUTION_SOURCE].id, -Decimal(amount)),
        ],
        **kwargs,
    )


# --- transfer_post ---------------------------------------------------------------------------


def test_a_balanced_transfer_is_posted_with_its_legs(books, now):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    transfer = move(books, "123.45", key="adj-1")
    assert (transfer.kind, transfer.key, transfer.memo) == (
        Transfer.Kind.ADJUSTMENT,
        "adj-1",
        "test movement",
    )
    assert transfer.posted_at == now
    assert sorted(transfer.entries.values_list("account_id", "amount")) == sorted(
        [(pool.id, Decimal("123.45")), (source.id, Decimal("-123.45"))]
    )
    assert balances(pool, source) == [Decimal("123.45"), Decimal("-123.45")]


def test_a_transfer_may_have_more_than_two_legs(books):
    pool, clearing, source = (
        books[Account.Kind.EMPLOYEE_POOL],
        books[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
        books[Account.Kind.CONTRIBUTION_SOURCE],
    )
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="three-legs",
        memo="split",
        legs=[
            Leg(pool.id, Decimal("60.00")),
            Leg(clearing.id, Decimal("40.00")),
            Leg(source.id, Decimal("-100.00")),
        ],
    )
    assert balances(pool, clearing, source) == [
        Decimal("60.00"),
        Decimal("40.00"),
        Decimal("-100.00"),
    ]


@pytest.mark.parametrize(
    "amounts",
    [
        ["10.00", "-9.99"],
        ["10.00"],
        [],
        ["10.00", "10.00"],
    ],
)
def test_unbalanced_transfers_are_refused_and_nothing_is_posted(books, amounts):
    accounts = [books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]]
    legs = [
        Leg(account.id, Decimal(amount)) for account, amount in zip(accounts, amounts, strict=False)
    ]
    with refused(LedgerErrorCode.TRANSFER_UNBALANCED):
        transfer_post(kind=Transfer.Kind.ADJUSTMENT, key="bad", memo="bad", legs=legs)
    assert not Transfer.objects.exists()


def test_replaying_a_key_with_the_same_legs_returns_the_first_transfer(books):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    first = move(books, "50.00", key="same")
    again = transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="same",
        memo="a retry",
        # The same legs, in another order and another spelling of the amounts.
        legs=[Leg(source.id, Decimal("-50")), Leg(pool.id, Decimal("50.0"))],
    )
    assert again.pk == first.pk
    assert Transfer.objects.count() == 1
    assert Entry.objects.count() == 2
    assert balances(pool, source) == [Decimal("50.00"), Decimal("-50.00")]


@pytest.mark.parametrize(
    "legs",
    [
        pytest.param(lambda b: [(Account.Kind.EMPLOYEE_POOL, "50.01")], id="other-amount"),
        pytest.param(lambda b: [(Account.Kind.RESIDENT_POOL, "50.00")], id="other-account"),
        pytest.param(
            lambda b: [
                (Account.Kind.EMPLOYEE_POOL, "25.00"),
                (Account.Kind.EMPLOYEE_POOL, "25.00"),
            ],
            id="split-legs",
        ),
    ],
)
def test_replaying_a_key_with_different_legs_is_refused(books, legs):
    move(books, "50.00", key="same")
    source = books[Account.Kind.CONTRIBUTION_SOURCE]
    credits = [Leg(books[kind].id, Decimal(amount)) for kind, amount in legs(books)]
    total = sum(leg.amount for leg in credits)
    with refused(LedgerErrorCode.TRANSFER_KEY_CONFLICT):
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key="same",
            memo="changed",
            legs=[*credits, Leg(source.id, -total)],
        )
    assert Transfer.objects.count() == 1
    assert balances(source) == [Decimal("-50.00")]


def test_insufficient_funds_are_refused_and_nothing_is_posted(city, books):
    person = PersonFactory(city=city)
    personal, pool = person.personal_account, books[Account.Kind.EMPLOYEE_POOL]
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="fund",
        memo="fund",
        legs=[Leg(personal.id, Decimal("30.00")), Leg(pool.id, Decimal("-30.00"))],
    )
    with refused(LedgerErrorCode.INSUFFICIENT_FUNDS):
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key="overdraw",
            memo="overdraw",
            legs=[Leg(personal.id, Decimal("-30.01")), Leg(pool.id, Decimal("30.01"))],
        )
    assert not Transfer.objects.filter(key="overdraw").exists()
    assert balances(personal, pool) == [Decimal("30.00"), Decimal("-30.00")]
    # Exactly what it holds can be spent.
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="spend-all",
        memo="spend",
        legs=[Leg(personal.id, Decimal("-30.00")), Leg(pool.id, Decimal("30.00"))],
    )
    assert balances(personal) == [Decimal("0.00")]


def test_funds_are_judged_on_the_net_of_an_accounts_legs(city, books):
    personal = PersonFactory(city=city).personal_account
    pool = books[Account.Kind.EMPLOYEE_POOL]
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="net",
        memo="in and out",
        legs=[
            Leg(personal.id, Decimal("20.00")),
            Leg(personal.id, Decimal("-15.00")),
            Leg(pool.id, Decimal("-5.00")),
        ],
    )
    assert balances(personal) == [Decimal("5.00")]
    with refused(LedgerErrorCode.INSUFFICIENT_FUNDS):
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key="net-short",
            memo="out and in",
            legs=[
                Leg(personal.id, Decimal("-10.00")),
                Leg(personal.id, Decimal("4.99")),
                Leg(pool.id, Decimal("5.01")),
            ],
        )


def test_clearing_cannot_be_overdrawn_but_pools_can(books):
    clearing, pool = (
        books[Account.Kind.PERSONAL_ACCOUNT_CLEARING],
        books[Account.Kind.EMPLOYEE_POOL],
    )
    with refused(LedgerErrorCode.INSUFFICIENT_FUNDS):
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key="clearing-out",
            memo="out",
            legs=[Leg(clearing.id, Decimal("-1.00")), Leg(pool.id, Decimal("1.00"))],
        )
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="pool-out",
        memo="out",
        legs=[Leg(pool.id, Decimal("-1.00")), Leg(clearing.id, Decimal("1.00"))],
    )
    assert balances(pool, clearing) == [Decimal("-1.00"), Decimal("1.00")]


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("0"),
        Decimal("0.00"),
        Decimal("-0.00"),
        Decimal("10.005"),
        Decimal("0.001"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        10.5,
        10,
        "10.00",
    ],
    ids=repr,
)
def test_invalid_amounts_are_refused(books, amount):
    pool, source = books[Account.Kind.EMPLOYEE_POOL], books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused(LedgerErrorCode.TRANSFER_INVALID_AMOUNT):
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key="invalid",
            memo="invalid",
            legs=[Leg(pool.id, amount), Leg(source.id, Decimal("-10.00"))],
        )
    assert not Transfer.objects.exists()


def test_amounts_up_to_the_ledgers_columns_and_no_further(books):
    with refused(LedgerErrorCode.TRANSFER_INVALID_AMOUNT):
        move(books, "1000000000000.00", key="too-large")
    assert not Transfer.objects.exists()
    move(books, "999999999999.99", key="largest")
    assert balances(books[Account.Kind.EMPLOYEE_POOL]) == [Decimal("999999999999.99")]


def test_an_unknown_account_is_refused(books):
    with refused(LedgerErrorCode.ACCOUNT_NOT_FOUND):
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key="nowhere",
            memo="nowhere",
            legs=[
                Leg(books[Account.Kind.CONTRIBUTION_SOURCE].id, Decimal("-1.00")),
                Leg(10**9, Decimal("1.00")),
            ],
        )
    assert not Transfer.objects.exists()


def test_the_posting_time_can_be_given(books):
    when = at(date(2026, 1, 5), 9, 30)
    assert move(books, "1.00", key="back-dated", posted_at=when).posted_at == when


# --- transfer_rows: a flow's own posting, written in one statement with its rows -------------


def _post_fresh(key: str, legs: list[Leg], *, locked=None):
    """Post as a flow does: the legs' accounts found and locked with the transfer's id reserved,
    its rows checked and written in one statement of the flow's atomic block (a savepoint
    here)."""
    with transaction.atomic():
        held = accounts_find_and_lock(
            Q(id__in=[leg.account_id for leg in legs]), reserve=[(Transfer, 1)]
        )
        transfer, entries = transfer_rows(
            transfer_id=held.reserved_ids[0][0],
            kind=Transfer.Kind.ADJUSTMENT,
            key=key,
            memo="fresh",
            legs=legs,
            locked=held.locked if locked is None else locked,
            posted_at=at(TODAY, 10),
        )
        try:
            writes_execute([rows_insert([transfer]), rows_insert(entries)])
        except IntegrityError as exc:
            raise ledger_refusal(exc, key=key) from exc
        return transfer


def test_a_fresh_transfer_is_posted_against_the_accounts_locked(city, books):
    person = PersonFactory(city=city)
    personal, pool = person.personal_account, books[Account.Kind.EMPLOYEE_POOL]
    transfer = _post_fresh("fresh-1", [Leg(personal.id, D("12.34")), Leg(pool.id, D("-12.34"))])
    stored = Transfer.objects.get(key="fresh-1")
    assert (stored.pk, stored.posted_at) == (transfer.pk, at(TODAY, 10))
    assert sorted(stored.entries.values_list("account_id", "amount")) == sorted(
        [(personal.id, D("12.34")), (pool.id, D("-12.34"))]
    )
    assert balances(personal, pool) == [D("12.34"), D("-12.34")]


def test_accounts_are_found_in_one_statement_the_striped_ones_unlocked(city, books):
    person = PersonFactory(city=city)
    personal, pool = person.personal_account, books[Account.Kind.EMPLOYEE_POOL]
    _post_fresh("fund-1", [Leg(personal.id, D("7.00")), Leg(pool.id, D("-7.00"))])
    assert Account.objects.get(pk=pool.pk).stripes > 1  # a city's accounts are striped
    newest = Transfer.objects.order_by("-id").values_list("id", flat=True).first()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        held = accounts_find_and_lock(Q(id__in=[personal.id, pool.id]), reserve=[(Transfer, 2)])
    assert len(captured) == 1
    assert set(held.found) == {personal.id, pool.id}
    # The pool is striped: a posting writes a stripe, never its row, so its row is not locked.
    assert set(held.locked) == {personal.id}
    assert held.locked[personal.id].balance == D("7.00")
    first, second = held.reserved_ids[0]
    assert newest < first < second


def test_a_fresh_key_already_taken_is_a_key_conflict_and_the_flow_rolls_back(city, books):
    person = PersonFactory(city=city)
    personal, pool = person.personal_account, books[Account.Kind.EMPLOYEE_POOL]
    legs = [Leg(personal.id, D("5.00")), Leg(pool.id, D("-5.00"))]
    _post_fresh("taken", legs)
    with refused(LedgerErrorCode.TRANSFER_KEY_CONFLICT):
        _post_fresh("taken", legs)
    assert Transfer.objects.filter(key="taken").count() == 1
    assert balances(personal) == [D("5.00")]


def test_a_fresh_overdraft_is_refused_by_the_locked_balance_or_else_by_the_database(city, books):
    person = PersonFactory(city=city)
    personal, pool = person.personal_account, books[Account.Kind.EMPLOYEE_POOL]
    _post_fresh("fund", [Leg(personal.id, D("30.00")), Leg(pool.id, D("-30.00"))])
    overdraw = [Leg(personal.id, D("-30.01")), Leg(pool.id, D("30.01"))]
    with refused(LedgerErrorCode.INSUFFICIENT_FUNDS) as caught:
        _post_fresh("overdraw", overdraw)
    assert "30.00" in caught.value.detail  # judged on the locked row, in Python
    # Even with nothing handed over as locked, the ledger's own rule refuses it.
    with refused(LedgerErrorCode.INSUFFICIENT_FUNDS):
        _post_fresh("overdraw", overdraw, locked={})
    assert not Transfer.objects.filter(key="overdraw").exists()
    assert balances(personal, pool) == [D("30.00"), D("-30.00")]


def test_a_fresh_transfer_to_an_unknown_account_is_refused(books):
    source = books[Account.Kind.CONTRIBUTION_SOURCE]
    with refused(LedgerErrorCode.ACCOUNT_NOT_FOUND):
        _post_fresh("nowhere", [Leg(source.id, D("-1.00")), Leg(10**9, D("1.00"))], locked={})
    assert not Transfer.objects.exists()


# --- Concurrency ------------------------------------------------------------------------------


def _in_thread(target, *args):
    """Run ``target`` in a thread with its own connection; return (thread, outcome list)."""
    outcome: list = []

    def run():
        try:
            outcome.append(target(*args))
        except Exception as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_concurrent_spending_never_overdraws_a_personal_account():
    set_clock(TODAY)
    city = CityFactory()
    personal = PersonFactory(city=city).personal_account
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key="fund",
        memo="fund",
        legs=[Leg(personal.id, Decimal("100.00")), Leg(pool.id, Decimal("-100.00"))],
    )
    start = threading.Barrier(8)

    def spend(index: int):
        start.wait(timeout=10)
        return transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key=f"spend-{index}",
            memo="spend",
            legs=[Leg(personal.id, Decimal("-30.00")), Leg(pool.id, Decimal("30.00"))],
        )

    runs = [_in_thread(spend, index) for index in range(8)]
    for thread, _ in runs:
        thread.join(timeout=30)
    outcomes = [outcome[0] for _, outcome in runs]
    posted = [o for o in outcomes if isinstance(o, Transfer)]
    refusals = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(posted) == 3
    assert len(refusals) == 5
    assert {r.code for r in refusals} == {LedgerErrorCode.INSUFFICIENT_FUNDS}
    assert Account.objects.get(pk=personal.pk).balance == Decimal("10.00")
    assert balances_disagreeing_with_entries() == []
    assert total_of_all_balances() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_key_post_once():
    set_clock(TODAY)
    city = CityFactory()
    books = {account.kind: account for account in Account.objects.filter(city=city)}
    start = threading.Barrier(6)

    def post(_):
        start.wait(timeout=10)
        return move(books, "75.00", key="shared-key")

    runs = [_in_thread(post, index) for index in range(6)]
    for thread, _ in runs:
        thread.join(timeout=30)
    outcomes = [outcome[0] for _, outcome in runs]
    assert all(isinstance(o, Transfer) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Transfer.objects.count() == 1
    assert Account.objects.get(pk=books[Account.Kind.EMPLOYEE_POOL].pk).balance == Decimal("75.00")


@pytest.mark.django_db(transaction=True)
def test_a_key_taken_concurrently_for_other_legs_is_a_key_conflict():
    set_clock(TODAY)
    city = CityFactory()
    books = {account.kind: account for account in Account.objects.filter(city=city)}
    posted, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            transfer = move(books, "10.00", key="contested")
            posted.set()
            release.wait(timeout=10)
        return transfer

    thread, outcome = _in_thread(first)
    assert posted.wait(timeout=10)
    # The second posting touches other accounts, so it is not held back by the first one's locks;
    # it waits on the key's unique index until the first commits.
    timer = threading.Timer(0.5, release.set)
    timer.start()
    try:
        with refused(LedgerErrorCode.TRANSFER_KEY_CONFLICT):
            transfer_post(
                kind=Transfer.Kind.ADJUSTMENT,
                key="contested",
                memo="other legs",
                legs=[
                    Leg(books[Account.Kind.RESIDENT_POOL].id, Decimal("20.00")),
                    Leg(books[Account.Kind.OUTPATIENT_POOL].id, Decimal("-20.00")),
                ],
            )
    finally:
        release.set()
        thread.join(timeout=10)
        timer.cancel()
    assert isinstance(outcome[0], Transfer)
    assert Transfer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_records_of_one_contribution_record_it_once():
    set_clock(TODAY)
    person = PersonFactory(city=CityFactory(**FIGURES), enrolled_on=date(2026, 2, 1))
    recorded, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            contribution = contribution_record(person=person, period=date(2026, 2, 1))
            recorded.set()
            release.wait(timeout=10)
        return contribution

    thread, outcome = _in_thread(first)
    assert recorded.wait(timeout=10)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    try:
        second = contribution_record(person=person, period=date(2026, 2, 1))
    finally:
        release.set()
        thread.join(timeout=10)
        timer.cancel()
    assert second.pk == outcome[0].pk
    assert Contribution.objects.count() == 1


# --- contribution_record: employees ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("wage", "base", "employer", "individual"),
    [
        # Below the city's lowest base: clamped up to 6,000.00.
        ("3000.00", "6000.00", "480.00", "120.00"),
        ("0.00", "6000.00", "480.00", "120.00"),
        # Within the bounds, with rounding half up to the cent.
        ("10000.25", "10000.25", "800.02", "200.01"),
        ("12345.67", "12345.67", "987.65", "246.91"),
        # Exactly on the bounds.
        ("6000.00", "6000.00", "480.00", "120.00"),
        ("30000.00", "30000.00", "2400.00", "600.00"),
        # Above the highest base: clamped down to 30,000.00.
        ("30000.01", "30000.00", "2400.00", "600.00"),
        ("95000.00", "30000.00", "2400.00", "600.00"),
    ],
)
def test_employee_contribution_on_the_clamped_base(city, books, wage, base, employer, individual):
    person = PersonFactory(city=city, declared_wage=Decimal(wage), enrolled_on=date(2026, 2, 1))
    contribution = contribution_record(person=person, period=date(2026, 2, 1))
    assert contribution.kind == Contribution.Kind.EMPLOYEE_MONTHLY
    assert contribution.payment_base == Decimal(base)
    assert contribution.employer_amount == Decimal(employer)
    assert contribution.individual_amount == Decimal(individual)
    assert contribution.subsidy_amount == 0
    # Since the 2021 reform the individual 2 % goes to the personal account, via the clearing.
    assert contribution.account_share == Decimal(individual)
    total = Decimal(employer) + Decimal(individual)
    assert legs_by_kind(contribution.transfer) == {
        Account.Kind.EMPLOYEE_POOL: Decimal(employer),
        Account.Kind.PERSONAL_ACCOUNT_CLEARING: Decimal(individual),
        Account.Kind.CONTRIBUTION_SOURCE: -total,
    }
    # Nothing reaches the personal account before crediting.
    assert balances(person.personal_account) == [Decimal("0.00")]


def test_an_explicit_base_overrides_the_declared_wage(city):
    person = PersonFactory(
        city=city, declared_wage=Decimal("10000.00"), enrolled_on=date(2026, 2, 1)
    )
    contribution = contribution_record(
        person=person, period=date(2026, 2, 1), payment_base=Decimal("20000.00")
    )
    assert (contribution.payment_base, contribution.employer_amount) == (
        Decimal("20000.00"),
        Decimal("1600.00"),
    )
    below = contribution_record(
        person=person, period=date(2026, 3, 1), payment_base=Decimal("100.00")
    )
    assert below.payment_base == Decimal("6000.00")


def test_each_city_uses_its_own_rates(now):
    other = CityFactory(
        payment_base_min=Decimal("4000.00"),
        payment_base_max=Decimal("20000.00"),
        employer_rate=Decimal("0.0700"),
        individual_rate=Decimal("0.0200"),
    )
    person = PersonFactory(
        city=other, declared_wage=Decimal("8000.00"), enrolled_on=date(2026, 2, 1)
    )
    contribution = contribution_record(person=person, period=date(2026, 2, 1))
    assert (contribution.employer_amount, contribution.individual_amount) == (
        Decimal("560.00"),
        Decimal("160.00"),
    )


def test_an_employee_without_a_base_is_refused(city):
    person = PersonFactory(city=city, declared_wage=None, enrolled_on=date(2026, 2, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(person=person, period=date(2026, 2, 1))
    assert not Contribution.objects.exists()


def test_retirees_do_not_contribute(city):
    retiree = RetireeFactory(city=city, enrolled_on=date(2026, 2, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(person=retiree, period=date(2026, 2, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(
            person=retiree, period=date(2026, 2, 1), payment_base=Decimal("9000.00")
        )
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("period", [date(2026, 2, 2), date(2026, 2, 28), date(2026, 1, 31)])
def test_employee_periods_are_first_days_of_months(city, period):
    person = PersonFactory(city=city, enrolled_on=date(2026, 1, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(person=person, period=period)
    assert not Transfer.objects.exists()


def test_employee_periods_start_with_the_month_of_enrolment(city):
    person = PersonFactory(city=city, enrolled_on=date(2026, 2, 15))
    with refused(LedgerErrorCode.CONTRIBUTION_BEFORE_ENROLMENT):
        contribution_record(person=person, period=date(2026, 1, 1))
    # The month of enrolment itself counts, even from its 15th.
    assert contribution_record(person=person, period=date(2026, 2, 1)).period == date(2026, 2, 1)


def test_employers_do_not_pay_months_that_have_not_begun(city):
    person = PersonFactory(city=city, enrolled_on=date(2026, 1, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(person=person, period=date(2026, 4, 1))  # the clock is in March
    assert not Transfer.objects.exists()
    assert contribution_record(person=person, period=date(2026, 3, 1)).period == date(2026, 3, 1)


def test_the_month_that_has_begun_is_the_callers_day_not_the_clocks(city):
    """The interface reads the clock once and passes its day; the rule reads no clock then."""
    person = PersonFactory(city=city, enrolled_on=date(2026, 1, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(person=person, period=date(2026, 3, 1), today=date(2026, 2, 28))
    assert not Transfer.objects.exists()
    april = contribution_record(person=person, period=date(2026, 4, 1), today=date(2026, 4, 1))
    assert april.period == date(2026, 4, 1)  # the clock is still in March


# --- contribution_record: residents ------------------------------------------------------------


def test_resident_yearly_contribution_with_the_government_subsidy(city, books):
    resident = ResidentFactory(city=city, enrolled_on=date(2026, 1, 10))
    contribution = contribution_record(person=resident, period=date(2026, 1, 1))
    assert contribution.kind == Contribution.Kind.RESIDENT_YEARLY
    assert contribution.payment_base is None
    assert (
        contribution.employer_amount,
        contribution.individual_amount,
        contribution.subsidy_amount,
        contribution.account_share,
    ) == (Decimal("0.00"), Decimal("400.00"), Decimal("700.00"), Decimal("0.00"))
    # 20 % of the 1,100.00 funds outpatient pooling, the rest the resident pool.
    assert legs_by_kind(contribution.transfer) == {
        Account.Kind.OUTPATIENT_POOL: Decimal("220.00"),
        Account.Kind.RESIDENT_POOL: Decimal("880.00"),
        Account.Kind.CONTRIBUTION_SOURCE: Decimal("-1100.00"),
    }


@pytest.mark.parametrize(
    ("category", "born"),
    [
        (InsuredPerson.SubsidyCategory.MINIMUM_LIVING, date(1985, 3, 1)),
        (InsuredPerson.SubsidyCategory.DISABLED, date(1985, 3, 1)),
        (InsuredPerson.SubsidyCategory.LOW_INCOME_ELDERLY, date(1950, 3, 1)),
        (InsuredPerson.SubsidyCategory.LOW_INCOME_MINOR, date(2015, 3, 1)),
    ],
)
def test_subsidised_residents_pay_less_and_the_government_the_rest(city, category, born):
    resident = ResidentFactory(
        city=city,
        resident_id=make_resident_id("110105", born, 7),
        subsidy_category=category,
        enrolled_on=date(2026, 1, 1),
    )
    contribution = contribution_record(person=resident, period=date(2026, 1, 1))
    assert contribution.individual_amount == Decimal("100.00")
    assert contribution.subsidy_amount == Decimal("1000.00")
    assert contribution.total == Decimal("1100.00")
    assert legs_by_kind(contribution.transfer)[Account.Kind.CONTRIBUTION_SOURCE] == Decimal(
        "-1100.00"
    )


def test_a_subsidised_amount_above_the_standard_is_capped_at_the_standard(now):
    city = CityFactory(
        resident_individual_contribution=Decimal("400.00"),
        subsidized_individual_contribution=Decimal("500.00"),
    )
    resident = ResidentFactory(
        city=city,
        subsidy_category=InsuredPerson.SubsidyCategory.DISABLED,
        enrolled_on=date(2026, 1, 1),
    )
    contribution = contribution_record(person=resident, period=date(2026, 1, 1))
    assert contribution.individual_amount == Decimal("400.00")
    assert contribution.subsidy_amount == city.resident_government_subsidy


@pytest.mark.parametrize("period", [date(2026, 2, 1), date(2026, 1, 2), date(2026, 12, 1)])
def test_resident_periods_are_the_first_of_january(city, period):
    resident = ResidentFactory(city=city, enrolled_on=date(2026, 1, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_PERIOD_INVALID):
        contribution_record(person=resident, period=period)


def test_resident_years_start_with_the_year_of_enrolment(city):
    resident = ResidentFactory(city=city, enrolled_on=date(2026, 3, 1))
    with refused(LedgerErrorCode.CONTRIBUTION_BEFORE_ENROLMENT):
        contribution_record(person=resident, period=date(2025, 1, 1))
    assert contribution_record(person=resident, period=date(2026, 1, 1)).period == date(2026, 1, 1)


def test_residents_without_personal_accounts_still_contribute(now):
    city = CityFactory(abolished=True)
    resident = ResidentFactory(city=city, enrolled_on=date(2026, 1, 1))
    assert not Account.objects.filter(person=resident).exists()
    contribution = contribution_record(person=resident, period=date(2026, 1, 1))
    assert contribution.account_share == 0
    assert total_of_all_balances() == 0


# --- contribution_record: once per person and period --------------------------------------------


def test_replaying_a_contribution_records_and_moves_it_once(city, books):
    person = PersonFactory(city=city, enrolled_on=date(2026, 2, 1))
    first = contribution_record(person=person, period=date(2026, 2, 1))
    snapshot = balances(*books.values())
    again = contribution_record(person=person, period=date(2026, 2, 1))
    same_base = contribution_record(
        person=person, period=date(2026, 2, 1), payment_base=first.payment_base
    )
    assert again.pk == first.pk == same_base.pk
    assert Contribution.objects.count() == 1
    assert Transfer.objects.count() == 1
    assert balances(*books.values()) == snapshot


def test_a_second_different_contribution_for_a_period_is_refused(city, books):
    person = PersonFactory(city=city, enrolled_on=date(2026, 2, 1))
    contribution_record(person=person, period=date(2026, 2, 1))
    snapshot = balances(*books.values())
    with refused(LedgerErrorCode.CONTRIBUTION_ALREADY_RECORDED):
        contribution_record(
            person=person, period=date(2026, 2, 1), payment_base=Decimal("25000.00")
        )
    assert Contribution.objects.count() == 1
    assert balances(*books.values()) == snapshot


def test_a_resident_replay_records_once(city):
    resident = ResidentFactory(city=city, enrolled_on=date(2026, 1, 1))
    first = contribution_record(person=resident, period=date(2026, 1, 1))
    assert contribution_record(person=resident, period=date(2026, 1, 1)).pk == first.pk
    assert Transfer.objects.count() == 1


def test_contributions_are_received_at_the_business_time(city, now):
    person = PersonFactory(city=city, enrolled_on=date(2026, 2, 1))
    contribution = contribution_record(person=person, period=date(2026, 2, 1))
    assert contribution.received_at == now == contribution.transfer.posted_at
    later = set_clock(date(2026, 4, 2))
    assert contribution_record(person=person, period=date(2026, 3, 1)).received_at == later


def test_many_months_keep_the_books_balanced(city, books):
    person = PersonFactory(
        city=city, declared_wage=Decimal("10000.25"), enrolled_on=date(2025, 1, 1)
    )
    for month in range(1, 13):
        contribution_record(person=person, period=date(2025, month, 1))
    assert balances(books[Account.Kind.PERSONAL_ACCOUNT_CLEARING]) == [
        Decimal("12") * Decimal("200.01")
    ]
    assert balances(books[Account.Kind.EMPLOYEE_POOL]) == [Decimal("12") * Decimal("800.02")]
    assert total_of_all_balances() == 0
    assert balances_disagreeing_with_entries() == []
