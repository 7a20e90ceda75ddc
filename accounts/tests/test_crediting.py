"""Monthly crediting ("fund transfer") into personal accounts, set-based and in chunks, and the
monthly contribution collection that feeds it."""

import math
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from accounts.crediting import (
    contribution_collection_execute,
    contribution_collection_open,
    crediting_credit_account,
    crediting_run_execute,
    crediting_run_open,
)
from accounts.error_codes import LedgerErrorCode
from accounts.models import Account, Contribution, Crediting, CreditingRun, Transfer
from accounts.services import contribution_record
from accounts.tests.support import (
    balances_disagreeing_with_entries,
    refused,
    set_clock,
    total_of_all_balances,
    unbalanced_transfers,
)
from cities.tests.factories import CityFactory
from common.models import JobStatus
from persons.models import InsuredPerson
from persons.tests.factories import PersonFactory, ResidentFactory, RetireeFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
FEB, JAN, MAR = date(2026, 2, 1), date(2026, 1, 1), date(2026, 3, 1)
ZERO = Decimal("0.00")

FIGURES = {
    "payment_base_min": Decimal("6000.00"),
    "payment_base_max": Decimal("30000.00"),
    "individual_rate": Decimal("0.0200"),
    "retiree_monthly_credit": Decimal("85.00"),
    "resident_monthly_account_credit": Decimal("10.00"),
}


@dataclass
class Population:
    city: object
    employees: list[InsuredPerson]  # each with February's contribution
    catching_up: InsuredPerson  # January and February contributions, neither credited yet
    retirees: list[InsuredPerson]
    late_retiree: InsuredPerson  # enrolled after February
    paid_resident: InsuredPerson
    unpaid_resident: InsuredPerson
    new_enrolee: InsuredPerson  # enrolled in February, no contribution yet

    def expected_february(self) -> dict[int, list[tuple[date, Decimal]]]:
        """What a February run owes each personal account, from the contributions and the city's
        figures (not from what the run did)."""
        expected: dict[int, list[tuple[date, Decimal]]] = {}
        for person in [*self.employees, self.catching_up]:
            expected[person.id] = sorted(
                (c.period, c.account_share)
                for c in Contribution.objects.filter(person=person, period__lte=FEB)
            )
        for person in self.retirees:
            expected[person.id] = [(FEB, self.city.retiree_monthly_credit)]
        expected[self.paid_resident.id] = [(FEB, self.city.resident_monthly_account_credit)]
        for person in (self.late_retiree, self.unpaid_resident, self.new_enrolee):
            expected[person.id] = []
        return expected


def populate(city) -> Population:
    enrolled = date(2025, 12, 1)
    employees = [
        PersonFactory(city=city, declared_wage=Decimal(wage), enrolled_on=enrolled)
        for wage in ("8000.00", "10000.00", "12000.00", "3000.00")
    ]
    for person in employees:
        contribution_record(person=person, period=FEB)
    catching_up = PersonFactory(city=city, declared_wage=Decimal("9000.00"), enrolled_on=enrolled)
    contribution_record(person=catching_up, period=JAN)
    contribution_record(person=catching_up, period=FEB)
    retirees = [RetireeFactory(city=city, enrolled_on=enrolled) for _ in range(2)]
    late_retiree = RetireeFactory(city=city, enrolled_on=date(2026, 3, 1))
    paid_resident = ResidentFactory(city=city, enrolled_on=enrolled)
    contribution_record(person=paid_resident, period=JAN)
    unpaid_resident = ResidentFactory(city=city, enrolled_on=enrolled)
    new_enrolee = PersonFactory(city=city, enrolled_on=date(2026, 2, 20))
    return Population(
        city=city,
        employees=employees,
        catching_up=catching_up,
        retirees=retirees,
        late_retiree=late_retiree,
        paid_resident=paid_resident,
        unpaid_resident=unpaid_resident,
        new_enrolee=new_enrolee,
    )


def credited(city) -> dict[int, list[tuple[date, Decimal]]]:
    """Every crediting of the city's personal accounts, by person."""
    result: dict[int, list[tuple[date, Decimal]]] = {
        person_id: []
        for person_id in Account.objects.filter(city=city, kind=Account.Kind.PERSONAL).values_list(
            "person_id", flat=True
        )
    }
    for person_id, period, amount in Crediting.objects.filter(account__city=city).values_list(
        "account__person_id", "period", "amount"
    ):
        result[person_id].append((period, amount))
    return {person_id: sorted(credits) for person_id, credits in result.items()}


