"""Cross-city settlement through each city's clearing accounts, and the monthly clearing: every
city pair settled once per month, reversals before and after the clearing, a run executed again or
killed half-way, and no transfer with legs in two cities."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection

from accounts.models import Account, Entry, Transfer
from cities.tests.factories import CityFactory
from common import clock
from common.calendar import next_month
from common.errors import DomainError
from common.models import JobStatus
from persons.tests.factories import PersonFactory
from settlement.clearing import clearing_run_execute, clearing_run_open
from settlement.models import ClearingItem, ClearingRun, ClearingStatement
from settlement.services import settlement_reverse
from settlement.tests.factories import (
    CatalogItemFactory,
    InstitutionFactory,
    active_card,
    filing_for,
    fund_personal_account,
)
from settlement.tests.helpers import settle, terminal_of

pytestmark = pytest.mark.django_db


def crossing_transfers() -> list[int]:
    """Transfers with entries on accounts of more than one city."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.transfer_id FROM {Entry._meta.db_table} e
                  JOIN {Account._meta.db_table} a ON a.id = e.account_id
                 GROUP BY e.transfer_id HAVING COUNT(DISTINCT a.city_id) > 1"""  # noqa: S608
        )
        return [row[0] for row in cursor.fetchall()]


def account(city, kind) -> Account:
    return Account.objects.get(city=city, kind=kind)


def balances(city) -> dict[str, D]:
    """The city's own accounts (pools, clearing, source) by kind."""
    accounts = Account.objects.filter(city=city).exclude(kind__in=["PERSONAL", "INSTITUTION"])
    return {account.kind: account.balance for account in accounts}


class World:
    """Three cities, a hospital in each, and in each city an employee with money on the account."""

    def __init__(self):
        CatalogItemFactory(code="T-A", catalog_class="A")
        self.cities = [CityFactory(name=f"Clearing {n}") for n in range(3)]
        self.hospitals = [InstitutionFactory(city=city, level=3) for city in self.cities]
        self.terminals = [terminal_of(hospital) for hospital in self.hospitals]
        self.persons = []
        for city in self.cities:
            person = PersonFactory(city=city)
            person.card = active_card(person)
            fund_personal_account(person, "300.00")
            self.persons.append(person)

    def settle(self, person_index: int, hospital_index: int, amount: str, **kwargs):
        person, hospital = self.persons[person_index], self.hospitals[hospital_index]
        if person.city_id != hospital.city_id:
            filing_for(person, hospital.city, days=400)
        return settle(
            institution=hospital,
            person=person,
            by=self.terminals[hospital_index],
            items=[("T-A", "1", amount)],
            **kwargs,
        )


@pytest.fixture
def world():
    return World()


def paid(settlement) -> D:
    return settlement.pool_amount + settlement.personal_account_amount


def this_month():
    return clock.today().replace(day=1)


def cleared(period, **kwargs) -> ClearingRun:
    run, _ = clearing_run_open(period=period, today=next_month(period))
    clearing_run_execute(run_id=run.pk, **kwargs)
    run.refresh_from_db()
    return run


def statement(a, b, period) -> ClearingStatement:
    low, high = sorted([a, b], key=lambda city: city.pk)
    return ClearingStatement.objects.get(city_a=low, city_b=high, period=period)


