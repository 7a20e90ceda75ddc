"""A bank-style consistency test on PostgreSQL: threads doing random settlements, reversals,
contributions, credits and transfers across a handful of accounts, retrying requests with the same
idempotency keys.

Persons insured in a second city settle there too, under a filing: each city's side is posted
inside it through its clearing accounts; the month is then cleared between the two cities, and
some of those settlements are reversed after the clearing and carried by the next month's.

Every request's outcome is recorded. Afterwards a model that calls none of the project's code
computes every account's balance from those outcomes (the settlements' and reversals' answers,
the transfers posted, and the scenario's contribution and crediting rules), with plain Decimal
arithmetic, and the database must hold exactly that, to the cent. A retried request must get its
first answer back, marked ``Idempotent-Replayed``, never a conflict."""

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connections
from django.db.models import Count, Sum

from accounts.crediting import crediting_credit_account, crediting_run_open
from accounts.models import Account, Entry, Transfer
from accounts.services import Leg, contribution_record, transfer_post
from cities.tests.factories import CityFactory
from common.calendar import next_month
from common.errors import DomainError
from persons.tests.factories import PersonFactory
from settlement.clearing import clearing_run_execute, clearing_run_open
from settlement.models import CatalogItem, Settlement
from settlement.tests.factories import (
    TEST_PIN,
    CatalogItemFactory,
    InstitutionFactory,
    active_card,
    filing_for,
    fund_personal_account,
)
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import TerminalFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THREADS = 6
OPERATIONS_PER_THREAD = 25
PERSONS = 4
VISITORS = 2
CENT = Decimal("0.01")


@pytest.fixture
def books(agreement):
    set_clock(MONDAY_MORNING)
    city = CityFactory()
    institution = InstitutionFactory(city=city, level=2)
    terminal = TerminalFactory(institution=institution)
    items = [
        CatalogItemFactory(code="CONS-A", catalog_class=CatalogItem.CatalogClass.A),
        CatalogItemFactory(code="CONS-B", catalog_class=CatalogItem.CatalogClass.B),
        CatalogItemFactory(code="CONS-C", catalog_class=CatalogItem.CatalogClass.C),
    ]
    persons = []
    for _ in range(PERSONS):
        person = PersonFactory(
            city=city,
            enrolled_on=MONDAY_MORNING.date().replace(month=1, day=1),
            declared_wage=Decimal("10000.00"),
        )
        assert person.is_employee and not person.is_retired
        persons.append((person, active_card(person)))
        fund_personal_account(person, "300.00")
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    source = Account.objects.get(city=city, kind=Account.Kind.CONTRIBUTION_SOURCE)
    transfer_post(
        kind=Transfer.Kind.OPENING,
        key="opening-reserve",
        memo="Fund reserve",
        legs=[Leg(pool.id, Decimal("50000.00")), Leg(source.id, Decimal("-50000.00"))],
    )
    # Persons insured in a second city, with a filing for this one: cross-city settlements.
    home = CityFactory()
    visitors = []
    for _ in range(VISITORS):
        visitor = PersonFactory(
            city=home,
            enrolled_on=MONDAY_MORNING.date().replace(month=1, day=1),
            declared_wage=Decimal("10000.00"),
        )
        visitors.append((visitor, active_card(visitor)))
        fund_personal_account(visitor, "300.00")
        filing_for(visitor, city, days=120)
    home_pool = Account.objects.get(city=home, kind=Account.Kind.EMPLOYEE_POOL)
    transfer_post(
        kind=Transfer.Kind.OPENING,
        key="opening-reserve-home",
        memo="Fund reserve",
        legs=[
            Leg(home_pool.id, Decimal("50000.00")),
            Leg(Account.objects.get(city=home, kind="SOURCE").id, Decimal("-50000.00")),
        ],
    )
    return {
        "home": home,
        "visitors": visitors,
        "home_pool": home_pool,
        "home_payable": Account.objects.get(city=home, kind="XC_PAYABLE"),
        "home_receivable": Account.objects.get(city=home, kind="XC_RECEIVABLE"),
        "home_settled": Account.objects.get(city=home, kind="XC_SETTLED"),
        "care_payable": Account.objects.get(city=city, kind="XC_PAYABLE"),
        "care_receivable": Account.objects.get(city=city, kind="XC_RECEIVABLE"),
        "care_settled": Account.objects.get(city=city, kind="XC_SETTLED"),
        "city": city,
        "declared_wage": Decimal("10000.00"),
        "institution_account": Account.objects.get(institution=institution),
        "clearing": Account.objects.get(city=city, kind=Account.Kind.PERSONAL_ACCOUNT_CLEARING),
        "terminal": terminal,
        "items": items,
        "persons": persons,
        "pool": pool,
        "source": source,
    }


