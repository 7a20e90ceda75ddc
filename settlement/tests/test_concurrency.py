"""Many settlements at once against one personal account, on PostgreSQL with real threads and
separate connections: no overdraft, no lost update, exact totals; a replayed request settles once
even when the copies arrive together."""

import threading
import time
from collections.abc import Callable
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.models import Account
from accounts.services import institution_account_open
from cities.tests.factories import CityFactory
from institutions.models import Institution
from persons.tests.factories import PersonFactory, ResidentFactory
from settlement.models import AnnualUsage, Settlement
from settlement.services import family_authorization_grant
from settlement.tests.factories import (
    TEST_PIN,
    CatalogItemFactory,
    InstitutionFactory,
    active_card,
    fund_personal_account,
)
from settlement.tests.helpers import balance, city_pool, entries_of, settle
from users.tests.factories import TerminalFactory, token_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 24


def run_together(jobs: list[Callable[[], object]]) -> tuple[list, list[BaseException]]:
    """Start every job at the same moment, each on its own thread and database connection."""
    barrier = threading.Barrier(len(jobs))
    results: list = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(job):
        try:
            barrier.wait()
            result = job()
            with lock:
                results.append(result)
        except BaseException as exc:  # collected and asserted on by the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a settlement hung"
    return results, errors


@pytest.fixture
def world():
    city = CityFactory()
    hospital = InstitutionFactory(city=city, level=3)
    terminal = TerminalFactory(institution=hospital)
    CatalogItemFactory(code="T-A", catalog_class="A")
    CatalogItemFactory(code="T-C", catalog_class="C")
    return city, hospital, terminal


def test_parallel_settlements_never_overdraw_and_lose_no_update(world):
    city, hospital, terminal = world
    person = PersonFactory(city=city)
    person.card = active_card(person)
    account = fund_personal_account(person, "1000.00")
    pool = city_pool(city)

    def one_visit():
        return settle(
            institution=hospital,
            person=person,
            by=terminal,
            items=[("T-A", "1", "200.00"), ("T-C", "1", "50.00")],
        ).pk

    ids, errors = run_together([one_visit] * THREADS)
    assert errors == []
    assert len(ids) == THREADS

    settlements = list(Settlement.objects.filter(person=person).order_by("id"))
    assert len(settlements) == THREADS
    # 24 x 200 eligible: 1300 to the deductible exactly once, 85 % of the other 3500 from the pool.
    assert sum(s.deductible_amount for s in settlements) == D("1300.00")
    assert sum(s.pool_amount for s in settlements) == D("2975.00")
    # The account paid exactly what it held, never more.
    assert sum(s.personal_account_amount for s in settlements) == D("1000.00")
    assert balance(account) == D("0.00")
    assert sum(s.cash_amount for s in settlements) == D("2025.00")
    # Each settlement saw the balance and the usage the one before it left: no lost update.
    expected_balance, expected_deductible = D("1000.00"), D("0.00")
    for settlement in settlements:
        assert settlement.deductible_paid_before == expected_deductible
        expected_deductible += settlement.deductible_amount
        expected_balance -= settlement.personal_account_amount
        assert settlement.personal_account_balance_after == expected_balance
        assert settlement.personal_account_balance_after >= 0
        paid = settlement.pool_amount + settlement.personal_account_amount
        if settlement.transfer is None:
            assert paid == 0  # all cash: nothing moves through the ledger
            continue
        moved = entries_of(settlement.transfer)
        assert sum(moved.values()) == 0
        assert moved[hospital.account.pk] == paid
    usage = AnnualUsage.objects.get(person=person)
    assert (usage.deductible_inpatient, usage.pool_paid) == (D("1300.00"), D("2975.00"))
    assert balance(hospital.account) == D("3975.00")
    assert balance(pool) == D("-2975.00")


