"""A successful offline activation tells the pharmacy that the ID it read belongs to an insured
person (with sandbox mode off the simulated face check always passes), so each terminal may try
only so many an hour: the limit holds, counts right and wrong attempts alike, is per terminal,
and holds while Redis is down."""

from datetime import date

import pytest

from cards.models import EVoucher
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory
from settlement.tests.factories import PharmacyFactory
from tests.support import MONDAY_MORNING, client_for, set_clock
from tests.test_degraded import closed_port, redis_at  # noqa: F401  (closed_port is a fixture)
from users.tests.factories import TerminalFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/evouchers/pharmacy-activations"
LIMIT = 3


@pytest.fixture
def low_limit(settings, agreement):
    set_clock(MONDAY_MORNING)
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "pharmacy_activation": f"{LIMIT}/hour"},
    }


def probe(terminal, n: int):
    """An ID nobody is insured under."""
    body = {"resident_id": make_resident_id("110105", date(1970, 1, 1), n), "name": "Nobody"}
    return terminal.post(URL, body, format="json")


def activate(terminal, person):
    return terminal.post(URL, {"resident_id": person.resident_id, "name": person.name})


def status_of(person) -> str:
    return EVoucher.objects.get(person=person).status


def test_a_terminal_may_try_only_so_many_activations_an_hour(low_limit):
    person = PersonFactory()
    pharmacy = PharmacyFactory(city=person.city)
    terminal = client_for(TerminalFactory(institution=pharmacy))
    assert [probe(terminal, n).status_code for n in range(LIMIT)] == [422] * LIMIT

    refused = activate(terminal, person)
    assert refused.status_code == 429
    problem = refused.json()
    assert problem["code"] == "RATE_LIMITED"
    assert "offline e-voucher activations" in problem["detail"]
    assert 0 < int(refused["Retry-After"]) <= 3600 + 1
    # Refused before anything is looked up: the answer says nothing about the ID.
    assert status_of(person) == EVoucher.Status.NOT_ACTIVATED
    assert probe(terminal, 99).status_code == 429

    # Another terminal, even of the same pharmacy, has a count of its own.
    colleague = client_for(TerminalFactory(institution=pharmacy))
    assert activate(colleague, person).status_code == 200
    assert status_of(person) == EVoucher.Status.ACTIVATED


def test_successful_activations_count_too(low_limit):
    terminal = client_for(TerminalFactory(institution=PharmacyFactory()))
    people = [PersonFactory() for _ in range(LIMIT + 1)]
    answers = [activate(terminal, person).status_code for person in people]
    assert answers == [200] * LIMIT + [429]
    assert status_of(people[-1]) == EVoucher.Status.NOT_ACTIVATED


def test_the_limit_holds_while_redis_is_down(low_limit, closed_port):  # noqa: F811
    terminal = client_for(TerminalFactory(institution=PharmacyFactory()))
    with redis_at(closed_port):
        answers = [probe(terminal, n).status_code for n in range(LIMIT + 1)]
    assert answers == [422] * LIMIT + [429]
