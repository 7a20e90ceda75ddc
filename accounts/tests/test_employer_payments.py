"""An employer's monthly payment as the collection receives it: paid, unpaid (an arrear) or
underpaid; crediting on what was received; the arrears paid and credited exactly once."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.crediting import (
    contribution_collection_execute,
    contribution_collection_open,
    crediting_run_execute,
    crediting_run_open,
)
from accounts.employer_payments import (
    EmployerState,
    MonthStatus,
    employee_month_collect,
    employer_arrears_pay,
    employer_state,
    employers_with_state,
    person_payment_months,
)
from accounts.models import Account, Contribution, ContributionArrear, Crediting
from accounts.services import contribution_record
from accounts.tests.support import (
    balances_disagreeing_with_entries,
    refused,
    set_clock,
    total_of_all_balances,
    unbalanced_transfers,
)
from accounts.tests.test_crediting import _threads
from cities.tests.factories import CityFactory
from employers.error_codes import EmployerErrorCode
from employers.models import Employer
from employers.services import employer_employee_add, employer_payment_mode_set
from employers.tests.factories import EmployerFactory
from persons.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
FIGURES = {
    "payment_base_min": Decimal("6000.00"),
    "payment_base_max": Decimal("30000.00"),
    "employer_rate": Decimal("0.0800"),
    "individual_rate": Decimal("0.0200"),
}
WAGE = Decimal("10000.00")


def employee_of(employer, wage=WAGE):
    person = PersonFactory(city=employer.city, declared_wage=wage, enrolled_on=date(2025, 12, 1))
    employer_employee_add(employer=employer, person=person, started_on=date(2025, 12, 1))
    return person


def collect(city, period):
    collection, _ = contribution_collection_open(city=city, period=period, today=TODAY)
    contribution_collection_execute(collection_id=collection.id, chunk_size=2)
    collection.refresh_from_db()
    return collection


def credit(city, period):
    run, _ = crediting_run_open(city=city, period=period, today=TODAY)
    crediting_run_execute(run_id=run.id, chunk_size=2)
    return run


def balance(person) -> Decimal:
    return Account.objects.get(person=person).balance


def ledger_is_sound():
    assert unbalanced_transfers() == []
    assert balances_disagreeing_with_entries() == []
    assert total_of_all_balances() == 0


@pytest.fixture
def world():
    set_clock(TODAY)
    city = CityFactory(**FIGURES)
    paying = EmployerFactory(city=city, name="Paying Co.")
    stopped = EmployerFactory(city=city, name="Stopped Co.")
    under = EmployerFactory(city=city, name="Under Co.")
    employer_payment_mode_set(employer=stopped, mode=Employer.PaymentMode.NOT_PAYING)
    employer_payment_mode_set(
        employer=under, mode=Employer.PaymentMode.UNDERPAYING, paid_base_ratio=Decimal("0.50")
    )
    people = {
        "paying": employee_of(paying),
        "stopped": [employee_of(stopped), employee_of(stopped, Decimal("45000.00"))],
        "under": employee_of(under, Decimal("20000.00")),
        "no_employer": PersonFactory(city=city, declared_wage=WAGE, enrolled_on=date(2025, 12, 1)),
    }
    return city, {"paying": paying, "stopped": stopped, "under": under}, people


def test_the_collection_records_each_employee_month_by_the_employers_payment(world):
    city, employers, people = world
    first = collect(city, JAN)
    again = collect(city, JAN)  # a re-run records nothing twice
    assert (first.collected_count, first.unpaid_count) == (3, 2)
    assert again.collected_count == 3 and again.unpaid_count == 2

    paid = Contribution.objects.get(person=people["paying"], period=JAN)
    assert (paid.payment_base, paid.base_due, paid.employer_id) == (
        WAGE,
        WAGE,
        employers["paying"].id,
    )
    assert not paid.underpaid
    # Underpaying: on half the declared 20,000, and the base due is the whole of it.
    under = Contribution.objects.get(person=people["under"], period=JAN)
    assert (under.payment_base, under.base_due) == (Decimal("10000.00"), Decimal("20000.00"))
    assert (under.employer_amount, under.account_share) == (Decimal("800.00"), Decimal("200.00"))
    assert under.underpaid
    # Not paying: no contribution, an arrear on the clamped wage (45,000 -> 30,000), no money.
    assert not Contribution.objects.filter(person__in=people["stopped"]).exists()
    arrears = ContributionArrear.objects.filter(period=JAN).order_by("person_id")
    assert [
        (a.base_due, a.employer_amount, a.individual_amount, a.account_share) for a in arrears
    ] == [
        (WAGE, Decimal("800.00"), Decimal("200.00"), Decimal("200.00")),
        (Decimal("30000.00"), Decimal("2400.00"), Decimal("600.00"), Decimal("600.00")),
    ]
    # A person without an employer pays as before, with the base due recorded.
    alone = Contribution.objects.get(person=people["no_employer"], period=JAN)
    assert (alone.payment_base, alone.base_due, alone.employer_id) == (WAGE, WAGE, None)
    ledger_is_sound()


def test_crediting_follows_what_was_received(world):
    city, _, people = world
    collect(city, JAN)
    credit(city, JAN)
    assert balance(people["paying"]) == Decimal("200.00")
    assert balance(people["under"]) == Decimal("200.00")  # 2 % of the 10,000 used, not of 20,000
    assert [balance(p) for p in people["stopped"]] == [Decimal("0.00")] * 2
    assert not Crediting.objects.filter(account__person__in=people["stopped"]).exists()


def test_paying_the_arrears_pays_each_month_on_its_base_due_and_the_credits_follow_once(world):
    city, employers, people = world
    stopped = employers["stopped"]
    for period in (JAN, FEB):
        collect(city, period)
        credit(city, period)
    assert ContributionArrear.objects.filter(contribution__isnull=True).count() == 4

    paid = employer_arrears_pay(employer=stopped, today=TODAY)
    assert (paid.months, paid.persons, paid.amount) == (4, 2, Decimal("8000.00"))
    stopped.refresh_from_db()
    assert stopped.payment_mode == Employer.PaymentMode.PAYING  # it pays again from now on
    for arrear in ContributionArrear.objects.all():
        assert arrear.contribution.payment_base == arrear.base_due
        assert arrear.paid_at == arrear.contribution.received_at
    with refused(EmployerErrorCode.NO_ARREARS):
        employer_arrears_pay(employer=stopped, today=TODAY)

    # February's run again (or the next month's run) credits the months the accounts missed.
    credit(city, FEB)
    credit(city, FEB)
    credit(city, MAR)
    first, second = people["stopped"]
    assert balance(first) == Decimal("400.00") and balance(second) == Decimal("1200.00")
    assert sorted(
        Crediting.objects.filter(account__person=second).values_list("period", "amount")
    ) == [(JAN, Decimal("600.00")), (FEB, Decimal("600.00"))]
    # The collection of March finds the employer paying; the arrears stay paid, nothing doubles.
    collect(city, MAR)
    collect(city, JAN)
    assert Contribution.objects.filter(person=second).count() == 3
    ledger_is_sound()


def test_a_receipt_recorded_for_an_unpaid_month_pays_that_arrear(world):
    city, _, people = world
    collect(city, JAN)
    person = people["stopped"][0]
    contribution = contribution_record(person=person, period=JAN, today=TODAY)
    arrear = ContributionArrear.objects.get(person=person, period=JAN)
    assert arrear.contribution_id == contribution.id
    assert contribution.payment_base == arrear.base_due


def test_the_payment_records_show_each_month_paid_unpaid_or_underpaid(world):
    city, _, people = world
    collect(city, JAN)
    under = person_payment_months(person_id=people["under"].id)
    assert [(m.period, m.status, m.base_used, m.base_due) for m in under] == [
        (JAN, MonthStatus.UNDERPAID, Decimal("10000.00"), Decimal("20000.00"))
    ]
    assert under[0].account_share_missing == Decimal("200.00")
    stopped = person_payment_months(person_id=people["stopped"][0].id)
    assert [(m.status, m.base_used, m.base_due, m.account_share_missing) for m in stopped] == [
        (MonthStatus.UNPAID, None, WAGE, Decimal("200.00"))
    ]
    assert stopped[0].employer_name == "Stopped Co."
    collect(city, FEB)
    employer_arrears_pay(employer=Employer.objects.get(name="Stopped Co."), today=TODAY)
    months = person_payment_months(person_id=people["stopped"][0].id)
    assert [(m.period, m.status, m.paid_late) for m in months] == [
        (FEB, MonthStatus.PAID, True),
        (JAN, MonthStatus.PAID, True),
    ]
    assert (
        person_payment_months(person_id=people["stopped"][0].id, period_from=FEB)[0].period == FEB
    )


def test_an_employers_state_and_employees(world):
    city, _, _ = world
    collect(city, JAN)
    collect(city, FEB)
    rows = {e.name: e for e in employers_with_state(Employer.objects.filter(city=city))}
    assert {name: employer_state(e) for name, e in rows.items()} == {
        "Paying Co.": EmployerState.PAYING,
        "Stopped Co.": EmployerState.IN_ARREARS,
        "Under Co.": EmployerState.UNDERPAYING,
    }
    stopped = rows["Stopped Co."]
    assert (stopped.employees_count, stopped.arrears_since, stopped.arrears_months) == (2, JAN, 4)
    # 800 + 200 and 2,400 + 600 a month, for two months.
    assert stopped.arrears_amount == Decimal("8000.00")
    assert (rows["Paying Co."].arrears_months, rows["Paying Co."].arrears_amount) == (0, 0)


def test_one_person_collected_as_the_job_would(world):
    """The sandbox builds a person's history one month at a time: the same outcome as the job."""
    _, _, people = world
    arrear = employee_month_collect(person=people["stopped"][0], period=JAN, today=TODAY)
    assert isinstance(arrear, ContributionArrear) and arrear.base_due == WAGE
    under = employee_month_collect(person=people["under"], period=JAN, today=TODAY)
    assert (under.payment_base, under.base_due) == (Decimal("10000.00"), Decimal("20000.00"))