def test_a_family_account_shared_by_parallel_settlements_is_never_overdrawn(world):
    city, hospital, terminal = world
    holder = PersonFactory(city=city)
    holder.card = active_card(holder)
    account = fund_personal_account(holder, "600.00")
    relatives = []
    for relation in ("CHILD", "SPOUSE"):
        relative = ResidentFactory(city=city) if relation == "CHILD" else PersonFactory(city=city)
        relative.card = active_card(relative)
        family_authorization_grant(
            account_holder=holder, beneficiary=relative, relation=relation, by=terminal
        )
        relatives.append(relative)

    def visit(person, **kwargs):
        return lambda: (
            settle(
                institution=hospital,
                person=person,
                by=terminal,
                visit_type="OUTPATIENT",
                items=[("T-C", "1", "50.00")],
                **kwargs,
            ).pk
        )

    jobs = [visit(holder) for _ in range(THREADS // 3)]
    for relative in relatives:
        jobs += [visit(relative, family_account_holder_id=holder.pk) for _ in range(THREADS // 3)]
    ids, errors = run_together(jobs)
    assert errors == []
    assert len(ids) == THREADS

    settlements = list(Settlement.objects.order_by("id"))
    assert all(s.paying_account_id == account.pk for s in settlements)
    assert sum(s.personal_account_amount for s in settlements) == D("600.00")
    assert sum(s.cash_amount for s in settlements) == D("600.00")
    assert balance(account) == D("0.00")
    expected = D("600.00")
    for settlement in settlements:
        expected -= settlement.personal_account_amount
        assert settlement.personal_account_balance_after == expected >= 0
    for relative in relatives:
        own = Account.objects.filter(person=relative, kind=Account.Kind.PERSONAL).first()
        assert own is None or balance(own) == D("0.00")


def test_copies_of_one_request_arriving_together_settle_once(world):
    city, _hospital, terminal = world
    person = PersonFactory(city=city)
    person.card = active_card(person)
    fund_personal_account(person, "100.00")
    authorization = token_for(terminal)
    payload = {
        "visit_type": "OUTPATIENT",
        "use_personal_account": True,
        "line_items": [{"code": "T-A", "quantity": "1", "unit_price": "80.00"}],
    }

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authorization)
        response = client.post(
            "/api/v1/settlements",
            payload,
            format="json",
            HTTP_X_PRESENTED_CREDENTIAL=f"CARD {person.card.number}",
            HTTP_X_CARD_PIN=TEST_PIN,
            HTTP_IDEMPOTENCY_KEY="same-visit",
        )
        return response.status_code, response.json().get("id")

    responses, errors = run_together([post] * 8)
    assert errors == []
    assert {status for status, _ in responses} == {201}
    assert len({settlement_id for _, settlement_id in responses}) == 1
    assert Settlement.objects.count() == 1
    assert balance(person) == D("20.00")


def test_a_registered_visit_is_settled_once_however_many_terminals_settle_it_at_once(world):
    from common import clock
    from common.errors import DomainError
    from settlement.tests.helpers import card_of
    from settlement.visits import FeeLineInput, visit_fee_lines_upload, visit_register, visit_settle

    city, hospital, terminal = world
    person = PersonFactory(city=city)
    person.card = active_card(person)
    fund_personal_account(person, "1000.00")
    now = clock.now()
    visit = visit_register(
        institution=hospital,
        credential=card_of(person),
        visit_type="OUTPATIENT",
        by=terminal,
        now=now,
    )
    visit_fee_lines_upload(
        visit=visit,
        lines=[FeeLineInput("1", "T-A", D("1"), D("120.00"))],
        by=terminal,
        now=now,
    )
    credential = card_of(person)

    def settle_visit():
        return visit_settle(
            visit=visit, credential=credential, use_personal_account=True, by=terminal, now=now
        )

    results, errors = run_together([settle_visit] * 10)

    assert len(results) == 1
    assert len(errors) == 9
    assert all(
        isinstance(error, DomainError) and error.code.code == "VISIT_SETTLED" for error in errors
    ), errors
    assert Settlement.objects.filter(visit_reference=visit.mdtrt_id).count() == 1
    assert balance(person) == D("1000.00") - results[0].personal_account_amount


def _backend_waiting_for_a_lock(pid_holder: list[int]) -> bool:
    """Whether the backend whose pid the list will hold waits for a lock within 30 s."""
    for _ in range(600):
        if pid_holder:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid_holder[0]]
                )
                row = cursor.fetchone()
            if row is not None and row[0] == "Lock":
                return True
        time.sleep(0.05)
    return False


def _settled_while_held(hold, settle_job, *, free_account) -> list:
    """Run ``hold`` in a transaction of its own and keep it open; meanwhile run ``settle_job`` on
    another connection. Once that settlement waits for a lock, ``free_account`` must still be
    free (locked NOWAIT from here); then the hold is let go. Answers what the settlement
    answered."""
    holding, release = threading.Event(), threading.Event()
    settler_pid: list[int] = []

    def hold_then_wait():
        try:
            with transaction.atomic():
                hold()
                holding.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def settle_meanwhile():
        holding.wait(timeout=60)
        connection.ensure_connection()
        settler_pid.append(connection.connection.info.backend_pid)
        try:
            return settle_job()
        finally:
            connection.close()

    holder = threading.Thread(target=hold_then_wait)
    holder.start()
    outcome: list = []
    settler = threading.Thread(target=lambda: outcome.append(settle_meanwhile()))
    settler.start()
    try:
        assert _backend_waiting_for_a_lock(settler_pid), "the settlement never waited"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM accounts_account WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                [free_account.pk],
            )
            assert cursor.fetchone() == (free_account.pk,)
    finally:
        release.set()
        holder.join(timeout=60)
        settler.join(timeout=60)
    return outcome