@dataclass
class Outcome:
    """One request or domain call of the run, as its caller saw it."""

    action: str  # settle, reverse, contribute, transfer
    key: str  # the idempotency key (a contribution's: person and month)
    status: int | str  # an HTTP status, or "posted" / "recorded" / an error code
    body: dict | None = None
    replayed: bool = False
    person_id: int | None = None
    month: date | None = None
    legs: tuple = ()
    result_id: int | None = None
    credits_posted: int = 0


def _api_outcome(action: str, key: str, response, person_id=None) -> Outcome:
    return Outcome(
        action=action,
        key=key,
        status=response.status_code,
        body=response.json(),
        replayed=response.headers.get("Idempotent-Replayed") == "true",
        person_id=person_id,
    )


def _worker(seed: int, books: dict, outcomes: list, errors: list) -> None:
    rng = random.Random(seed)
    client = client_for(books["terminal"])
    try:
        for step in range(OPERATIONS_PER_THREAD):
            action = rng.choice(["settle", "settle", "settle", "reverse", "contribute", "transfer"])
            person, card = rng.choice(books["persons"])
            key = f"t{seed}-{step}"
            if action == "settle":
                if rng.random() < 0.3:  # a person insured in the other city, under a filing
                    person, card = rng.choice(books["visitors"])
                body = {
                    "visit_type": rng.choice(["OUTPATIENT", "INPATIENT"]),
                    "use_personal_account": rng.random() < 0.8,
                    "visit_reference": key,
                    "line_items": [
                        {
                            "code": rng.choice(books["items"]).code,
                            "quantity": str(rng.randint(1, 3)),
                            "unit_price": f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
                        }
                        for _ in range(rng.randint(1, 3))
                    ],
                }
                for _ in range(rng.choice([1, 1, 2, 3])):  # retries reuse the key
                    response = client.post(
                        "/api/v1/settlements",
                        body,
                        format="json",
                        HTTP_IDEMPOTENCY_KEY=key,
                        HTTP_X_PRESENTED_CREDENTIAL=f"CARD {card.number}",
                        HTTP_X_CARD_PIN=TEST_PIN,
                    )
                    outcome = _api_outcome("settle", key, response, person.id)
                    outcome.legs = tuple(body["line_items"])
                    outcomes.append(outcome)
            elif action == "reverse":
                settlement = (
                    Settlement.objects.filter(institution=books["terminal"].institution)
                    .order_by("?")
                    .first()
                )
                if settlement is None:
                    continue
                for _ in range(rng.choice([1, 2, 2])):
                    response = client.post(
                        f"/api/v1/settlements/{settlement.pk}/reversal",
                        {"reason": "refund"},
                        format="json",
                        HTTP_IDEMPOTENCY_KEY=key,
                    )
                    outcome = _api_outcome("reverse", key, response)
                    outcome.result_id = settlement.pk
                    outcomes.append(outcome)
            elif action == "contribute":
                month = MONDAY_MORNING.date().replace(month=rng.randint(1, 11), day=1)
                for _ in range(rng.choice([1, 2])):  # a retried receipt records once
                    contribution = contribution_record(person=person, period=month)
                    outcomes.append(
                        Outcome(
                            action="contribute",
                            key=f"{person.id}:{month}",
                            status="recorded",
                            person_id=person.id,
                            month=month,
                            result_id=contribution.pk,
                        )
                    )
                run, _ = crediting_run_open(city=books["city"], period=MONDAY_MORNING.date())
                credited = crediting_credit_account(run=run, account=person.personal_account)
                outcomes.append(
                    Outcome(
                        action="credit",
                        key=f"{person.id}",
                        status="run",
                        person_id=person.id,
                        credits_posted=credited,
                    )
                )
            else:
                amount = Decimal(f"{rng.randint(1, 50)}.{rng.randint(0, 99):02d}")
                legs = [Leg(books["pool"].id, -amount), Leg(person.personal_account.id, amount)]
                if rng.random() < 0.5:  # and back again, which may find the account short
                    legs = [Leg(leg.account_id, -leg.amount) for leg in legs]
                for _ in range(rng.choice([1, 2])):
                    outcome = Outcome(
                        action="transfer",
                        key=f"adjust-{key}",
                        status="posted",
                        legs=tuple((leg.account_id, leg.amount) for leg in legs),
                    )
                    try:
                        transfer = transfer_post(
                            kind=Transfer.Kind.ADJUSTMENT,
                            key=f"adjust-{key}",
                            memo="Random transfer",
                            legs=legs,
                        )
                        outcome.result_id = transfer.pk
                    except DomainError as error:
                        outcome.status = error.code.code
                    outcomes.append(outcome)
    except Exception as exc:  # reported to the main thread, which fails the test
        errors.append(exc)
    finally:
        connections.close_all()


