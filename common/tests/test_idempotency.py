"""Idempotency-Key: a replay answers only the very same request. The fingerprint covers the caller,
the credential presented for a person, the method, path, query string and body."""

from decimal import Decimal

import pytest

from accounts.models import Account
from cards.services import evoucher_presentation_code_issue
from cities.tests.factories import CityFactory
from common.models import IdempotencyRecord
from persons.tests.factories import PersonFactory
from settlement.models import CatalogItem, Settlement
from settlement.tests.factories import (
    TEST_PIN,
    CatalogItemFactory,
    InstitutionFactory,
    activated_evoucher,
    active_card,
    fund_personal_account,
)
from tests.support import MONDAY_MORNING, client_for, set_clock
from users.tests.factories import TerminalFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/settlements"
BODY = {
    "visit_type": "OUTPATIENT",
    "use_personal_account": True,
    "line_items": [{"code": "IDEM-A", "quantity": "1", "unit_price": "30.00"}],
}


@pytest.fixture
def city(agreement):
    set_clock(MONDAY_MORNING)
    CatalogItemFactory(code="IDEM-A", catalog_class=CatalogItem.CatalogClass.A)
    return CityFactory()


@pytest.fixture
def hospital(city):
    return InstitutionFactory(city=city, level=3)


@pytest.fixture
def terminal(hospital):
    return client_for(TerminalFactory(institution=hospital))


def patient(city):
    person = PersonFactory(city=city)
    person.card = active_card(person)
    fund_personal_account(person, "100.00")
    return person


def presenting_card(person) -> dict:
    """The card, and its PIN as the cardholder enters it (the personal account pays)."""
    return {
        "HTTP_X_PRESENTED_CREDENTIAL": f"CARD {person.card.number}",
        "HTTP_X_CARD_PIN": TEST_PIN,
    }


def personal_balance(person) -> Decimal:
    return Account.objects.get(person=person, kind=Account.Kind.PERSONAL).balance


def settle(client, key: str, url: str = URL, **headers):
    return client.post(url, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_the_same_request_replays(city, terminal):
    alice = patient(city)
    first = settle(terminal, "visit-1", **presenting_card(alice))
    again = settle(terminal, "visit-1", **presenting_card(alice))
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Settlement.objects.count() == 1


def test_another_patients_card_with_the_same_key_is_refused_not_replayed(city, terminal):
    alice, bob = patient(city), patient(city)
    first = settle(terminal, "visit-1", **presenting_card(alice))
    assert first.status_code == 201, first.content

    other = settle(terminal, "visit-1", **presenting_card(bob))
    assert other.status_code == 422, other.content
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert not other.has_header("Idempotent-Replayed")
    # Alice's settlement is not handed to Bob's visit, and nothing moved for Bob.
    assert "breakdown" not in other.json() and "person" not in other.json()
    assert Settlement.objects.filter(person=bob).count() == 0
    assert personal_balance(bob) == Decimal("100.00")
    # Alice's own retry still replays.
    assert settle(terminal, "visit-1", **presenting_card(alice))["Idempotent-Replayed"] == "true"


def test_another_e_voucher_code_with_the_same_key_is_refused(city, terminal):
    alice = patient(city)
    activated_evoucher(alice)
    shown = evoucher_presentation_code_issue(person=alice)
    first = settle(terminal, "visit-1", HTTP_X_PRESENTED_CREDENTIAL=f"EVOUCHER {shown.code}")
    assert first.status_code == 201, first.content
    # The same credential written with other spacing is the same request.
    spaced = settle(terminal, "visit-1", HTTP_X_PRESENTED_CREDENTIAL=f"EVOUCHER   {shown.code} ")
    assert spaced["Idempotent-Replayed"] == "true"

    other = settle(terminal, "visit-1", **presenting_card(alice))
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    nothing = settle(terminal, "visit-1")
    assert nothing.status_code == 422 and nothing.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Settlement.objects.count() == 1


def test_another_query_string_with_the_same_key_is_refused(city, terminal):
    alice = patient(city)
    assert settle(terminal, "visit-1", **presenting_card(alice)).status_code == 201
    other = settle(terminal, "visit-1", url=f"{URL}?visit=2", **presenting_card(alice))
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_keys_belong_to_their_caller(city, hospital, terminal):
    alice = patient(city)
    colleague = client_for(TerminalFactory(institution=hospital))
    first = settle(terminal, "visit-1", **presenting_card(alice))
    theirs = settle(colleague, "visit-1", **presenting_card(alice))
    assert first.status_code == theirs.status_code == 201
    assert not theirs.has_header("Idempotent-Replayed")
    assert theirs.json()["id"] != first.json()["id"]
    assert IdempotencyRecord.objects.filter(key="visit-1").count() == 2


def test_the_fingerprint_keeps_no_credential_in_clear(city, terminal):
    alice = patient(city)
    settle(terminal, "visit-1", **presenting_card(alice))
    record = IdempotencyRecord.objects.get(key="visit-1")
    assert alice.card.number not in record.fingerprint and len(record.fingerprint) == 64
