"""Fixtures for claims: a person insured in one city, care in another, an operator of each."""

import pytest

from cities.tests.factories import CityFactory
from persons.tests.factories import PersonFactory
from settlement.tests.factories import (
    CatalogItemFactory,
    InstitutionFactory,
    active_card,
    fund_personal_account,
)


@pytest.fixture
def city():
    return CityFactory(name="Insured City")


@pytest.fixture
def other_city():
    return CityFactory(name="Care City")


@pytest.fixture
def hospital(city):
    return InstitutionFactory(city=city, level=3)


@pytest.fixture
def employee(city):
    person = PersonFactory(city=city)
    person.card = active_card(person)
    fund_personal_account(person, "1000.00")
    return person


@pytest.fixture
def item_a():
    return CatalogItemFactory(code="T-A", catalog_class="A")


@pytest.fixture
def item_b():
    return CatalogItemFactory(code="T-B", catalog_class="B")


@pytest.fixture
def item_c():
    return CatalogItemFactory(code="T-C", catalog_class="C")


@pytest.fixture
def traveller(employee):
    """The employee with a login of their own (the online channel)."""
    from persons.services import person_login_create

    person_login_create(person=employee, username="traveller", password="correct-horse-1")
    employee.refresh_from_db()
    return employee


@pytest.fixture
def far_hospital(other_city):
    """A designated level-3 hospital in the other city (care there needs a filing)."""
    return InstitutionFactory(city=other_city, level=3)


@pytest.fixture
def operator(city):
    """An operator of the insured city's agency."""
    from users.tests.factories import OperatorFactory

    return OperatorFactory(cities=[city])


@pytest.fixture
def other_operator(other_city):
    from users.tests.factories import OperatorFactory

    return OperatorFactory(cities=[other_city])