def balance(person) -> Decimal:
    return Account.objects.get(person=person).balance


def city_balance(city, kind) -> Decimal:
    return Account.objects.get(city=city, kind=kind).balance


@pytest.fixture
def city():
    set_clock(TODAY)
    return CityFactory(**FIGURES)


@pytest.fixture
def population(city) -> Population:
    return populate(city)


def run_february(city, **kwargs):
    run, _ = crediting_run_open(city=city, period=FEB)
    return run, crediting_run_execute(run_id=run.id, **kwargs)


# --- Who is credited ------------------------------------------------------------------------


def test_a_run_credits_each_kind_of_person_what_it_is_owed(population):
    run_february(population.city)
    assert credited(population.city) == population.expected_february()


def test_amounts_reach_the_personal_accounts(population):
    run_february(population.city)
    # Hand-worked: 2 % of the wage (the 3,000.00 wage is clamped up to the 6,000.00 base).
    assert [balance(p) for p in population.employees] == [
        Decimal("160.00"),
        Decimal("200.00"),
        Decimal("240.00"),
        Decimal("120.00"),
    ]
    assert balance(population.catching_up) == Decimal("360.00")
    assert [balance(p) for p in population.retirees] == [Decimal("85.00")] * 2
    assert balance(population.paid_resident) == Decimal("10.00")
    for person in (population.late_retiree, population.unpaid_resident, population.new_enrolee):
        assert balance(person) == ZERO


def test_the_money_comes_from_the_clearing_and_the_pools(population):
    city = population.city
    clearing_before = city_balance(city, Account.Kind.PERSONAL_ACCOUNT_CLEARING)
    employee_pool_before = city_balance(city, Account.Kind.EMPLOYEE_POOL)
    resident_pool_before = city_balance(city, Account.Kind.RESIDENT_POOL)
    run_february(city)
    shares = sum(
        Contribution.objects.filter(
            person__in=[*population.employees, population.catching_up]
        ).values_list("account_share", flat=True)
    )
    assert city_balance(city, Account.Kind.PERSONAL_ACCOUNT_CLEARING) == clearing_before - shares
    # Everything the contributions put in the clearing for these months has left it.
    assert city_balance(city, Account.Kind.PERSONAL_ACCOUNT_CLEARING) == ZERO
    assert city_balance(city, Account.Kind.EMPLOYEE_POOL) == employee_pool_before - 2 * Decimal(
        "85.00"
    )
    assert city_balance(city, Account.Kind.RESIDENT_POOL) == resident_pool_before - Decimal("10.00")
    assert balances_disagreeing_with_entries() == []
    assert unbalanced_transfers() == []
    assert total_of_all_balances() == 0


def test_the_run_records_its_outcome(population):
    run, outcome = run_february(population.city)
    run.refresh_from_db()
    expected = population.expected_february()
    owed = [amount for credits in expected.values() for _, amount in credits]
    personal_accounts = Account.objects.filter(
        city=population.city, kind=Account.Kind.PERSONAL
    ).count()
    assert run.status == JobStatus.SUCCEEDED == outcome.status
    assert (run.credited_count, run.credited_amount) == (len(owed), sum(owed))
    assert run.items_total == run.items_done == personal_accounts
    assert run.progress_percent == 100
    assert run.finished_at is not None
    assert outcome.totals == {"credited_count": len(owed), "credited_amount": sum(owed)}


def test_a_new_enrolee_is_credited_only_after_the_first_contribution(population):
    city, newcomer = population.city, population.new_enrolee
    run, _ = run_february(city)
    assert credited(city)[newcomer.id] == []
    assert balance(newcomer) == ZERO

    contribution = contribution_record(person=newcomer, period=FEB)
    crediting_run_execute(run_id=run.id)
    assert credited(city)[newcomer.id] == [(FEB, contribution.account_share)]
    assert balance(newcomer) == contribution.account_share


