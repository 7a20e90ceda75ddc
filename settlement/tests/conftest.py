"""Fixtures for settlement: a city with a level-3 hospital and its terminal, an employee with an
active card and money on their personal account, and catalog items of each class."""

import pytest

from cities.tests.factories import CityFactory
from persons.tests.factories import PersonFactory
from settlement.models import CatalogItem
from settlement.tests.factories import (
    CatalogItemFactory,
    InstitutionFactory,
    active_card,
    fund_personal_account,
)
from users.tests.factories import TerminalFactory, token_for


@pytest.fixture
def city():
    return CityFactory(name="Policy City")


@pytest.fixture
def other_city():
    return CityFactory(name="Other City")


@pytest.fixture
def hospital(city):
    return InstitutionFactory(city=city, level=3)


@pytest.fixture
def terminal(hospital):
    return TerminalFactory(institution=hospital)


@pytest.fixture
def terminal_client(api_client, terminal):
    api_client.credentials(HTTP_AUTHORIZATION=token_for(terminal))
    return api_client


@pytest.fixture
def employee(city):
    person = PersonFactory(city=city)
    person.card = active_card(person)
    fund_personal_account(person, "1000.00")
    return person


@pytest.fixture
def item_a():
    return CatalogItemFactory(code="T-A", catalog_class=CatalogItem.CatalogClass.A)


@pytest.fixture
def item_b():
    return CatalogItemFactory(code="T-B", catalog_class=CatalogItem.CatalogClass.B)


@pytest.fixture
def item_c():
    return CatalogItemFactory(code="T-C", catalog_class=CatalogItem.CatalogClass.C)