def _cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _by_key(outcomes: list[Outcome], action: str) -> dict[str, list[Outcome]]:
    """Each key's attempts in the order they were made (one thread makes all of a key's)."""
    grouped: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.action == action:
            grouped[outcome.key].append(outcome)
    return grouped


def _first_success(attempts: list[Outcome], success: int, refusals: set[int]) -> Outcome | None:
    """The attempt that did the work; before it only refusals (which record nothing, so the
    same key may try again), after it only replays of it, to the byte, marked as replays."""
    done = None
    for attempt in attempts:
        if done is None:
            if attempt.status == success:
                assert not attempt.replayed, attempt
                done = attempt
            else:
                assert attempt.status in refusals, attempt
        else:
            assert attempt.status == done.status, f"a retry answered {attempt} after {done}"
            assert attempt.replayed, f"a retry was not answered as a replay: {attempt}"
            assert attempt.body == done.body, f"a replay differs from the first answer: {attempt}"
    return done


def _is_visitor(books: dict, person_id: int) -> bool:
    return person_id in {visitor.id for visitor, _ in books["visitors"]}


def _funds_part(settled: dict) -> Decimal:
    """What the funds paid (the pool and the personal account): what the cities clear."""
    return Decimal(settled["breakdown"]["pool"]) + Decimal(settled["breakdown"]["personal_account"])


def _settlement_legs(books: dict, settled: dict) -> dict[int, Decimal]:
    """The accounts a settlement's answer says it moved money between, by its breakdown. A person
    insured in the other city: that city's pool and the personal account pay its clearing
    payable, and this city's clearing receivable pays the institution."""
    breakdown = {
        name: Decimal(value) for name, value in settled["breakdown"].items() if name != "currency"
    }
    visitor = _is_visitor(books, settled["person"])
    legs: dict[int, Decimal] = defaultdict(Decimal)
    legs[(books["home_pool"] if visitor else books["pool"]).id] -= breakdown["pool"]
    if breakdown["personal_account"]:
        legs[settled["personal_account"]["account_id"]] -= breakdown["personal_account"]
    paid = breakdown["pool"] + breakdown["personal_account"]
    if visitor and paid:
        legs[books["home_payable"].id] += paid
        legs[books["care_receivable"].id] -= paid
    legs[books["institution_account"].id] += paid
    return {account_id: amount for account_id, amount in legs.items() if amount}


def _check_settlement_answer(request_lines: tuple, settled: dict, person_account_id: int) -> None:
    """What the answer says adds up: the lines are what was asked, the total is their sum, and
    pool, personal account and cash share the total out."""
    asked = [
        (line["code"], _cents(Decimal(line["quantity"]) * Decimal(line["unit_price"])))
        for line in request_lines
    ]
    answered = [(line["code"], Decimal(line["amount"])) for line in settled["lines"]]
    assert answered == asked
    breakdown = settled["breakdown"]
    total = Decimal(breakdown["total"])
    assert total == sum((amount for _, amount in asked), Decimal("0.00"))
    parts = [Decimal(breakdown[name]) for name in ("pool", "personal_account", "cash")]
    assert all(part >= 0 for part in parts) and sum(parts) == total
    if Decimal(breakdown["personal_account"]):
        assert settled["use_personal_account"]
        assert settled["personal_account"]["account_id"] == person_account_id


