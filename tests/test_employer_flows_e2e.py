"""An employer that stops paying, then pays its arrears, through the real flows over the API on
PostgreSQL: the months show unpaid, the balance stays visible and says why it is not growing,
and once the arrears are paid the missing creditings follow exactly once."""

import pytest

from accounts.models import Crediting
from accounts.tests.support import (
    balances_disagreeing_with_entries,
    total_of_all_balances,
    unbalanced_transfers,
)
from employers.credit_code import make_credit_code
from tests.test_flows_e2e import World, my_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agreement):
    return World()


def months(world, person) -> list[tuple[str, str, bool]]:
    response = world.op.get(f"/api/v1/persons/{person['id']}/payment-months")
    assert response.status_code == 200, response.json()
    return [(m["period"], m["status"], m["paid_late"]) for m in response.json()["results"]]


def counter_amount(world, person) -> str:
    return world.op.get(f"/api/v1/persons/{person['id']}/balance").json()["balance"]["amount"]


def test_an_employer_stops_paying_then_pays_its_arrears_and_the_credits_follow_once(world):
    code = make_credit_code("330100", "MA2H0001X")
    employer = world.op.post(
        "/api/v1/employers",
        {"name": "Westlake Trading Co., Ltd.", "credit_code": code, "city": "330100"},
        format="json",
    )
    assert employer.status_code == 201, employer.json()
    employer_url = f"/api/v1/employers/{employer.json()['id']}"
    person = world.enrol("standard")
    taken_on = world.op.post(
        f"{employer_url}/employees",
        {"person": person["id"], "started_on": "2026-11-01"},
        format="json",
    )
    assert taken_on.status_code == 200 and taken_on.json()["employees_count"] == 1

    # November is paid and credited (collection on the 10th, crediting on the 25th): 6 Dec.
    world.onboard(person)
    assert counter_amount(world, person) == "200.00"
    assert months(world, person) == [("2026-11-01", "PAID", False)]

    # The employer stops paying: December and January are collected unpaid. 6 Feb.
    stopped = world.op.post(
        f"{employer_url}/payment-mode", {"payment_mode": "NOT_PAYING"}, format="json"
    )
    assert stopped.status_code == 200 and stopped.json()["state"] == "PAYING"
    world.advance(31)
    world.advance(31)
    assert months(world, person) == [
        ("2027-01-01", "UNPAID", False),
        ("2026-12-01", "UNPAID", False),
        ("2026-11-01", "PAID", False),
    ]
    state = world.op.get(employer_url).json()
    assert (state["state"], state["arrears_since"], state["arrears_months"]) == (
        "IN_ARREARS",
        "2026-12-01",
        2,
    )
    assert state["arrears_amount"] == "1900.00"  # (7.5 % + 2 %) of 10,000, two months
    assert counter_amount(world, person) == "200.00"  # nothing received, nothing credited
    balance = my_balance(person).json()
    assert (balance["visible"], balance["reasons"]) == (True, [])
    (notice,) = balance["notices"]
    assert notice["code"] == "EMPLOYER_ARREARS"
    assert notice["months"] == ["2026-12-01", "2027-01-01"]
    assert notice["account_share_missing"] == "400.00"

    # The employer pays its arrears; a retry with the same key replays, one without is refused.
    paid = world.op.post(f"{employer_url}/arrears-payment", HTTP_IDEMPOTENCY_KEY="arrears-1")
    assert paid.status_code == 201, paid.json()
    assert (paid.json()["months"], paid.json()["amount"]) == (2, "1900.00")
    assert paid.json()["employer"]["state"] == "PAYING"
    replay = world.op.post(f"{employer_url}/arrears-payment", HTTP_IDEMPOTENCY_KEY="arrears-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    again = world.op.post(f"{employer_url}/arrears-payment")
    assert again.status_code == 409 and again.json()["code"] == "NO_ARREARS"
    assert months(world, person) == [
        ("2027-01-01", "PAID", True),
        ("2026-12-01", "PAID", True),
        ("2026-11-01", "PAID", False),
    ]
    assert my_balance(person).json()["notices"] == []

    # February's crediting (the 25th) credits February and the two months missed, once; running
    # it again through the API and the next months' runs credit nothing twice.
    world.advance(20)
    assert counter_amount(world, person) == "800.00"
    rerun = world.op.post(
        "/api/v1/crediting-runs", {"city": "330100", "period": "2027-02-01"}, format="json"
    )
    assert rerun.status_code == 202
    world.advance(31)
    assert counter_amount(world, person) == "1000.00"  # and March's own month, nothing more
    credited = sorted(
        Crediting.objects.filter(account__person_id=person["id"]).values_list("period", flat=True)
    )
    assert [f"{period:%Y-%m}" for period in credited] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
        "2027-03",
    ]
    assert unbalanced_transfers() == []
    assert balances_disagreeing_with_entries() == []
    assert total_of_all_balances() == 0


def test_an_employer_paying_on_a_lower_base_shows_underpaid_months(world):
    employer = world.op.post(
        "/api/v1/employers",
        {
            "name": "Qiantang Logistics Co., Ltd.",
            "credit_code": make_credit_code("330100", "MA2H0002X"),
            "city": "330100",
        },
        format="json",
    ).json()
    person = world.enrol("standard", wage="20000.00")
    world.op.post(
        f"/api/v1/employers/{employer['id']}/employees",
        {"person": person["id"], "started_on": "2026-11-01"},
        format="json",
    )
    mode = world.op.post(
        f"/api/v1/employers/{employer['id']}/payment-mode",
        {"payment_mode": "UNDERPAYING", "paid_base_ratio": "0.50"},
        format="json",
    )
    assert mode.status_code == 200 and mode.json()["state"] == "UNDERPAYING"
    world.onboard(person)
    (month,) = world.op.get(f"/api/v1/persons/{person['id']}/payment-months").json()["results"]
    assert (month["status"], month["base_used"], month["base_due"]) == (
        "UNDERPAID",
        "10000.00",
        "20000.00",
    )
    assert counter_amount(world, person) == "200.00"  # 2 % of the base used, not of 20,000
    (notice,) = my_balance(person).json()["notices"]
    assert (notice["code"], notice["account_share_missing"]) == ("EMPLOYER_UNDERPAID", "200.00")
    contributions = world.op.get(f"/api/v1/persons/{person['id']}/contributions").json()
    assert contributions["results"][0]["base_due"] == "20000.00"