def test_a_cross_city_settlement_posts_inside_each_city_and_the_clearing_nets_them(world):
    a, b, c = world.cities
    a_in_b = world.settle(0, 1, "2000.00")
    b_in_a = world.settle(1, 0, "500.00")
    a_in_c = world.settle(0, 2, "800.00")
    within_a = world.settle(0, 0, "100.00")
    assert [s.through_clearing for s in (a_in_b, b_in_a, a_in_c, within_a)] == [
        True,
        True,
        True,
        False,
    ]
    assert crossing_transfers() == []
    # Before the clearing the positions are open: A owes for its persons' care in B and C.
    assert account(a, "XC_PAYABLE").balance == paid(a_in_b) + paid(a_in_c)
    assert account(b, "XC_RECEIVABLE").balance == -paid(a_in_b)
    assert account(a, "XC_RECEIVABLE").balance == -paid(b_in_a)

    run = cleared(this_month())
    assert run.status == JobStatus.SUCCEEDED
    assert (run.statements_count, run.settlements_count, run.reversals_count) == (2, 3, 0)
    ab = statement(a, b, this_month())
    a_side, b_side = (ab.a_owes, ab.b_owes) if ab.city_a == a else (ab.b_owes, ab.a_owes)
    assert (a_side, b_side) == (paid(a_in_b), paid(b_in_a))
    assert ab.net_amount == ab.a_owes - ab.b_owes
    assert ab.a_to_b_settled_count + ab.b_to_a_settled_count == 2
    ac = statement(a, c, this_month())
    assert (ac.a_owes if ac.city_a == a else ac.b_owes) == paid(a_in_c)
    # Every clearing position is settled, inside each city; the net is each city's settled account.
    for city in (a, b, c):
        assert account(city, "XC_PAYABLE").balance == 0
        assert account(city, "XC_RECEIVABLE").balance == 0
    assert account(a, "XC_SETTLED").balance == paid(a_in_b) + paid(a_in_c) - paid(b_in_a)
    assert account(b, "XC_SETTLED").balance == paid(b_in_a) - paid(a_in_b)
    assert account(c, "XC_SETTLED").balance == -paid(a_in_c)
    assert Transfer.objects.filter(kind="CLEARING").count() == 4
    assert crossing_transfers() == []


def test_the_clearing_happens_once_however_often_it_runs(world):
    world.settle(0, 1, "2000.00")
    world.settle(1, 0, "500.00")
    run = cleared(this_month())
    state = (
        sorted((account.pk, account.balance) for account in Account.objects.all()),
        Transfer.objects.count(),
        ClearingItem.objects.count(),
        list(ClearingStatement.objects.values()),
    )
    again, created = clearing_run_open(period=this_month(), today=next_month(this_month()))
    assert (again, created) == (run, False)
    clearing_run_execute(run_id=run.pk)
    # Even a run marked unfinished by hand (a crashed worker) finds nothing more to clear.
    ClearingRun.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING)
    clearing_run_execute(run_id=run.pk)
    assert state == (
        sorted((account.pk, account.balance) for account in Account.objects.all()),
        Transfer.objects.count(),
        ClearingItem.objects.count(),
        list(ClearingStatement.objects.values()),
    )


def test_a_clearing_killed_half_way_resumes_and_clears_each_settlement_once(world):
    settlements = [world.settle(0, 1, f"{100 + n}.00") for n in range(3)]
    settlements += [world.settle(1, 0, "50.00"), world.settle(2, 0, "70.00")]
    run, _ = clearing_run_open(period=this_month(), today=next_month(this_month()))

    def killed_after_two_chunks(count, chunks=[]):  # noqa: B006 - counts across calls
        chunks.append(count)
        if len(chunks) == 2:
            raise SystemExit("worker killed")

    with pytest.raises(SystemExit):
        clearing_run_execute(run_id=run.pk, chunk_size=1, progress=killed_after_two_chunks)
    run.refresh_from_db()
    # A killed worker leaves the run running at its cursor (the sweep re-enqueues it).
    assert run.status == JobStatus.RUNNING
    assert run.cursor > 0 and 0 < ClearingItem.objects.count() < len(settlements)
    assert not Transfer.objects.filter(kind="CLEARING").exists()

    clearing_run_execute(run_id=run.pk, chunk_size=2)
    run.refresh_from_db()
    assert (run.status, run.settlements_count) == (JobStatus.SUCCEEDED, len(settlements))
    assert ClearingItem.objects.count() == len(settlements)
    a, b, _ = world.cities
    ab = statement(a, b, this_month())
    assert ab.a_to_b_settled_count + ab.b_to_a_settled_count == 4
    assert abs(ab.net_amount) == abs(sum(paid(s) for s in settlements[:3]) - paid(settlements[3]))
    for city in world.cities:
        assert account(city, "XC_PAYABLE").balance == 0
        assert account(city, "XC_RECEIVABLE").balance == 0
    assert sum(account(city, "XC_SETTLED").balance for city in world.cities) == 0