def test_a_settlement_waiting_for_the_persons_usage_row_holds_no_account_yet(world):
    """The lock order every settling path keeps (the year's usage row, then the accounts by id),
    taken inside one statement: while another transaction holds the usage row, a settlement of
    that person waits for it without holding the personal account."""
    city, hospital, terminal = world
    person = PersonFactory(city=city)
    person.card = active_card(person)
    account = fund_personal_account(person, "100.00")
    settle(institution=hospital, person=person, by=terminal, items=[("T-C", "1", "10.00")])
    outcome = _settled_while_held(
        lambda: AnnualUsage.objects.select_for_update().get(person=person),
        lambda: (
            settle(
                institution=hospital, person=person, by=terminal, items=[("T-C", "1", "10.00")]
            ).pk
        ),
        free_account=account,
    )
    assert len(outcome) == 1 and Settlement.objects.filter(pk=outcome[0]).exists()
    assert Settlement.objects.filter(person=person).count() == 2


def test_an_institutions_first_settlement_opens_its_account_holding_no_other(world):
    """An institution without its ledger account yet (its first settlement opens it): while
    another transaction is opening that account, a settlement there waits for it holding no
    account of its own (holding one could deadlock with that transaction's next step)."""
    city, hospital, terminal = world
    person = PersonFactory(city=city)
    person.card = active_card(person)
    account = fund_personal_account(person, "100.00")
    # Settled before this year: the usage row exists, so nothing waits for it.
    settle(institution=hospital, person=person, by=terminal, items=[("T-C", "1", "10.00")])
    new = Institution.objects.create(
        code="HNEW01", name="New hospital", kind=Institution.Kind.HOSPITAL, level=3, city=city
    )
    assert not Account.objects.filter(institution=new).exists()
    outcome = _settled_while_held(
        lambda: institution_account_open(institution=new),
        lambda: (
            settle(institution=new, person=person, by=terminal, items=[("T-C", "1", "10.00")]).pk
        ),
        free_account=account,
    )
    assert len(outcome) == 1
    settlement = Settlement.objects.get(pk=outcome[0])
    assert entries_of(settlement.transfer)[Account.objects.get(institution=new).pk] == D("10.00")
