"""Who may reverse a cross-city settlement, the clearing statements and runs in the API and the
console, and a city's fund with its deficits."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Account, Transfer
from common.calendar import next_month
from settlement.clearing import clearing_run_execute, clearing_run_open
from settlement.models import ClearingRun, Settlement
from settlement.tests.test_clearing import World, this_month
from users.tests.factories import OperatorFactory, SuperuserFactory, TerminalFactory, token_for

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_for(user))
    return client


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == code
    return response.json()


def money_state() -> tuple:
    return Transfer.objects.count(), sorted((a.pk, a.balance) for a in Account.objects.all())


@pytest.fixture
def world():
    return World()


def reverse(user, settlement, key):
    return client_for(user).post(
        f"/api/v1/settlements/{settlement.pk}/reversal",
        {"reason": "Refund"},
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_who_may_reverse_a_settlement_that_moves_the_insured_citys_fund(world):
    """Person insured in city 0, cared for at city 1's hospital: the reversal moves city 0's fund."""
    insured_city, care_city, _ = world.cities
    insured_operator = OperatorFactory(cities=[insured_city])
    care_operator = OperatorFactory(cities=[care_city])
    allowed = {
        "insured-city operator": insured_operator,
        "institution that settled": world.terminals[1],
        "superuser": SuperuserFactory(),
        "operator of both cities": OperatorFactory(cities=[insured_city, care_city]),
    }
    for name, user in allowed.items():
        settlement = world.settle(0, 1, "400.00")
        response = reverse(user, settlement, f"ok-{name.replace(' ', '-')}")
        assert response.status_code == 200, (name, response.content)
        assert Settlement.objects.get(pk=settlement.pk).status == "REVERSED", name

    settlement = world.settle(0, 1, "400.00")
    other_terminal, uninvolved = TerminalFactory(), OperatorFactory(cities=[world.cities[2]])
    before = money_state()
    body = assert_problem(
        reverse(care_operator, settlement, "care"), 403, "REVERSAL_MOVES_OTHER_CITY_FUND"
    )
    assert "insured city" in body["detail"]
    # Another institution does not even see it; an operator of an uninvolved city neither.
    assert_problem(reverse(other_terminal, settlement, "other-terminal"), 404, "NOT_FOUND")
    assert_problem(reverse(uninvolved, settlement, "uninvolved"), 404, "NOT_FOUND")
    assert money_state() == before
    assert Settlement.objects.get(pk=settlement.pk).status == "SETTLED"

    # Within one city its operator reverses as before.
    local = world.settle(1, 1, "100.00")
    assert reverse(care_operator, local, "local").status_code == 200


def test_the_console_action_skips_what_moves_another_citys_fund(world, client):
    from django.contrib.auth.models import Permission

    care_operator = OperatorFactory(cities=[world.cities[1]])
    care_operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["reverse_settlement", "view_settlement"])
    )
    settlement = world.settle(0, 1, "400.00")
    client.force_login(care_operator)
    client.post(
        "/admin/settlement/settlement/",
        {"action": "reverse_settlements", "_selected_action": [settlement.pk]},
    )
    assert Settlement.objects.get(pk=settlement.pk).status == "SETTLED"


def test_statements_are_scoped_to_the_cities_involved(world):
    world.settle(0, 1, "400.00")
    world.settle(1, 0, "100.00")
    run, _ = clearing_run_open(period=this_month(), today=next_month(this_month()))
    clearing_run_execute(run_id=run.pk)

    url = "/api/v1/clearing-statements"
    rows = client_for(OperatorFactory(cities=[world.cities[0]])).get(url).json()["results"]
    assert len(rows) == 1
    row = rows[0]
    assert {row["city_a"], row["city_b"]} == {world.cities[0].code, world.cities[1].code}
    assert row["a_to_b_settled_count"] + row["b_to_a_settled_count"] == 2
    assert row["transfer_a"] and row["transfer_b"] and row["netted_at"]
    assert client_for(OperatorFactory(cities=[world.cities[1]])).get(url).json()["results"] == rows
    assert client_for(SuperuserFactory()).get(url).json()["results"] == rows
    outsider = client_for(OperatorFactory(cities=[world.cities[2]]))
    assert outsider.get(url).json()["results"] == []
    assert_problem(outsider.get(f"{url}/{row['id']}"), 404, "NOT_FOUND")
    assert client_for(world.terminals[0]).get(url).json()["results"] == []


def test_only_a_superuser_starts_a_clearing_run(world):
    url = "/api/v1/clearing-runs"
    operator = client_for(OperatorFactory(cities=[world.cities[0]]))
    assert_problem(
        operator.post(url, {"period": "2020-01-01"}, HTTP_IDEMPOTENCY_KEY="op"),
        403,
        "ROLE_NOT_ALLOWED",
    )
    superuser = client_for(SuperuserFactory())
    assert_problem(
        superuser.post(url, {"period": str(this_month())}, HTTP_IDEMPOTENCY_KEY="early"),
        422,
        "CLEARING_PERIOD_NOT_ENDED",
    )
    assert not ClearingRun.objects.exists()


def test_a_citys_fund_shows_its_pools_clearing_positions_and_deficits(world, client):
    insured_city, care_city, _ = world.cities
    # The test cities' pools start empty, so the settlement overdraws the insured city's pool.
    settlement = world.settle(0, 1, "1500.00")
    operator = OperatorFactory(cities=[insured_city])
    response = client_for(operator).get(f"/api/v1/cities/{insured_city.code}/fund")
    assert response.status_code == 200, response.content
    fund = response.json()
    assert fund["city"] == insured_city.code
    assert fund["in_deficit"] is True
    assert fund["deficits"] == {"EMPLOYEE_POOL": f"{-settlement.pool_amount:.2f}"}
    assert fund["pools"]["EMPLOYEE_POOL"] == f"{-settlement.pool_amount:.2f}"
    paid = settlement.pool_amount + settlement.personal_account_amount
    assert fund["clearing_payable"] == f"{paid:.2f}"
    assert fund["clearing_receivable"] == "0.00"
    personal = Account.objects.get(person=world.persons[0])
    assert fund["personal_accounts_total"] == f"{personal.balance:.2f}"

    care = client_for(OperatorFactory(cities=[care_city])).get(
        f"/api/v1/cities/{care_city.code}/fund"
    )
    assert care.json()["clearing_receivable"] == f"{paid:.2f}"
    assert care.json()["in_deficit"] is False
    assert_problem(
        client_for(operator).get(f"/api/v1/cities/{care_city.code}/fund"),
        404,
        "NOT_FOUND",
    )
    assert_problem(client_for(operator).get("/api/v1/cities/999999/fund"), 404, "NOT_FOUND")

    # The console flags it too, in the list and on the city's page.
    client.force_login(SuperuserFactory())
    listing = client.get("/admin/cities/city/").content.decode()
    assert "Deficit" in listing
    page = client.get(f"/admin/cities/city/{insured_city.pk}/change/").content.decode()
    assert "deficit" in page and f"{-settlement.pool_amount:.2f}" in page


def test_the_console_lists_clearing_runs_and_statements(world, client):
    world.settle(0, 1, "400.00")
    run, _ = clearing_run_open(period=this_month(), today=next_month(this_month()))
    clearing_run_execute(run_id=run.pk)
    client.force_login(SuperuserFactory())
    assert client.get("/admin/settlement/clearingrun/").status_code == 200
    statements = client.get("/admin/settlement/clearingstatement/")
    assert statements.status_code == 200
    assert world.cities[0].name in statements.content.decode()