def test_a_reversal_before_the_clearing_leaves_nothing_to_settle(world):
    a, b, _ = world.cities
    before = {city.pk: balances(city) for city in (a, b)}
    settlement = world.settle(0, 1, "900.00")
    settlement_reverse(settlement=settlement, reason="Cancelled", by=world.terminals[1])
    settlement.refresh_from_db()
    assert settlement.care_reversal_transfer is not None
    assert crossing_transfers() == []
    assert {city.pk: balances(city) for city in (a, b)} == before

    cleared(this_month())
    ab = statement(a, b, this_month())
    assert (ab.a_to_b_settled_count + ab.b_to_a_settled_count) == 1
    assert (ab.a_to_b_reversed_count + ab.b_to_a_reversed_count) == 1
    assert (ab.a_owes, ab.b_owes, ab.net_amount) == (0, 0, 0)
    assert (ab.transfer_a, ab.transfer_b) == (None, None)
    assert {city.pk: balances(city) for city in (a, b)} == before


def test_a_reversal_after_the_clearing_is_carried_into_the_next_clearing(world):
    a, b, _ = world.cities
    pool_before = account(a, "EMPLOYEE_POOL").balance
    settlement = world.settle(0, 1, "900.00")
    first = cleared(this_month())
    assert first.settlements_count == 1
    assert account(a, "XC_SETTLED").balance == paid(settlement)

    later = clock.now() + timedelta(days=35)
    settlement_reverse(settlement=settlement, reason="Refund", by=world.terminals[1], now=later)
    # Between the clearings the reversal is an open position the other way round.
    assert account(a, "XC_PAYABLE").balance == -paid(settlement)
    assert account(b, "XC_RECEIVABLE").balance == paid(settlement)
    assert account(a, "EMPLOYEE_POOL").balance == pool_before

    next_period = clock.localdate(later).replace(day=1)
    second = cleared(next_period)
    assert (second.settlements_count, second.reversals_count) == (0, 1)
    carried = statement(a, b, next_period)
    assert carried.a_owes + carried.b_owes == -paid(settlement)
    assert abs(carried.net_amount) == paid(settlement)
    for city in (a, b):
        assert account(city, "XC_PAYABLE").balance == 0
        assert account(city, "XC_RECEIVABLE").balance == 0
        assert account(city, "XC_SETTLED").balance == 0
    # The first month's statement stays as it was settled.
    assert statement(a, b, this_month()).a_to_b_reversed_count == 0
    assert statement(a, b, this_month()).b_to_a_reversed_count == 0
    assert crossing_transfers() == []


def test_a_settlement_of_a_month_already_cleared_goes_to_the_next_clearing(world):
    a, b, _ = world.cities
    cleared(this_month())
    late = world.settle(0, 1, "300.00")
    assert not ClearingItem.objects.filter(settlement=late).exists()
    following = cleared(next_month(this_month()))
    assert following.settlements_count == 1
    assert statement(a, b, next_month(this_month())).a_owes + statement(
        a, b, next_month(this_month())
    ).b_owes == paid(late)


def test_a_month_is_cleared_only_once_it_has_ended():
    with pytest.raises(DomainError) as caught:
        clearing_run_open(period=this_month(), today=clock.today())
    assert caught.value.code.code == "CLEARING_PERIOD_NOT_ENDED"
    assert not ClearingRun.objects.exists()