def expected_balances(books: dict, opening: dict[int, Decimal], outcomes: list[Outcome]) -> dict:
    """Every account's balance, computed from the run's outcomes and the scenario's rules with
    plain Decimal arithmetic: no project code. Checks on the way that each retried request got
    its first answer back."""
    balances: dict[int, Decimal] = defaultdict(Decimal, opening)
    personal = {
        person.id: person.personal_account.id for person, _ in books["persons"] + books["visitors"]
    }
    settlements: dict[int, dict] = {}
    for attempts in _by_key(outcomes, "settle").values():
        # A settlement is refused (422) or made once; a retry of a made one is never a conflict.
        done = _first_success(attempts, 201, refusals={422})
        if done is None:
            continue
        _check_settlement_answer(attempts[0].legs, done.body, personal[done.person_id])
        settlements[done.body["id"]] = done.body
        for account_id, amount in _settlement_legs(books, done.body).items():
            balances[account_id] += amount

    reversed_ids = Counter()
    for attempts in _by_key(outcomes, "reverse").values():
        # Reversing one reversed by another key is a conflict; a retry of this key never is.
        done = _first_success(attempts, 200, refusals={409})
        for attempt in attempts:
            if attempt.status == 409:
                assert attempt.body["code"] == "SETTLEMENT_ALREADY_REVERSED", attempt
        if done is None:
            continue
        reversed_ids[done.result_id] += 1
        original = settlements[done.result_id]
        assert done.body["status"] == "REVERSED"
        assert done.body["breakdown"] == original["breakdown"]
        for account_id, amount in _settlement_legs(books, original).items():
            balances[account_id] -= amount
    assert all(times == 1 for times in reversed_ids.values()), reversed_ids
    # The month's clearing: what the other city owes for its persons' care here, settled less
    # reversed, leaves both clearing positions at zero and moves each city's settled account.
    owed = sum(
        (_funds_part(body) for body in settlements.values() if _is_visitor(books, body["person"])),
        Decimal("0.00"),
    ) - sum(
        (
            _funds_part(settlements[settlement_id])
            for settlement_id in reversed_ids
            if _is_visitor(books, settlements[settlement_id]["person"])
        ),
        Decimal("0.00"),
    )
    balances[books["home_payable"].id] -= owed
    balances[books["care_receivable"].id] += owed
    balances[books["home_settled"].id] += owed
    balances[books["care_settled"].id] -= owed

    # Contributions: the declared wage, clamped to the city's payment-base bounds, at the city's
    # rates; the individual share waits on the clearing account until crediting moves it to the
    # personal account, and every contribution of a person is credited by the run that follows.
    city = books["city"]
    contributions = _by_key(outcomes, "contribute")
    for attempts in contributions.values():
        assert len({attempt.result_id for attempt in attempts}) == 1, attempts
        wage = books["declared_wage"]
        base = min(max(_cents(wage), city.payment_base_min), city.payment_base_max)
        employer = _cents(base * city.employer_rate)
        individual = _cents(base * city.individual_rate)
        balances[books["source"].id] -= employer + individual
        balances[books["pool"].id] += employer
        balances[books["clearing"].id] += individual
        # ... and the crediting run after it moved the share on.
        balances[books["clearing"].id] -= individual
        balances[personal[attempts[0].person_id]] += individual
    credits = sum(outcome.credits_posted for outcome in outcomes if outcome.action == "credit")
    assert credits == len(contributions), "each contribution is credited exactly once"

    for attempts in _by_key(outcomes, "transfer").values():
        posted = {attempt.result_id for attempt in attempts if attempt.status == "posted"}
        assert len(posted) <= 1, attempts
        assert {a.status for a in attempts} <= {"posted", "INSUFFICIENT_FUNDS"}, attempts
        if posted:
            for account_id, amount in attempts[0].legs:
                balances[account_id] += amount
    return balances


