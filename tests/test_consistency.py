"""A bank-style consistency test on PostgreSQL: threads doing random settlements, reversals,
contributions, credits and transfers across a handful of accounts, retrying requests with the same
idempotency keys. Afterwards the books must be exactly right."""

import random
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum

from accounts.crediting import crediting_credit_account, crediting_run_open
from accounts.models import Account, Crediting, Entry, Transfer
from accounts.services import Leg, contribution_record, transfer_post
from cities.tests.factories import CityFactory
from common.errors import DomainError
from common.models import IdempotencyRecord
from persons.tests.factories import PersonFactory
from settlement.models import CatalogItem, Settlement
from settlement.tests.factories import (
    TEST_PIN,
    CatalogItemFactory,
    InstitutionFactory,
    active_card,
    fund_personal_account,
)
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import TerminalFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THREADS = 6
OPERATIONS_PER_THREAD = 25
PERSONS = 4


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
        person = PersonFactory(city=city, enrolled_on=MONDAY_MORNING.date().replace(month=1, day=1))
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
    return {
        "city": city,
        "terminal": terminal,
        "items": items,
        "persons": persons,
        "pool": pool,
        "source": source,
    }


def _worker(seed: int, books: dict, outcomes: Counter, errors: list) -> None:
    rng = random.Random(seed)
    client = client_for(books["terminal"])
    try:
        for step in range(OPERATIONS_PER_THREAD):
            action = rng.choice(["settle", "settle", "settle", "reverse", "contribute", "transfer"])
            person, card = rng.choice(books["persons"])
            key = f"t{seed}-{step}"
            if action == "settle":
                body = {
                    "visit_type": rng.choice(["OUTPATIENT", "INPATIENT"]),
                    "use_personal_account": rng.random() < 0.8,
                    "visit_reference": key,
                    "line_items": [
                        {
                            "code": rng.choice(books["items"]).code,
                            "quantity": "1",
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
                    assert response.status_code in (201, 409, 422), response.content
                    outcomes[f"settle {response.status_code}"] += 1
            elif action == "reverse":
                settlement = (
                    Settlement.objects.filter(institution=books["terminal"].institution)
                    .order_by("?")
                    .first()
                )
                if settlement is None:
                    continue
                for _ in range(rng.choice([1, 2])):
                    response = client.post(
                        f"/api/v1/settlements/{settlement.pk}/reversal",
                        {"reason": "refund"},
                        format="json",
                        HTTP_IDEMPOTENCY_KEY=key,
                    )
                    assert response.status_code in (200, 409), response.content
                    outcomes[f"reverse {response.status_code}"] += 1
            elif action == "contribute":
                month = MONDAY_MORNING.date().replace(month=rng.randint(1, 11), day=1)
                for _ in range(rng.choice([1, 2])):  # a retried receipt records once
                    contribution_record(person=person, period=month)
                run, _ = crediting_run_open(city=books["city"], period=MONDAY_MORNING.date())
                crediting_credit_account(run=run, account=person.personal_account)
                outcomes["contribute"] += 1
            else:
                amount = Decimal(f"{rng.randint(1, 50)}.{rng.randint(0, 99):02d}")
                legs = [Leg(books["pool"].id, -amount), Leg(person.personal_account.id, amount)]
                if rng.random() < 0.5:  # and back again, which may find the account short
                    legs = [Leg(leg.account_id, -leg.amount) for leg in legs]
                for _ in range(rng.choice([1, 2])):
                    try:
                        transfer_post(
                            kind=Transfer.Kind.ADJUSTMENT,
                            key=f"adjust-{key}",
                            memo="Random transfer",
                            legs=legs,
                        )
                        outcomes["transfer posted"] += 1
                    except DomainError as error:
                        outcomes[f"transfer {error.code.code}"] += 1
    except Exception as exc:  # reported to the main thread, which fails the test
        errors.append(exc)
    finally:
        connections.close_all()


def test_random_concurrent_money_movements_keep_the_books_exact(books):
    outcomes: Counter = Counter()
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
    assert outcomes["settle 201"] > 0

    # The ledger balances to zero and money is conserved.
    assert Entry.objects.aggregate(total=Sum("amount"))["total"] == 0
    assert Account.objects.aggregate(total=Sum("balance"))["total"] == 0
    # No account that may not go negative is negative.
    assert not Account.objects.filter(kind__in=Account.NEVER_NEGATIVE_KINDS, balance__lt=0).exists()
    # Every cached balance equals the sum of its entries.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id FROM accounts_account a LEFT JOIN accounts_entry e ON e.account_id = a.id "
            "GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(e.amount), 0)"
        )
        assert cursor.fetchall() == []
    # Every idempotency key moved money at most once.
    references = Counter(Settlement.objects.values_list("visit_reference", flat=True))
    assert max(references.values()) == 1
    assert IdempotencyRecord.objects.filter(path="/api/v1/settlements").count() == len(references)
    reversals = Settlement.objects.filter(reversal_transfer__isnull=False).count()
    assert Transfer.objects.filter(kind=Transfer.Kind.REVERSAL).count() == reversals
    # A visit paid wholly in cash moves no insured money, so it posts no transfer.
    assert (
        Transfer.objects.filter(kind=Transfer.Kind.SETTLEMENT).count()
        == Settlement.objects.filter(transfer__isnull=False).count()
    )
    assert (
        Crediting.objects.values("account", "period").distinct().count()
        == Crediting.objects.count()
    )
    # Each settlement's posting matches its breakdown to the cent.
    for settlement in Settlement.objects.select_related("transfer"):
        insured = settlement.total_amount - settlement.cash_amount
        if settlement.transfer is None:
            assert insured == 0
            continue
        institution_leg = settlement.transfer.entries.get(
            account__kind=Account.Kind.INSTITUTION
        ).amount
        assert institution_leg == insured