@pytest.mark.django_db(transaction=True)
def test_arrears_paid_twice_at_the_same_time_are_paid_once():
    set_clock(TODAY)
    city = CityFactory(**FIGURES)
    stopped = EmployerFactory(city=city)
    employer_payment_mode_set(employer=stopped, mode=Employer.PaymentMode.NOT_PAYING)
    people = [employee_of(stopped) for _ in range(3)]
    collect(city, JAN)
    collect(city, FEB)

    outcomes = _threads(lambda: employer_arrears_pay(employer=stopped, today=TODAY), 2)
    assert sorted(type(o).__name__ for o in outcomes) == ["ArrearsPaid", "DomainError"], outcomes
    assert Contribution.objects.filter(person__in=people).count() == 6
    credit(city, FEB)
    credit(city, FEB)
    assert [balance(p) for p in people] == [Decimal("400.00")] * 3
    ledger_is_sound()


def test_a_month_received_while_the_collection_recorded_it_unpaid_settles_the_arrear(world):
    """A receipt racing the collection: the month has both a contribution (on another base) and
    an arrear. Paying the arrears takes the month as received, once, and moves nothing more."""
    _, employers, people = world
    person = people["stopped"][0]
    received = contribution_record(
        person=person, period=JAN, payment_base=Decimal("8000.00"), today=TODAY
    )
    ContributionArrear.objects.create(
        person=person,
        period=JAN,
        employer=employers["stopped"],
        base_due=WAGE,
        employer_amount=Decimal("800.00"),
        individual_amount=Decimal("200.00"),
        account_share=Decimal("200.00"),
        recorded_at=received.received_at,
    )
    paid = employer_arrears_pay(employer=employers["stopped"], today=TODAY)
    assert [c.pk for c in paid.contributions] == [received.pk]
    assert ContributionArrear.objects.get(person=person, period=JAN).contribution_id == received.pk
    assert Contribution.objects.filter(person=person).count() == 1
    ledger_is_sound()
