"""The console's webhook pages: an operator sees their own endpoints and those of the institutions
of their cities, never another operator's or a developer's (their owner's business, as over the
API), nor the deliveries and attempts of those."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cities.tests.factories import CityFactory
from events.models import Event, EventType
from users.models import User
from users.services import operator_group_ensure
from users.tests.factories import OperatorFactory, TerminalFactory, UserFactory
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db


def _endpoint_with_an_attempt(owner, name, city):
    endpoint, _ = endpoint_create(
        owner=owner, url=f"http://127.0.0.1:9/{name}", event_types=["*"], now=timezone.now()
    )
    event = Event.objects.create(
        type=EventType.CITY_SWITCHES_CHANGED,
        occurred_at=timezone.now(),
        object_type="city",
        object_id=city.code,
        city_id=city.pk,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        round_attempts=1,
        attempts_total=1,
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, started_at=timezone.now(), duration_ms=3, succeeded=False
    )
    return endpoint, delivery


@pytest.fixture
def world():
    city, other_city = CityFactory(), CityFactory()
    operator = OperatorFactory(cities=[city])
    operator.groups.add(operator_group_ensure())
    terminal = TerminalFactory(institution__city=city)
    endpoints = {
        "own": _endpoint_with_an_attempt(operator, "own", city),
        "institution": _endpoint_with_an_attempt(terminal, "institution", city),
        "other operator": _endpoint_with_an_attempt(
            OperatorFactory(cities=[city, other_city]), "other-operator", city
        ),
        "developer": _endpoint_with_an_attempt(
            UserFactory(role=User.Role.DEVELOPER), "developer", city
        ),
        "other city's institution": _endpoint_with_an_attempt(
            TerminalFactory(institution__city=other_city), "other-institution", other_city
        ),
    }
    return operator, endpoints


SEEN = {"own", "institution"}


def _listed(client, path, endpoints, attribute):
    page = client.get(path).content.decode()
    return {name for name, rows in endpoints.items() if f"/{attribute(rows)}/change/" in page}


def test_an_operator_lists_their_own_and_their_cities_institutions_endpoints_only(client, world):
    operator, endpoints = world
    client.force_login(operator)
    assert (
        _listed(client, "/admin/webhooks/webhookendpoint/", endpoints, lambda rows: rows[0].pk)
        == SEEN
    )
    assert (
        _listed(client, "/admin/webhooks/webhookdelivery/", endpoints, lambda rows: rows[1].pk)
        == SEEN
    )


@pytest.mark.parametrize("name", ["own", "institution", "other operator", "developer"])
def test_an_operator_opens_only_the_endpoints_they_see(client, world, name):
    operator, endpoints = world
    client.force_login(operator)
    endpoint, delivery = endpoints[name]
    opened = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    opened_delivery = client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")
    shown = name in SEEN
    assert (opened.status_code == 200 and endpoint.url in opened.content.decode()) is shown
    assert (opened_delivery.status_code == 200) is shown
    if not shown:
        assert endpoint.url not in opened.content.decode()