def test_retirees_enrolled_after_the_month_wait_for_their_first_month(population):
    city = population.city
    run_february(city)
    assert credited(city)[population.late_retiree.id] == []
    march, _ = crediting_run_open(city=city, period=MAR)
    crediting_run_execute(run_id=march.id)
    assert credited(city)[population.late_retiree.id] == [(MAR, Decimal("85.00"))]


def test_residents_are_credited_only_while_their_accounts_exist():
    set_clock(TODAY)
    city = CityFactory(resident_accounts_abolished_on=FEB, **FIGURES)
    resident = ResidentFactory(city=city, enrolled_on=date(2025, 6, 1))
    contribution_record(person=resident, period=JAN)
    for period in (JAN, FEB):
        run, _ = crediting_run_open(city=city, period=period)
        crediting_run_execute(run_id=run.id)
    assert credited(city)[resident.id] == [(JAN, Decimal("10.00"))]
    # Residents enrolled after the abolition have no account at all.
    newcomer = ResidentFactory(city=city, enrolled_on=date(2026, 3, 2))
    assert not Account.objects.filter(person=newcomer).exists()


def test_only_the_citys_own_accounts_are_credited(population):
    other = CityFactory(**FIGURES)
    outsider = PersonFactory(city=other, enrolled_on=date(2025, 12, 1))
    contribution_record(person=outsider, period=FEB)
    run_february(population.city)
    assert not Crediting.objects.filter(account__city=other).exists()
    assert balance(outsider) == ZERO


def test_retiring_in_a_month_already_contributed_for_does_not_stop_the_run(city):
    colleague = PersonFactory(city=city, enrolled_on=date(2025, 12, 1))
    contribution_record(person=colleague, period=FEB)
    retiring = PersonFactory(city=city, enrolled_on=date(2025, 12, 1))
    contribution_record(person=retiring, period=FEB)
    # Retirement is recorded by an operator (there is no service for it yet), as in the admin.
    InsuredPerson.objects.filter(pk=retiring.pk).update(
        employment_status=InsuredPerson.EmploymentStatus.RETIRED, declared_wage=None
    )
    _, outcome = run_february(city)
    assert outcome.status == JobStatus.SUCCEEDED
    assert len(credited(city)[retiring.id]) == 1
    assert credited(city)[colleague.id] == [(FEB, Decimal("200.00"))]


# --- Exactly once ----------------------------------------------------------------------------


def test_running_twice_posts_once(population):
    city = population.city
    run, _ = run_february(city)
    after_first = credited(city)
    transfers = Transfer.objects.count()
    balances = list(
        Account.objects.with_balance_total().order_by("id").values_list("balance_total", flat=True)
    )

    again, created = crediting_run_open(city=city, period=FEB)
    assert (again.pk, created) == (run.pk, False)
    outcome = crediting_run_execute(run_id=run.id)
    assert outcome.totals.get("credited_count", 0) == 0
    assert credited(city) == after_first
    assert Transfer.objects.count() == transfers
    assert (
        list(
            Account.objects.with_balance_total()
            .order_by("id")
            .values_list("balance_total", flat=True)
        )
        == balances
    )
    run.refresh_from_db()
    assert run.executions == 2
    assert run.credited_count == sum(len(c) for c in after_first.values())


def test_a_later_month_does_not_credit_an_earlier_month_again(population):
    city = population.city
    run_february(city)
    march, _ = crediting_run_open(city=city, period=MAR)
    crediting_run_execute(run_id=march.id)
    for person in [*population.employees, population.catching_up]:
        periods = [period for period, _ in credited(city)[person.id]]
        assert len(periods) == len(set(periods))
        assert MAR not in periods  # no March contribution yet


def test_a_month_not_begun_cannot_be_run(city):
    with refused(LedgerErrorCode.CREDITING_PERIOD_NOT_DUE):
        crediting_run_open(city=city, period=date(2026, 4, 1))
    assert not CreditingRun.objects.exists()
    # The current month can (crediting days vary by city); any day of it names the month.
    run, created = crediting_run_open(city=city, period=date(2026, 3, 16))
    assert (run.period, created) == (MAR, True)


