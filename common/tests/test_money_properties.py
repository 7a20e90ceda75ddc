"""Property-based tests of money input: whatever arrives, an amount is either exactly two-place
Decimal CNY or a clean 400 problem, and nothing moves."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.error_codes import LedgerErrorCode
from accounts.models import Account, Entry, Transfer
from accounts.services import Leg, transfer_post
from common.errors import DomainError
from common.money import MoneySerializerField, money

pytestmark = pytest.mark.django_db

hostile = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=30),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(hostile)
def test_the_money_field_accepts_only_finite_two_place_amounts(value):
    field = MoneySerializerField()
    from rest_framework.exceptions import ValidationError

    try:
        result = field.run_validation(value)
    except ValidationError:
        return
    assert isinstance(result, Decimal) and result.is_finite()
    assert result.as_tuple().exponent >= -2
    assert abs(result) < Decimal("1e12")
    assert money(result) == result


@given(st.decimals(allow_nan=True, allow_infinity=True, places=None))
@settings(max_examples=60, deadline=None)
def test_the_ledger_refuses_bad_amounts_and_posts_nothing(value):
    from cities.tests.factories import CityFactory

    city = CityFactory()
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    source = Account.objects.get(city=city, kind=Account.Kind.CONTRIBUTION_SOURCE)
    before = (Transfer.objects.count(), Entry.objects.count())
    valid = (
        value.is_finite()
        and value != 0
        and value.as_tuple().exponent >= -2
        and abs(value) < Decimal("1e12")
    )
    try:
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key=f"property:{value!s}:{city.pk}",
            memo="property test",
            legs=[Leg(pool.id, value), Leg(source.id, -value if value.is_finite() else value)],
        )
    except DomainError as error:
        assert error.code in (
            LedgerErrorCode.TRANSFER_INVALID_AMOUNT,
            LedgerErrorCode.TRANSFER_UNBALANCED,
            LedgerErrorCode.INSUFFICIENT_FUNDS,
        )
        assert (Transfer.objects.count(), Entry.objects.count()) == before
        return
    assert valid


@given(hostile)
@settings(max_examples=60, deadline=None)
def test_a_contribution_with_a_hostile_base_is_a_clean_problem(value):
    from persons.tests.factories import PersonFactory
    from tests.support import client_for
    from users.tests.factories import OperatorFactory

    person = PersonFactory()
    client = client_for(OperatorFactory(cities=[person.city]))
    before = Transfer.objects.count()
    try:
        body = json.dumps(
            {"person": person.id, "period": "2026-01-01", "payment_base": value}, default=str
        )
    except (ValueError, TypeError):
        return
    response = client.post("/api/v1/contributions", data=body, content_type="application/json")
    assert response.status_code < 500
    if response.status_code >= 400:
        problem = response.json()
        assert problem["code"] and "Traceback" not in response.content.decode()
        assert Transfer.objects.count() == before
