"""GET /api/v1/events: each caller sees what the access rules let them see, newest first, a
cursor page at a time, filtered by type, object and time; and the retention window."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cities.tests.factories import CityFactory
from events.models import Event, EventType
from events.services import event_record, events_purge_expired
from persons.services import person_login_create
from persons.tests.factories import PersonFactory
from settlement.tests.factories import InstitutionFactory
from tests.support import MONDAY_MORNING, client_for
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def _record(event_type, *, city, person=None, institution=None, minutes=0, object_id="1"):
    return event_record(
        type=event_type,
        now=MONDAY_MORNING + timedelta(minutes=minutes),
        object_type=event_type.split(".")[0],
        object_id=object_id,
        data={"n": minutes},
        city_id=city.pk,
        person_id=person.pk if person else None,
        institution_id=institution.pk if institution else None,
    )


@pytest.fixture
def world():
    city_a, city_b = CityFactory(), CityFactory()
    alice, bob = PersonFactory(city=city_a), PersonFactory(city=city_a)
    carol = PersonFactory(city=city_b)
    hospital = InstitutionFactory(city=city_a)
    events = {
        "alice_card": _record(EventType.CARD_STATUS_CHANGED, city=city_a, person=alice, minutes=1),
        "alice_settled": _record(
            EventType.SETTLEMENT_CREATED, city=city_a, person=alice, institution=hospital, minutes=2
        ),
        "bob_balance": _record(
            EventType.PERSON_BALANCE_CHANGED, city=city_a, person=bob, minutes=3
        ),
        "city_a_switch": _record(EventType.CITY_SWITCHES_CHANGED, city=city_a, minutes=4),
        "carol_card": _record(EventType.CARD_STATUS_CHANGED, city=city_b, person=carol, minutes=5),
    }
    users = {
        "alice": person_login_create(person=alice, username="alice-ev", password=None),
        "terminal": TerminalFactory(institution=hospital),
        "operator_a": OperatorFactory(cities=[city_a]),
        "superuser": SuperuserFactory(),
    }
    return events, users


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("alice", ["alice_settled", "alice_card"]),
        ("terminal", ["alice_settled"]),
        ("operator_a", ["city_a_switch", "bob_balance", "alice_settled", "alice_card"]),
        (
            "superuser",
            ["carol_card", "city_a_switch", "bob_balance", "alice_settled", "alice_card"],
        ),
    ],
)
def test_each_role_sees_only_its_events_newest_first(world, role, visible):
    events, users = world
    client = client_for(users[role])
    assert _ids(client.get(URL)) == [events[name].public_id for name in visible]
    hidden = set(events) - set(visible)
    for name in hidden:
        response = client.get(f"{URL}/{events[name].public_id}")
        assert response.status_code == 404
    shown = client.get(f"{URL}/{events[visible[0]].public_id}").json()
    assert shown["id"] == events[visible[0]].public_id
    assert shown["type"] == events[visible[0]].type


def test_another_persons_events_are_never_visible_to_a_person(world):
    events, users = world
    client = client_for(users["alice"])
    for name in ("bob_balance", "carol_card", "city_a_switch"):
        assert client.get(f"{URL}/{events[name].public_id}").status_code == 404
        assert events[name].public_id not in _ids(
            client.get(URL, {"object_type": events[name].object_type})
        )
    assert client_for(TerminalFactory()).get(URL).json()["results"] == []


def test_anonymous_callers_get_401(world):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401


def test_the_event_says_what_caused_it(world):
    events, users = world
    body = client_for(users["superuser"]).get(f"{URL}/{events['alice_settled'].public_id}").json()
    assert body["object"] == {"type": "settlement", "id": "1"}
    assert body["person_id"] == events["alice_settled"].person_id
    assert body["institution_id"] == events["alice_settled"].institution_id
    assert body["data"] == {"n": 2}
    assert set(body) >= {"occurred_at", "created_at", "request_id", "idempotency_key", "is_test"}


def test_cursor_pages_are_stable_while_new_events_arrive(world):
    events, users = world
    client = client_for(users["superuser"])
    first = client.get(URL, {"page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == [
        events["carol_card"].public_id,
        events["city_a_switch"].public_id,
    ]
    _record(EventType.UPLOAD_COMPLETED, city=CityFactory(), minutes=9)  # newer, on page one
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [
        events["bob_balance"].public_id,
        events["alice_settled"].public_id,
    ]
    third = client.get(second["next"]).json()
    assert [row["id"] for row in third["results"]] == [events["alice_card"].public_id]
    assert third["next"] is None
    crafted = "cD1hYmM="  # p=abc: a position that is not a row id
    assert client.get(URL, {"cursor": crafted}).status_code == 400


def test_filters_by_type_object_and_time(world):
    events, users = world
    client = client_for(users["superuser"])
    assert _ids(client.get(URL, {"type": "card.status_changed"})) == [
        events["carol_card"].public_id,
        events["alice_card"].public_id,
    ]
    assert _ids(client.get(URL, {"object_type": "settlement", "object_id": "1"})) == [
        events["alice_settled"].public_id
    ]
    window = {
        "after": (MONDAY_MORNING + timedelta(minutes=2)).isoformat(),
        "before": (MONDAY_MORNING + timedelta(minutes=4)).isoformat(),
    }
    assert _ids(client.get(URL, window)) == [
        events["bob_balance"].public_id,
        events["alice_settled"].public_id,
    ]
    assert _ids(client.get(URL, {"type": ["card.status_changed", "settlement.created"]})) == [
        events["carol_card"].public_id,
        events["alice_settled"].public_id,
        events["alice_card"].public_id,
    ]
    assert client.get(URL, {"type": "no.such.type"}).status_code == 400
    assert client.get(URL, {"type": ["card.status_changed", "no.such.type"]}).status_code == 400
    assert client.get(URL, {"after": "yesterday"}).status_code == 400


def test_events_older_than_the_retention_window_are_deleted_in_batches(world):
    events, _ = world
    now = timezone.now()
    old = [events["alice_card"].pk, events["bob_balance"].pk, events["carol_card"].pk]
    Event.objects.filter(pk__in=old).update(
        created_at=now - timedelta(days=settings.EVENTS_RETENTION_DAYS, seconds=1)
    )
    assert events_purge_expired(now=now, batch_size=2) == 3
    assert set(Event.objects.values_list("pk", flat=True)) == {
        events["alice_settled"].pk,
        events["city_a_switch"].pk,
    }
    assert events_purge_expired(now=now) == 0


def test_a_test_event_is_seen_only_by_the_caller_who_triggered_it(world):
    """A test event triggered in the sandbox stays with its caller (and superusers): the person
    it is about and the city's other operators never see it."""
    events, users = world
    alice_card = events["alice_card"]
    alice_card.data = {
        "number": "A1",
        "before": {"status": "PENDING"},
        "after": {"status": "ACTIVE"},
    }
    alice_card.save(update_fields=["data"])
    operator = users["operator_a"]
    answer = client_for(operator).post(
        "/api/v1/sandbox/events/trigger",
        {
            "type": "card.status_changed",
            "object_type": "card",
            "object_id": alice_card.object_id,
            # The schema's own example: the real shape of a change.
            "data": {"before": {"status": "ACTIVE"}, "after": {"status": "LOST"}},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    test_event = Event.objects.get(public_id=answer.json()["event"])
    assert test_event.is_test and test_event.person_id == alice_card.person_id
    assert test_event.data == {
        "number": "A1",
        "before": {"status": "ACTIVE"},
        "after": {"status": "LOST"},
    }

    def sees(user) -> bool:
        ids = {row["id"] for row in client_for(user).get(URL).json()["results"]}
        return test_event.public_id in ids

    assert sees(operator) and sees(users["superuser"])
    colleague = OperatorFactory(cities=list(operator.cities.all()))
    assert not sees(users["alice"]) and not sees(colleague)
    assert client_for(users["alice"]).get(f"{URL}/{test_event.public_id}").status_code == 404


def test_a_trigger_override_in_another_shape_than_the_events_is_refused(world):
    events, users = world
    alice_card = events["alice_card"]
    alice_card.data = {
        "number": "A1",
        "before": {"status": "PENDING"},
        "after": {"status": "ACTIVE"},
    }
    alice_card.save(update_fields=["data"])
    answer = client_for(users["operator_a"]).post(
        "/api/v1/sandbox/events/trigger",
        {
            "type": "card.status_changed",
            "object_type": "card",
            "object_id": alice_card.object_id,
            "data": {"status": {"before": "ACTIVE", "after": "LOST"}},
        },
        format="json",
    )
    assert answer.status_code == 400 and answer.json()["code"] == "VALIDATION_ERROR"
    assert [error["field"] for error in answer.json()["errors"]] == ["data.status"]
    assert not Event.objects.filter(is_test=True).exists()