def test_the_sandbox_fast_forward_credits_one_account_once(population):
    city = population.city
    run, _ = crediting_run_open(city=city, period=FEB)
    target = population.employees[0]
    assert crediting_credit_account(run=run, account=target.personal_account) == 1
    assert crediting_credit_account(run=run, account=target.personal_account) == 0
    assert sum(len(c) for c in credited(city).values()) == 1
    crediting_run_execute(run_id=run.id)
    assert credited(city) == population.expected_february()


# --- Chunks, failures and resumption ---------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 10_000])
def test_chunk_sizes_give_the_same_result(population, chunk_size):
    city = population.city
    accounts = Account.objects.filter(city=city, kind=Account.Kind.PERSONAL).count()
    _, outcome = run_february(city, chunk_size=chunk_size)
    assert credited(city) == population.expected_february()
    assert outcome.chunks == math.ceil(accounts / chunk_size)
    assert outcome.items_done == accounts
    # One balanced transfer per chunk that had anything to credit.
    crediting_transfers = Transfer.objects.filter(kind=Transfer.Kind.CREDITING)
    assert 1 <= crediting_transfers.count() <= outcome.chunks
    assert unbalanced_transfers() == []
    assert total_of_all_balances() == 0


class Interrupted(Exception):
    pass


def test_a_failed_run_resumes_where_it_stopped_and_completes(population):
    city = population.city
    run, _ = crediting_run_open(city=city, period=FEB)

    def stop_after_first_chunk(count):
        raise Interrupted("worker lost")

    with pytest.raises(Interrupted):
        crediting_run_execute(run_id=run.id, chunk_size=3, progress=stop_after_first_chunk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "worker lost" in run.error
    assert run.items_done == 3
    first_chunk = list(
        Account.objects.filter(city=city, kind=Account.Kind.PERSONAL)
        .order_by("id")
        .values_list("id", flat=True)[:3]
    )
    assert run.cursor == first_chunk[-1]
    assert set(Crediting.objects.values_list("account_id", flat=True)) <= set(first_chunk)
    done_before = Crediting.objects.count()

    outcome = crediting_run_execute(run_id=run.id, chunk_size=3)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert run.error == ""
    assert run.executions == 2
    # It went on from the cursor rather than starting over.
    total = Account.objects.filter(city=city, kind=Account.Kind.PERSONAL).count()
    assert outcome.items_done == total - 3
    assert run.items_done == total
    assert credited(city) == population.expected_february()
    assert run.credited_count == Crediting.objects.count() > done_before


# --- Concurrent executions -------------------------------------------------------------------


def _threads(target, count: int) -> list:
    outcomes: list = []

    def run():
        try:
            outcomes.append(target())
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_executions_at_the_same_time_post_once():
    set_clock(TODAY)
    population = populate(CityFactory(**FIGURES))
    run, _ = crediting_run_open(city=population.city, period=FEB)
    start = threading.Barrier(2)

    def execute():
        start.wait(timeout=10)
        return crediting_run_execute(run_id=run.id, chunk_size=2)

    outcomes = _threads(execute, 2)
    assert [o.status for o in outcomes] == [JobStatus.SUCCEEDED] * 2, outcomes
    assert credited(population.city) == population.expected_february()
    assert balances_disagreeing_with_entries() == []
    assert total_of_all_balances() == 0
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert run.credited_count == Crediting.objects.count()


def _interleaved_executions(run_id: int) -> None:
    """Two executions of one run, the second starting after the first's first chunk, then both
    going on chunk by chunk at the same time."""
    first_chunk_done, second_started = threading.Event(), threading.Event()

    def first_progress(count):
        first_chunk_done.set()
        second_started.wait(timeout=10)

    def first():
        return crediting_run_execute(run_id=run_id, chunk_size=2, progress=first_progress)

    def second():
        assert first_chunk_done.wait(timeout=10)
        second_started.set()
        return crediting_run_execute(run_id=run_id, chunk_size=2)

    outcomes: list = []

    def call(target):
        try:
            outcomes.append(target())
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(target,)) for target in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [getattr(o, "status", o) for o in outcomes] == [JobStatus.SUCCEEDED] * 2


@pytest.mark.django_db(transaction=True)
def test_interleaved_executions_post_once():
    set_clock(TODAY)
    population = populate(CityFactory(**FIGURES))
    run, _ = crediting_run_open(city=population.city, period=FEB)
    _interleaved_executions(run.id)
    assert credited(population.city) == population.expected_february()
    run.refresh_from_db()
    assert run.credited_count == Crediting.objects.count()
    assert total_of_all_balances() == 0


