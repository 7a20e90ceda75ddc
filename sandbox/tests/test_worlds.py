"""Sandbox developers' own worlds: each on a clock only its owner moves, scenario persons built in
it with the parameters asked for, its rows invisible to everyone else, and its deletion erasing
everything in it and nothing else."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db.models import Q, Sum
from rest_framework.test import APIClient

from accounts.models import Account, CreditingRun, Entry
from cards.models import SocialSecurityCard
from cities.models import City
from common import clock
from common.models import SimulatedClock
from jobs.models import JobDay
from jobs.tasks import schedule_due_jobs
from persons.models import InsuredPerson
from sandbox.models import SandboxWorld
from sandbox.world import CITY_PROFILES
from sandbox.worlds import developer_create
from tests.support import MONDAY_MORNING, SHANGHAI, client_for, set_clock
from users.models import User
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def _client(authorization: str, world: int | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    if world is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization, HTTP_X_SANDBOX_WORLD=str(world))
    return client


def _developer() -> APIClient:
    _, token = developer_create()
    return _client(f"Token {token}")


def _world(developer: APIClient, **body) -> dict:
    response = developer.post("/api/v1/sandbox/worlds", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _scenario(client: APIClient, code: str, **parameters) -> dict:
    response = client.post(f"/api/v1/sandbox/scenarios/{code}", parameters, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _advance(client: APIClient, **step) -> dict:
    response = client.post("/api/v1/sandbox/clock/advance", step, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _now(client: APIClient) -> str:
    return client.get("/api/v1/sandbox/clock").json()["now"]


def _card_status(built: dict) -> str:
    return SocialSecurityCard.objects.get(number=built["card_number"]).status


def _entries_total(accounts) -> Decimal:
    return Entry.objects.filter(account__in=accounts).aggregate(total=Sum("amount"))["total"] or 0


def _personal_balance(built: dict) -> Decimal:
    return _entries_total(Account.objects.filter(person_id=built["person"]["id"], kind="PERSONAL"))


def _balances_by_account(accounts) -> dict[int, Decimal]:
    return dict(
        Entry.objects.filter(account__in=accounts)
        .values("account")
        .annotate(total=Sum("amount"))
        .values_list("account", "total")
    )


@pytest.fixture
def two_developers_and_the_demo(agreement):
    """Alice's and Bob's worlds and the shared (demo) cities, each with an employee whose card
    is being made at a street point (ready the next working day) and who is due a credit on the
    25th."""
    set_clock(MONDAY_MORNING)
    operator = client_for(User.objects.create_superuser("root", role=User.Role.OPERATOR))
    alice, bob = _developer(), _developer()
    world = {"alice": _world(alice, name="alice"), "bob": _world(bob)}
    people = {}
    for who, client in (("alice", alice), ("bob", bob), ("demo", operator)):
        built = _scenario(client, "CARD_BEING_MADE", card_ready_working_day=1)
        people[who] = {"card": built, "employee": built}
    return {"alice": alice, "bob": bob, "demo": operator}, world, people


def test_a_developers_advance_moves_their_world_alone(two_developers_and_the_demo):
    clients, world, people = two_developers_and_the_demo
    alice, bob, demo = clients["alice"], clients["bob"], clients["demo"]
    before = {who: _personal_balance(people[who]["employee"]) for who in people}

    report = _advance(alice, days=30)
    assert report["world"] == world["alice"]["id"]
    assert report["now"] == "2026-12-02T09:00:00+08:00"
    # The events it caused: its world's card and crediting run, no one else's.
    caused = {event["type"] for event in report["events"]}
    assert {"card.status_changed", "crediting_run.completed"} <= caused
    alice_card = SocialSecurityCard.objects.get(number=people["alice"]["card"]["card_number"])
    cards = {e["object_id"] for e in report["events"] if e["type"] == "card.status_changed"}
    assert cards == {str(alice_card.pk)}
    ran = {(job["kind"], job["city"]) for day in report["days"] for job in day["jobs"]}
    alice_cities = set(
        City.objects.filter(clock_id=_clock_id(world["alice"])).values_list("code", flat=True)
    )
    assert ran and {city for _, city in ran} <= alice_cities

    # Alice's world moved: her card is ready, her employee credited on the 25th.
    assert _now(alice) == "2026-12-02T09:00:00+08:00"
    assert _card_status(people["alice"]["card"]) == SocialSecurityCard.Status.READY
    assert _personal_balance(people["alice"]["employee"]) > before["alice"]
    # Bob's world and the demo world did not.
    for who, client in (("bob", bob), ("demo", demo)):
        assert _now(client) == "2026-11-02T09:00:00+08:00"
        assert _card_status(people[who]["card"]) == SocialSecurityCard.Status.PENDING
        assert _personal_balance(people[who]["employee"]) == before[who]
    assert (
        not CreditingRun.objects.filter(period=date(2026, 11, 1))
        .exclude(city__code__in=alice_cities)
        .exists()
    )

    # Bob's day moves Bob alone; Alice's clock stays where she left it.
    _advance(bob, days=1)
    assert _now(bob) == "2026-11-03T09:00:00+08:00"
    assert _card_status(people["bob"]["card"]) == SocialSecurityCard.Status.READY
    assert _now(alice) == "2026-12-02T09:00:00+08:00"
    assert _now(demo) == "2026-11-02T09:00:00+08:00"
    assert _card_status(people["demo"]["card"]) == SocialSecurityCard.Status.PENDING

    # The demo clock is moved by operators as before, and moves no world.
    _advance(demo, days=1)
    assert _card_status(people["demo"]["card"]) == SocialSecurityCard.Status.READY
    assert _now(bob) == "2026-11-03T09:00:00+08:00"
    assert _now(alice) == "2026-12-02T09:00:00+08:00"


def test_a_world_persons_requests_run_on_that_worlds_clock(two_developers_and_the_demo):
    clients, _, people = two_developers_and_the_demo
    _advance(clients["alice"], days=3)
    alice_person = _client(people["alice"]["employee"]["authorization"])
    bob_person = _client(people["bob"]["employee"]["authorization"])
    assert _now(alice_person) == "2026-11-05T09:00:00+08:00"
    assert _now(bob_person) == "2026-11-02T09:00:00+08:00"


def _clock_id(world: dict) -> int:
    return SandboxWorld.objects.get(pk=world["id"]).clock_id


def test_the_beat_schedule_runs_each_world_on_its_own_today(two_developers_and_the_demo):
    _, world, _ = two_developers_and_the_demo
    alice_clock = _clock_id(world["alice"])
    SimulatedClock.objects.filter(pk=alice_clock).update(
        now=datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
    )
    clock.forget_cached_now(alice_clock)

    outcome = schedule_due_jobs()

    assert outcome["days"] == ["2026-11-02"]
    assert outcome["worlds"][alice_clock] == ["2026-11-25"]
    assert outcome["worlds"][_clock_id(world["bob"])] == ["2026-11-02"]
    runs = CreditingRun.objects.filter(period=date(2026, 11, 1))
    assert set(runs.values_list("city__clock_id", flat=True)) == {alice_clock}
    assert JobDay.objects.filter(clock=alice_clock, day=date(2026, 11, 25)).exists()
    assert not JobDay.objects.filter(clock=clock.SHARED_CLOCK_ID, day=date(2026, 11, 25)).exists()


def test_scenario_parameters_are_honoured_in_the_developers_world(agreement):
    set_clock(MONDAY_MORNING)
    alice = _developer()
    world = _world(alice)
    built = _scenario(
        alice,
        "BALANCE_VISIBLE",
        city_profile="small_platform",
        declared_wage="25000.00",
        enrolled_on="2026-03-01",
    )
    person = InsuredPerson.objects.select_related("city").get(pk=built["person"]["id"])
    index = list(CITY_PROFILES).index("small_platform")
    assert person.city.code == str(
        830000 + SandboxWorld.objects.get(pk=world["id"]).slot * 10 + index
    )
    assert person.city.clock_id == _clock_id(world)
    assert person.city.query_capacity == 5  # the profile's switches
    assert person.declared_wage == Decimal("25000.00")
    assert person.enrolled_on == date(2026, 3, 1)

    resident = _scenario(alice, "CARD_NOT_ACTIVATED", scheme="RESIDENT", city_profile="standard")
    resident_person = InsuredPerson.objects.get(pk=resident["person"]["id"])
    assert resident_person.scheme == InsuredPerson.Scheme.RESIDENT
    assert resident_person.employment_status == ""

    too_late = alice.post(
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE", {"enrolled_on": "2026-11-02"}, format="json"
    )
    assert too_late.status_code == 400
    assert too_late.json()["errors"][0]["field"] == "enrolled_on"
    unknown = alice.post(
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE", {"arrears_months": 3}, format="json"
    )
    assert unknown.status_code == 400
    bad_profile = alice.post(
        "/api/v1/sandbox/scenarios/BALANCE_VISIBLE", {"city_profile": "atlantis"}, format="json"
    )
    assert bad_profile.status_code == 400


def test_a_developer_without_a_world_is_told_to_create_one(agreement):
    set_clock(MONDAY_MORNING)
    alice = _developer()
    for response in (
        alice.post("/api/v1/sandbox/clock/advance", {"days": 1}, format="json"),
        alice.post("/api/v1/sandbox/scenarios/BALANCE_VISIBLE", {}, format="json"),
    ):
        assert response.status_code == 404 and response.json()["code"] == "WORLD_NOT_FOUND"
    assert SimulatedClock.objects.get(pk=1).now == MONDAY_MORNING


def test_another_developers_world_answers_404(two_developers_and_the_demo):
    clients, world, people = two_developers_and_the_demo
    alice, bob = clients["alice"], clients["bob"]
    alice_world, alice_person = world["alice"]["id"], people["alice"]["employee"]["person"]["id"]

    assert bob.get(f"/api/v1/persons/{alice_person}").status_code == 404
    assert bob.get(f"/api/v1/sandbox/worlds/{alice_world}").status_code == 404
    assert bob.delete(f"/api/v1/sandbox/worlds/{alice_world}").status_code == 404
    foreign = _client(bob._credentials["HTTP_AUTHORIZATION"], world=alice_world)
    refused = foreign.post("/api/v1/sandbox/clock/advance", {"days": 1}, format="json")
    assert refused.status_code == 404 and refused.json()["code"] == "WORLD_NOT_FOUND"
    assert _now(alice) == "2026-11-02T09:00:00+08:00"

    # Each developer lists their own persons and worlds only; a demo operator sees no world.
    listed = {row["id"] for row in bob.get("/api/v1/persons").json()["results"]}
    assert listed == {people["bob"][kind]["person"]["id"] for kind in ("card", "employee")}
    assert [row["id"] for row in bob.get("/api/v1/sandbox/worlds").json()] == [world["bob"]["id"]]
    demo_operator = client_for(OperatorFactory(cities=list(City.objects.filter(clock=None))))
    assert demo_operator.get(f"/api/v1/persons/{alice_person}").status_code == 404
    assert alice.get(f"/api/v1/persons/{alice_person}").status_code == 200
    # Another developer's world named in the header is refused on every sandbox request.
    assert foreign.get("/api/v1/sandbox/clock").status_code == 404

    # Worlds are for developers.
    assert clients["demo"].post("/api/v1/sandbox/worlds", {}, format="json").status_code == 403


def _all_rows() -> dict[str, set]:
    return {
        model._meta.label: set(model._base_manager.values_list("pk", flat=True))
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def _rows_of(city_ids: set, person_ids: set) -> dict[str, set]:
    """Of every table with a city or a person column, the rows of these cities or persons."""
    owned = {}
    for model in apps.get_models():
        names = {field.name for field in model._meta.concrete_fields if field.is_relation}
        if not names & {"city", "person"}:
            continue
        condition = Q(pk__in=[])
        if "city" in names:
            condition |= Q(city_id__in=city_ids)
        if "person" in names:
            condition |= Q(person_id__in=person_ids)
        owned[model._meta.label] = set(
            model._base_manager.filter(condition).values_list("pk", flat=True)
        )
    return owned


def test_deleting_a_world_erases_everything_in_it_and_nothing_else(two_developers_and_the_demo):
    clients, world, people = two_developers_and_the_demo
    alice = clients["alice"]
    _scenario(alice, "EMPLOYER_ARREARS", arrears_months=2)
    _advance(alice, days=30)  # crediting, uploads, jobs, history
    alice_clock = _clock_id(world["alice"])
    alice_cities = set(City.objects.filter(clock_id=alice_clock).values_list("id", flat=True))
    alice_persons = set(
        InsuredPerson.objects.filter(city_id__in=alice_cities).values_list("id", flat=True)
    )
    alice_logins = set(
        InsuredPerson.objects.filter(id__in=alice_persons).values_list("user_id", flat=True)
    )
    alice_accounts = set(
        Account.objects.filter(city_id__in=alice_cities).values_list("id", flat=True)
    )
    before = _all_rows()
    owned = _rows_of(alice_cities, alice_persons)
    balances = _balances_by_account(Account.objects.exclude(id__in=alice_accounts))

    response = alice.delete(f"/api/v1/sandbox/worlds/{world['alice']['id']}")

    assert response.status_code == 200, response.json()
    after = _all_rows()
    gone = {label: before[label] - after.get(label, set()) for label in before}
    assert gone["cities.City"] == alice_cities
    assert gone["persons.InsuredPerson"] == alice_persons
    assert gone["users.User"] == alice_logins  # the developer keeps their login
    assert gone["accounts.Account"] == alice_accounts
    assert (
        gone["accounts.Entry"] and not Entry.objects.filter(account_id__in=alice_accounts).exists()
    )
    assert gone["common.SimulatedClock"] == {alice_clock}
    assert gone["sandbox.SandboxWorld"] == {world["alice"]["id"]}
    assert not JobDay.objects.filter(clock=alice_clock).exists()
    # Nothing else: of every table with a city or a person, exactly the world's rows went; every
    # other balance is as it was.
    for label, rows in owned.items():
        assert gone[label] == rows, label
    assert _balances_by_account(Account.objects.all()) == balances
    for who in ("bob", "demo"):
        assert InsuredPerson.objects.filter(pk=people[who]["employee"]["person"]["id"]).exists()
    assert alice.get(f"/api/v1/sandbox/worlds/{world['alice']['id']}").status_code == 404

    # The slot and its codes are free again: a new world takes them, empty.
    again = _world(alice)
    assert again["persons"] == 0 and again["now"] == "2026-11-02T09:00:00+08:00"
    _scenario(alice, "BALANCE_VISIBLE")


def test_a_developer_signs_up_through_the_api(agreement):
    response = APIClient().post(
        "/api/v1/sandbox/developers", {"username": "dev-carol"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["username"] == "dev-carol" and body["role"] == "DEVELOPER"
    carol = _client(body["authorization"])
    assert carol.get("/api/v1/sandbox/worlds").json() == []
    taken = APIClient().post("/api/v1/sandbox/developers", {"username": "dev-carol"}, format="json")
    assert taken.status_code == 409
    # The schema's username is a string: digits sent as a JSON number are refused, not read.
    number = APIClient().post("/api/v1/sandbox/developers", {"username": 9668}, format="json")
    assert number.status_code == 400
    assert number.json()["errors"][0]["field"] == "username"


@pytest.mark.django_db
def test_a_malformed_world_header_is_refused_whoever_sends_it(api_client):
    from users.tests.factories import TerminalFactory, token_for

    api_client.credentials(HTTP_AUTHORIZATION=token_for(TerminalFactory()))
    for value in ("", "null", "[1]", "0", "-3"):
        response = api_client.get("/api/v1/sandbox/clock", HTTP_X_SANDBOX_WORLD=value)
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["field"] == "X-Sandbox-World"
    assert api_client.get("/api/v1/sandbox/clock").status_code == 200