def test_random_concurrent_money_movements_keep_the_books_exact(books):
    opening = dict(Account.objects.with_balance_total().values_list("id", "balance_total"))
    assert {opening[person.personal_account.id] for person, _ in books["persons"]} == {
        Decimal("300.00")
    }
    outcomes: list[Outcome] = []
    errors: list = []
    threads = [
        threading.Thread(target=_worker, args=(seed, books, outcomes, errors))
        for seed in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    # The month cleared between the two cities, once every request of it is done; then some of
    # its cross-city settlements reversed after the clearing, and the next month cleared.
    month = MONDAY_MORNING.date().replace(day=1)
    run, _ = clearing_run_open(period=month, today=next_month(month))
    clearing_run_execute(run_id=run.pk)
    set_clock(MONDAY_MORNING + timedelta(days=35))
    client = client_for(books["terminal"])
    reversed_after_clearing = []
    for settlement in Settlement.objects.filter(
        status=Settlement.Status.SETTLED,
        person__in=[visitor for visitor, _ in books["visitors"]],
        pool_amount__gt=0,
    ).order_by("id")[:3]:
        response = client.post(
            f"/api/v1/settlements/{settlement.pk}/reversal",
            {"reason": "refund after the clearing"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"after-clearing-{settlement.pk}",
        )
        assert response.status_code == 200, response.content
        reversed_after_clearing.append(response.json())
    assert reversed_after_clearing, "no cross-city settlement was left to reverse"
    following, _ = clearing_run_open(period=next_month(month), today=next_month(next_month(month)))
    clearing_run_execute(run_id=following.pk)

    statuses = Counter(f"{outcome.action} {outcome.status}" for outcome in outcomes)
    replays = Counter(outcome.action for outcome in outcomes if outcome.replayed)
    print(f"outcomes: {dict(statuses)}; replays: {dict(replays)}")
    assert statuses["settle 201"] > 0 and statuses["reverse 200"] > 0

    expected = expected_balances(books, opening, outcomes)
    for body in reversed_after_clearing:
        # The reversal goes back through the clearing accounts; the next month's clearing
        # settles it the other way round.
        for account_id, amount in _settlement_legs(books, body).items():
            expected[account_id] -= amount
        paid = _funds_part(body)
        expected[books["home_payable"].id] += paid
        expected[books["care_receivable"].id] -= paid
        expected[books["home_settled"].id] -= paid
        expected[books["care_settled"].id] += paid
    for clearing_account in ("home_payable", "home_receivable", "care_payable", "care_receivable"):
        assert expected[books[clearing_account].id] == 0, clearing_account
    assert replays["settle"] > 0, "the run retried no settlement it had made"

    # Every account, to the cent: its balance and the sum of its entries.
    actual = dict(Account.objects.with_balance_total().values_list("id", "balance_total"))
    entries = dict(
        Entry.objects.values("account")
        .annotate(total=Sum("amount"))
        .values_list("account", "total")
    )
    assert set(actual) == set(opening)
    wrong = {
        account_id: (expected[account_id], actual[account_id], entries.get(account_id))
        for account_id in actual
        if not expected[account_id] == actual[account_id] == entries.get(account_id, Decimal("0"))
    }
    assert wrong == {}, "accounts whose balance is not the model's (expected, balance, entries)"
    # The model's settlements are the database's, no more.
    made = {outcome.body["id"] for outcome in outcomes if outcome.status == 201}
    assert set(Settlement.objects.values_list("id", flat=True)) == made
    assert set(
        Settlement.objects.filter(status=Settlement.Status.REVERSED).values_list("id", flat=True)
    ) == {
        outcome.result_id
        for outcome in outcomes
        if outcome.action == "reverse" and outcome.status == 200
    } | {body["id"] for body in reversed_after_clearing}
    # No transfer has legs in two cities.
    assert not [
        transfer_id
        for transfer_id, cities in Entry.objects.values("transfer")
        .annotate(cities=Count("account__city", distinct=True))
        .values_list("transfer", "cities")
        if cities > 1
    ]
    assert not (
        Account.objects.with_balance_total()
        .filter(kind__in=Account.NEVER_NEGATIVE_KINDS, balance_total__lt=0)
        .exists()
    )