@pytest.mark.django_db(transaction=True)
def test_interleaved_executions_record_true_progress():
    set_clock(TODAY)
    population = populate(CityFactory(**FIGURES))
    run, _ = crediting_run_open(city=population.city, period=FEB)
    _interleaved_executions(run.id)
    run.refresh_from_db()
    assert run.items_done == run.items_total


# --- Contribution collection (the monthly job that feeds crediting) ----------------------------


def test_collection_records_each_active_employees_contribution_once(city):
    enrolled = date(2025, 12, 1)
    employees = [
        PersonFactory(city=city, declared_wage=Decimal(wage), enrolled_on=enrolled)
        for wage in ("3000.00", "10000.25", "45000.00")
    ]
    already = PersonFactory(city=city, declared_wage=Decimal("9000.00"), enrolled_on=enrolled)
    recorded = contribution_record(person=already, period=FEB, payment_base=Decimal("7000.00"))
    no_wage = PersonFactory(city=city, declared_wage=None, enrolled_on=enrolled)
    late = PersonFactory(city=city, enrolled_on=date(2026, 3, 1))
    retiree = RetireeFactory(city=city, enrolled_on=enrolled)
    resident = ResidentFactory(city=city, enrolled_on=enrolled)

    collection, _ = contribution_collection_open(city=city, period=FEB)
    contribution_collection_execute(collection_id=collection.id, chunk_size=2)
    contribution_collection_execute(collection_id=collection.id, chunk_size=2)

    collected = {c.person_id: c for c in Contribution.objects.filter(period=FEB)}
    assert set(collected) == {p.id for p in employees} | {already.id}
    assert collected[already.id].pk == recorded.pk
    for person in (no_wage, late, retiree, resident):
        assert person.id not in collected
    # The set-based figures are those of the per-person service (clamping, rounding half up).
    assert [
        (
            collected[p.id].payment_base,
            collected[p.id].employer_amount,
            collected[p.id].account_share,
        )
        for p in employees
    ] == [
        (Decimal("6000.00"), Decimal("450.00"), Decimal("120.00")),
        (Decimal("10000.25"), Decimal("750.02"), Decimal("200.01")),
        (Decimal("30000.00"), Decimal("2250.00"), Decimal("600.00")),
    ]
    assert unbalanced_transfers() == []
    assert total_of_all_balances() == 0
    assert city_balance(city, Account.Kind.PERSONAL_ACCOUNT_CLEARING) == sum(
        c.account_share for c in collected.values()
    )


def test_collection_then_crediting_fills_the_personal_accounts(city):
    people = [
        PersonFactory(city=city, declared_wage=Decimal(w), enrolled_on=date(2025, 12, 1))
        for w in ("8000.00", "12000.00")
    ]
    collection, _ = contribution_collection_open(city=city, period=FEB)
    contribution_collection_execute(collection_id=collection.id)
    run_february(city)
    assert [balance(p) for p in people] == [Decimal("160.00"), Decimal("240.00")]
    assert city_balance(city, Account.Kind.PERSONAL_ACCOUNT_CLEARING) == ZERO


def test_the_month_that_has_begun_is_the_callers_day_not_the_clocks(city):
    """The interface or the job reads the clock once and passes its day; the rule reads no clock
    then (the clock stands on 16 March)."""
    with refused(LedgerErrorCode.CREDITING_PERIOD_NOT_DUE):
        crediting_run_open(city=city, period=MAR, today=date(2026, 2, 28))
    with refused(LedgerErrorCode.CREDITING_PERIOD_NOT_DUE):
        contribution_collection_open(city=city, period=MAR, today=date(2026, 2, 28))
    april = date(2026, 4, 1)
    assert crediting_run_open(city=city, period=april, today=april)[0].period == april
    assert contribution_collection_open(city=city, period=april, today=april)[0].period == april


def test_a_month_not_begun_cannot_be_collected(city):
    with refused(LedgerErrorCode.CREDITING_PERIOD_NOT_DUE):
        contribution_collection_open(city=city, period=date(2026, 4, 1))
